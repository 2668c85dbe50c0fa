"""The gate hook of the team loop: a reviewer sees each message before it is published.

By default there is no reviewer and every message is published as it is. A reviewer (a human at
the terminal or on the web page) approves it, publishes an edited version instead, or rejects it
with feedback, which goes back to the role that wrote it as a message addressed to it alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from agentco.core.message import Message
from agentco.errors import RunFailed
from agentco.events import NOTE, REVIEW_ANSWERED, REVIEW_WAITING, EventBus

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
    async def review(self, message: Message) -> Verdict:
        """The verdict on ``message``; raises ``ReviewAborted`` when the reviewer stops the run."""
        ...


class ReviewAborted(RunFailed):
    """The reviewer stopped the run at a gate (it can be resumed, and the gate asks again)."""


class Gate:
    """The review gate of a run: it asks ``answerer`` about the messages of the stages under review
    (``stages`` maps a message's ``cause_by`` to the stage's name, e.g. ``WritePRD`` to ``prd``)
    and lets every other message through.

    Durable: each answer is an event on the run's stream (``review.answered``), and a resumed run is
    given the answers recorded before (``recorded``), which it serves in order without asking, so a
    run killed while it waited asks the same question again and no earlier one. Feedback is bounded:
    past ``max_revisions`` for a stage, the document is taken as it is, with a note.
    """

    def __init__(
        self,
        answerer: Reviewer,
        stages: dict[str, str],
        events: EventBus,
        recorded: Sequence[dict[str, Any]] = (),
        max_revisions: int = 2,
    ):
        self.answerer, self.stages, self.events = answerer, stages, events
        self.recorded = list(recorded)
        self.max_revisions = max_revisions
        self.asked = 0
        self.revisions: dict[str, int] = {}
        if self.recorded and hasattr(answerer, "resume_at"):
            answerer.resume_at(len(self.recorded))  # an answers file goes on from its next line

    async def review(self, message: Message) -> Verdict:
        stage = self.stages.get(message.cause_by)
        if stage is None:
            return Verdict.approve()
        number, self.asked = self.asked, self.asked + 1
        if number < len(self.recorded):
            verdict = self._from_record(self.recorded[number], message)
        else:
            self.events.emit(REVIEW_WAITING, stage=stage, gate=number + 1)
            verdict = await self.answerer.review(message)
            self.events.emit(REVIEW_ANSWERED, stage=stage, gate=number + 1, **_record(verdict))
        if verdict.decision == "reject":
            self.revisions[stage] = self.revisions.get(stage, 0) + 1
            if self.revisions[stage] > self.max_revisions:
                self.events.emit(NOTE, text=f"review of the {stage}: {self.max_revisions} revisions made; "
                                            "taken as it is", source=GATE)  # fmt: skip
                return Verdict.approve()
        return verdict

    @staticmethod
    def _from_record(record: dict[str, Any], message: Message) -> Verdict:
        if record["decision"] == "reject":
            return Verdict.reject(record["feedback"])
        if record["decision"] == "edit":
            payload = record.get("payload")
            if payload is not None and isinstance(message.payload, BaseModel):
                payload = type(message.payload).model_validate(payload)
            return Verdict.edit(message.with_content(record["content"], payload))
        return Verdict.approve()


def _record(verdict: Verdict) -> dict[str, Any]:
    if verdict.decision == "edit" and verdict.message is not None:
        payload = verdict.message.payload
        dumped = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else None
        return {"decision": "edit", "content": verdict.message.content, "payload": dumped}
    return {"decision": verdict.decision, "feedback": verdict.feedback}


def recorded_answers(events: list[Any]) -> list[dict[str, Any]]:
    """The gate answers among a run's stored events, in order."""
    return [e.data for e in events if e.kind == REVIEW_ANSWERED]


def document_text(message: Message) -> str:
    """What a reviewer edits: the document as its schema's JSON, or the message's text."""
    payload = message.payload
    return payload.model_dump_json(indent=2) + "\n" if isinstance(payload, BaseModel) else message.content


def edited_verdict(message: Message, text: str) -> Verdict:
    """The verdict for an edited document, validated as the model's answer was (same schema).
    Raises ``ValueError`` with the validation errors, one a line."""
    from pydantic import ValidationError

    payload = message.payload
    if not isinstance(payload, BaseModel):
        if not text.strip():
            raise ValueError("the document is empty")
        return Verdict.edit(message.with_content(text.strip(), None))
    try:
        edited = type(payload).model_validate_json(text)
    except ValidationError as exc:
        lines = [f"{'.'.join(str(p) for p in e['loc']) or 'document'}: {e['msg']}" for e in exc.errors()[:8]]
        raise ValueError("\n".join(lines)) from None
    return Verdict.edit(message.with_content(text, edited))
