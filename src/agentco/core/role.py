"""A role: observe -> think -> act, in one of three react modes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from agentco.core.action import Action
from agentco.core.message import Message
from agentco.llm.client import LLMClient
from agentco.llm.structured import JsonOutput, OutputSpec, TextOutput, generate
from agentco.templates import render

ReactMode = Literal["by_order", "react", "plan_and_act"]


class Role:
    def __init__(
        self,
        name: str,
        profile: str,
        goal: str = "",
        *,
        actions: Iterable[Action] = (),
        watch: Iterable[str] = (),
        react_mode: ReactMode = "by_order",
        max_react_loop: int = 5,
        llm: LLMClient | None = None,
        constraints: str = "",
        output_attempts: int = 3,
        repair_output: bool = True,
        temperature: float = 0.2,
        max_tokens: int = 2048,
    ):
        self.name, self.profile, self.goal, self.constraints = name, profile, goal, constraints
        self.actions = list(actions)
        self.watch = set(watch)
        self.react_mode, self.max_react_loop = react_mode, max_react_loop
        self.llm = llm
        self.output_attempts, self.repair_output = output_attempts, repair_output
        self.temperature, self.max_tokens = temperature, max_tokens
        self.inbox: list[Message] = []
        self.memory: list[Message] = []

    def wants(self, message: Message) -> bool:
        if message.sent_from == self.name:
            return False
        if not message.broadcast:
            return self.name in message.send_to
        return message.cause_by in self.watch or message.sent_from in self.watch

    # --- the loop -------------------------------------------------------------------------
    async def step(self) -> list[Message]:
        """One round: observe what arrived, then react to it. Returns the messages to publish."""
        news = self.observe()
        if not news:
            return []
        return await self.react(news)

    def observe(self) -> list[Message]:
        news, self.inbox = self.inbox, []
        self.memory.extend(news)
        return news

    async def react(self, news: list[Message]) -> list[Message]:
        if self.react_mode == "by_order":
            return await self._act_in_order(news)
        if self.react_mode == "react":
            return await self._act_by_choice(news)
        return await self._plan_and_act(news)

    async def _act_in_order(self, news: list[Message]) -> list[Message]:
        produced: list[Message] = []
        for action in self.actions:
            produced.append(await self.act(action, [*news, *produced]))
        return produced

    async def _act_by_choice(self, news: list[Message]) -> list[Message]:
        produced: list[Message] = []
        for _ in range(self.max_react_loop):
            action = await self.think([*news, *produced])
            if action is None:
                break
            produced.append(await self.act(action, [*news, *produced]))
        return produced

    async def _plan_and_act(self, news: list[Message]) -> list[Message]:
        plan = await self.ask(self._messages("core/plan.j2", news=news), self._plan_model(), what="plan")
        produced: list[Message] = []
        for step in plan.steps[: self.max_react_loop]:
            action = self._action(step.action)
            produced.append(await self.act(action, [*news, *produced], instruction=step.instruction))
        return produced

    async def think(self, context: list[Message]) -> Action | None:
        """Let the model pick the next action, or ``done``."""
        if len(self.actions) == 1 and not any(m.sent_from == self.name for m in context):
            return self.actions[0]
        names = [a.name for a in self.actions]
        choice_model = create_model(
            "NextAction",
            reason=(str, Field(description="one sentence")),
            action=(Literal[(*names, "done")], ...),
        )
        choice = await self.ask(self._messages("core/think.j2", news=context), choice_model, what="think")
        return None if choice.action == "done" else self._action(choice.action)

    async def act(self, action: Action, context: list[Message], **variables: Any) -> Message:
        return await action.run(self, context, **variables)

    # --- talking to the model -------------------------------------------------------------
    async def ask(
        self,
        messages: list[dict[str, str]],
        output: type[BaseModel] | OutputSpec[Any] | None = None,
        *,
        max_tokens: int | None = None,
        what: str = "",
        attempts: int | None = None,
        normalise: Callable[[Any], Any] | None = None,
        reask_repeats: bool = True,
    ) -> Any:
        """Ask the model for a validated result: a pydantic model (its parsed data first mended by
        ``normalise``, if given), or what an output spec parses (text passing a TextOutput's check,
        several files). ``reask_repeats``: see ``generate``."""
        if self.llm is None:
            raise RuntimeError(f"role {self.name!r} has no model; hire it into a Team or give it llm=")
        if output is None:
            spec: Any = TextOutput(name=what or "text")
        elif isinstance(output, type):
            spec = JsonOutput(output, repair=self.repair_output, normalise=normalise)
        else:  # a ready output spec: a TextOutput, several files (FilesOutput)
            spec = output
        result = await generate(
            self.llm,
            messages,
            spec,
            attempts=attempts or self.output_attempts,
            temperature=self.temperature,
            max_tokens=max_tokens or self.max_tokens,
            who=self.name,
            reask_repeats=reask_repeats,
        )
        return result.value

    def _messages(self, template: str, **variables: Any) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": render("core/system.j2", role=self)},
            {"role": "user", "content": render(template, role=self, **variables)},
        ]

    def _action(self, name: str) -> Action:
        return next(a for a in self.actions if a.name == name)

    def _plan_model(self) -> type[BaseModel]:
        names = tuple(a.name for a in self.actions)
        step = create_model("PlanStep", action=(Literal[names], ...), instruction=(str, ...))
        return create_model("Plan", steps=(list[step], Field(min_length=1)))

    def __repr__(self) -> str:
        return f"Role({self.name!r}, actions={[a.name for a in self.actions]}, watch={sorted(self.watch)})"
