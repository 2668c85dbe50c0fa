"""Deterministic models for tests and examples: no network, no weights."""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentco.llm.base import ChatRequest, Completion, ModelRef, TokenSink, Usage, import_object

if TYPE_CHECKING:
    from pathlib import Path

    from agentco.config import LLMSettings

Reply = str | Completion | Exception
"""A text (finished normally), a whole ``Completion`` (a reply cut off at the limit, say), or an error to raise."""

# ``fake:NAME`` (``fake:roman``, ``fake:roman?delay=0.05``) plays a scripted software company. The
# scripts are test fixtures, so they are named by "module:factory" and imported only when asked for;
# the factory is given NAME and knows which names it plays.
SCRIPTED_COMPANIES = "agentco.testing.company:fake_provider"


def _usage(request: ChatRequest, text: str) -> Usage:
    return Usage(prompt_tokens=max(1, request.prompt_chars() // 4), completion_tokens=max(1, len(text) // 4))


async def _answer(request: ChatRequest, reply: str | Completion, model: str, on_token: TokenSink | None) -> Completion:
    completion = reply if isinstance(reply, Completion) else Completion(reply, _usage(request, reply), model, "stop")
    if on_token is not None:
        for i in range(0, len(completion.text), 16):
            on_token(completion.text[i : i + 16])
    return completion


@dataclass
class ScriptedModel:
    """Replays queued replies in order; an ``Exception`` in the queue is raised instead."""

    replies: deque[Reply]
    model: str = "scripted"
    provider: str = "fake"
    delay: float = 0.0

    def __init__(self, replies: Iterable[Reply], *, model: str = "scripted", delay: float = 0.0):
        self.replies, self.model, self.provider, self.delay = deque(replies), model, "fake", delay
        self.requests: list[ChatRequest] = []

    async def complete(self, request: ChatRequest, on_token: TokenSink | None = None) -> Completion:
        self.requests.append(request)
        if not self.replies:
            raise AssertionError(f"ScriptedModel ran out of replies after {len(self.requests) - 1} calls")
        reply = self.replies.popleft()
        if self.delay:
            await asyncio.sleep(self.delay)
        if isinstance(reply, Exception):
            raise reply
        return await _answer(request, reply, self.model, on_token)


FunctionReply = Callable[[ChatRequest], str | Completion | Awaitable[str | Completion]]


class FunctionModel:
    """Answers each request by calling a function of the request (sync or async)."""

    provider = "fake"

    def __init__(self, fn: FunctionReply, *, model: str = "function", delay: float = 0.0):
        self.fn, self.model, self.delay = fn, model, delay
        self.requests: list[ChatRequest] = []

    @classmethod
    def from_settings(cls, ref: ModelRef, settings: LLMSettings, *, models_dir: Path | None = None) -> FunctionModel:
        """The model ``fake:NAME`` names: a scripted company (the only function models with a name)."""
        return import_object(SCRIPTED_COMPANIES)(ref.model)

    async def complete(self, request: ChatRequest, on_token: TokenSink | None = None) -> Completion:
        self.requests.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        result = self.fn(request)
        reply = await result if inspect.isawaitable(result) else result
        return await _answer(request, reply, self.model, on_token)
