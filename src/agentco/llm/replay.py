"""A provider that has no model at all: a replayed run must find every answer in the run store."""

from __future__ import annotations

from agentco.errors import RunFailed
from agentco.llm.base import ChatRequest, Completion, ModelRef, TokenSink


class ReplayProvider:
    def __init__(self, ref: ModelRef, source_run: str):
        self.provider, self.model, self.source_run = ref.provider, ref.model, source_run

    async def complete(self, request: ChatRequest, on_token: TokenSink | None = None) -> Completion:
        raise RunFailed(
            f"replay of run {self.source_run} diverged: this call has no stored response "
            "(the prompts or the code changed since the run was recorded)"
        )
