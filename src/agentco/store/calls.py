"""The model-call cache of one run, as ``LLMClient`` wants it: what resume and replay are made of."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentco.llm.base import ChatRequest, Completion, ModelRef

if TYPE_CHECKING:
    from agentco.store.sqlite import RunStore


@dataclass(frozen=True)
class RunCallCache:
    """The ``CallCache`` of one run, for ``LLMClient(cache=...)``."""

    store: RunStore
    run_id: str

    def lookup(self, key: str) -> Completion | None:
        return self.store.lookup_call(self.run_id, key)

    def save(self, key: str, ref: ModelRef, request: ChatRequest, completion: Completion, cost: float) -> None:
        self.store.save_call(self.run_id, key, ref, request, completion, cost)
