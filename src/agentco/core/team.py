"""A team: hires roles and runs rounds until everyone is idle."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from agentco.core.environment import Environment
from agentco.core.message import Message
from agentco.core.review import FEEDBACK, GATE, Reviewer
from agentco.core.role import Role
from agentco.events import STAGE_STARTED
from agentco.llm.client import LLMClient

if TYPE_CHECKING:
    from agentco.events import EventBus

T = TypeVar("T")


class Team:
    def __init__(
        self,
        llm: LLMClient | None = None,
        *,
        env: Environment | None = None,
        llm_for: Callable[[Role], LLMClient | None] | None = None,
        reviewer: Reviewer | None = None,
    ):
        self.env = env or Environment()
        self.llm = llm
        self.llm_for = llm_for
        self.reviewer = reviewer
        self.rounds_run = 0

    @property
    def events(self) -> EventBus | None:
        return self.env.events

    def hire(self, *roles: Role) -> Team:
        for role in roles:
            if role.llm is None:
                role.llm = (self.llm_for(role) if self.llm_for else None) or self.llm
        self.env.add_roles(*roles)
        return self

    async def run(self, idea: str | Message | None = None, *, n_round: int = 10) -> list[Message]:
        """Publish the idea, then run rounds; roles with news in a round act concurrently."""
        if idea is not None:
            self.env.publish(idea if isinstance(idea, Message) else Message(idea))
        for _ in range(n_round):
            active = [role for role in self.env.roles.values() if role.inbox]
            if not active:
                break
            results = await gather_first_error(self._step(role) for role in active)
            for role, messages in zip(active, results, strict=True):
                for message in messages:
                    await self._publish(role, message)
            self.rounds_run += 1
        return self.env.history

    async def _step(self, role: Role) -> list[Message]:
        if self.events is not None:
            self.events.emit(STAGE_STARTED, role=role.name, actions=[a.name for a in role.actions])
        return await role.step()

    async def _publish(self, role: Role, message: Message) -> None:
        """Publish ``message`` as the reviewer decides: as it is, edited, or not (feedback to its author)."""
        if self.reviewer is None:
            self.env.publish(message)
            return
        verdict = await self.reviewer.review(message)
        if verdict.decision == "approve":
            self.env.publish(message)
        elif verdict.decision == "edit" and verdict.message is not None:
            self.env.publish(verdict.message)
        else:
            to = frozenset({role.name})
            # what was rejected goes with the feedback: the role revises its own document
            self.env.publish(
                Message(verdict.feedback, sent_from=GATE, cause_by=FEEDBACK, send_to=to, payload=message.payload)
            )


async def gather_first_error(coros: Iterable[Awaitable[T]]) -> list[T]:
    """Run concurrently; on a failure cancel the rest and raise that failure itself (not a group)."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(coro) for coro in coros]
    except BaseExceptionGroup as failures:
        raise failures.exceptions[0] from None
    return [task.result() for task in tasks]
