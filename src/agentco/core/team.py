"""A team: hires roles, holds the budget, runs rounds until everyone is idle."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from agentco.core.environment import Environment
from agentco.core.message import Message
from agentco.core.role import Role
from agentco.cost import Meter
from agentco.llm.client import LLMClient

T = TypeVar("T")


class Team:
    def __init__(
        self,
        llm: LLMClient | None = None,
        *,
        env: Environment | None = None,
        llm_for: Callable[[Role], LLMClient | None] | None = None,
    ):
        self.env = env or Environment()
        self.llm = llm
        self.llm_for = llm_for
        self.rounds_run = 0

    @property
    def meter(self) -> Meter | None:
        return self.llm.meter if self.llm else None

    def hire(self, *roles: Role) -> Team:
        for role in roles:
            if role.llm is None:
                role.llm = (self.llm_for(role) if self.llm_for else None) or self.llm
        self.env.add_roles(*roles)
        return self

    def invest(self, dollars: float) -> None:
        if self.meter is None:
            raise RuntimeError("give the team a model before setting a budget")
        self.meter.max_budget = dollars

    async def run(self, idea: str | Message | None = None, *, n_round: int = 10) -> list[Message]:
        """Publish the idea, then run rounds; roles with news in a round act concurrently."""
        if idea is not None:
            self.env.publish(idea if isinstance(idea, Message) else Message(idea))
        for _ in range(n_round):
            active = [role for role in self.env.roles.values() if role.inbox]
            if not active:
                break
            results = await gather_first_error(role.step() for role in active)
            for messages in results:
                for message in messages:
                    self.env.publish(message)
            self.rounds_run += 1
        return self.env.history


async def gather_first_error(coros: Iterable[Awaitable[T]]) -> list[T]:
    """Run concurrently; on a failure cancel the rest and raise that failure itself (not a group)."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(coro) for coro in coros]
    except BaseExceptionGroup as failures:
        raise failures.exceptions[0] from None
    return [task.result() for task in tasks]
