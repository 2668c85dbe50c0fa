"""The company's side of the review gate: a document a reviewer edited becomes the run's own.

The gate (``core.review.Gate``) decides; this makes an ``edit`` real: the edited PRD, design or
task list is written, rendered and committed by its stage, as the reviewer's commit, before the
team publishes it, so every later role works from the reviewer's version."""

from __future__ import annotations

from collections.abc import Iterable

from agentco.company.roles.base import CompanyRole, DocumentStage
from agentco.company.stages import REVIEWABLE
from agentco.core.message import Message
from agentco.core.review import Reviewer, Verdict

REVIEWER = "reviewer"


class DocumentReview:
    def __init__(self, gate: Reviewer, roles: Iterable[CompanyRole]):
        self.gate = gate
        self.keepers = {
            stage.stage: (role, stage) for role in roles for stage in role.actions if isinstance(stage, DocumentStage)
        }

    async def review(self, message: Message) -> Verdict:
        verdict = await self.gate.review(message)
        if verdict.decision != "edit" or verdict.message is None or message.cause_by not in self.keepers:
            return verdict
        role, stage = self.keepers[message.cause_by]
        name = REVIEWABLE.get(message.cause_by, "document")
        kept = stage.keep(role, verdict.message.payload, f"Edit the {name} (reviewer)", REVIEWER)
        return Verdict.edit(kept)
