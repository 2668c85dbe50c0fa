"""The gate hook of the team loop: a reviewer sees each message before it is published.

By default there is no reviewer and every message is published as it is. A reviewer (a human at
the terminal or on the web page) approves it, publishes an edited version instead, or rejects it
with feedback, which goes back to the role that wrote it as a message addressed to it alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from agentco.core.message import Message

GATE = "review_gate"
"""Who a rejection comes from."""
FEEDBACK = "ReviewFeedback"
"""What a rejection is caused by, as the producing role sees it in its news."""


@dataclass(frozen=True)
class Verdict:
    decision: Literal["approve", "edit", "reject"]
    message: Message | None = None
    """With ``edit``: the message to publish instead."""
    feedback: str = ""
    """With ``reject``: what the role must change."""

    @classmethod
    def approve(cls) -> Verdict:
        return cls("approve")

    @classmethod
    def edit(cls, message: Message) -> Verdict:
        return cls("edit", message=message)

    @classmethod
    def reject(cls, feedback: str) -> Verdict:
        if not feedback.strip():
            raise ValueError("a rejection needs feedback saying what to change")
        return cls("reject", feedback=feedback)


class Reviewer(Protocol):
    async def review(self, message: Message) -> Verdict: ...
