"""The seat a person takes in a conversation: a role whose answers are typed, not generated.

The engine asks a ``HumanSeat`` for a human role's turn, as the team loop asks a ``Reviewer`` at a
gate; the terminal (``agentco chat``), an answers file or a web page can each take the seat. Every
answer is a message of the run, so a resumed run serves the answers given before without asking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from agentco.core.message import Message
from agentco.errors import RunPaused


@dataclass(frozen=True)
class HumanTurn:
    role: str
    stage: str
    instruction: str
    visible: list[Message] = field(default_factory=list)
    """Everything this role may see now, oldest first."""
    new: list[Message] = field(default_factory=list)
    """What it has not been shown yet (since its last turn)."""


class HumanSeat(Protocol):
    async def speak(self, turn: HumanTurn) -> str:
        """The person's answer; raises ``HumanLeft`` when they end the conversation."""
        ...


class HumanLeft(RunPaused):
    """The person left the conversation; the run is saved and resumes at the same turn."""
