"""The one door every model call goes through: budget, replay cache, retries, timeout, streaming."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from agentco.errors import TransientProviderError
from agentco.llm.base import ChatRequest, Completion, ModelRef, Provider
from agentco.llm.meter import Meter
from agentco.llm.retry import RetryPolicy, with_retries


class CallCache(Protocol):
    """Stores completed calls so a resumed or replayed run does not pay for them again."""

    def lookup(self, key: str) -> Completion | None: ...

    def save(self, key: str, ref: ModelRef, request: ChatRequest, completion: Completion, cost: float) -> None: ...


class CallObserver(Protocol):
    """Sees calls as they happen (the CLI's live view)."""

    def call_started(self, who: str, what: str, model: str = "") -> None: ...

    def token(self, who: str, text: str) -> None: ...

    def call_finished(self, who: str, completion: Completion, cost: float) -> None: ...


def request_digest(ref: ModelRef, request: ChatRequest) -> str:
    material = json.dumps({"model": str(ref), "request": request.key_material()}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()


def call_key(digest: str, occurrence: int) -> str:
    """The n-th identical request of a run gets its own key (a retry at the same prompt is a new call)."""
    return hashlib.sha256(f"{digest}:{occurrence}".encode()).hexdigest()


@dataclass
class LLMClient:
    provider: Provider
    meter: Meter
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = 120.0
    cache: CallCache | None = None
    observer: CallObserver | None = None
    _seen: Counter[str] = field(default_factory=Counter, repr=False)
    earlier: tuple[ModelRef, ...] = ()
    """Models that made this run's earlier calls (a run resumed with another model): a request
    they already answered is served from the cache, not asked again."""

    @property
    def ref(self) -> ModelRef:
        return ModelRef(self.provider.provider, self.provider.model)

    def with_provider(self, provider: Provider) -> LLMClient:
        """A client for another model that shares this run's meter, cache and observer."""
        return LLMClient(
            provider, self.meter, self.retry, self.timeout, self.cache, self.observer, self._seen, self.earlier
        )

    async def complete(self, request: ChatRequest, *, who: str = "", what: str = "") -> Completion:
        ref = self.ref
        digest = request_digest(ref, request)
        occurrence = self._seen[digest]
        self._seen[digest] += 1
        key = call_key(digest, occurrence)
        keys = [key]
        for earlier in self.earlier:  # counted per model, as the calls were when they were made
            old = request_digest(earlier, request)
            keys.append(call_key(old, self._seen[old]))
            self._seen[old] += 1
        hits = (hit for k in keys if self.cache is not None and (hit := self.cache.lookup(k)) is not None)
        if (hit := next(hits, None)) is not None:
            hit.replayed = True
            self.meter.record(ref, hit.usage, replayed=True)
            return hit
        reservation = self.meter.reserve(ref, request.prompt_chars(), request.max_tokens)
        try:
            completion = await with_retries(lambda: self._attempt(request, who, what), self.retry, f"{ref} call")
        finally:
            self.meter.release(reservation)
        cost = self.meter.record(ref, completion.usage)
        if self.cache is not None:
            self.cache.save(key, ref, request, completion, cost)
        return completion

    async def _attempt(self, request: ChatRequest, who: str, what: str) -> Completion:
        obs = self.observer
        if obs is not None:
            obs.call_started(who, what, str(self.ref))
        on_token = (lambda text: obs.token(who, text)) if obs is not None else None
        try:
            completion = await asyncio.wait_for(self.provider.complete(request, on_token), self.timeout)
        except TimeoutError:
            raise TransientProviderError(f"no complete answer within {self.timeout:.0f}s") from None
        if obs is not None:
            obs.call_finished(who, completion, self.meter.price(self.ref, completion.usage))
        return completion
