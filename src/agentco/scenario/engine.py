"""The conversation loop: stage after stage, each speaker's turn a message, routes between stages.

A stage's speakers talk in turn (``round_robin``: each sees what the one before said) or at once
(``parallel``: each sees only what came before the round, so their answers are independent), for
``rounds`` rounds or until its ``until`` holds. Then its first route whose condition holds (and
whose stage may be entered again, ``max_visits``) names the next stage, or END; with no route, the
next stage in the file. Every answer is checked against the message limit before it is asked for.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentco.core.environment import Environment
from agentco.core.message import EVERYONE, Message
from agentco.core.team import gather_first_error
from agentco.events import NOTE, STAGE_FINISHED, STAGE_STARTED, EventBus
from agentco.llm.client import LLMClient
from agentco.scenario import turns
from agentco.scenario.human import HumanSeat, HumanTurn
from agentco.scenario.knowledge import Passage, Retriever, citations, retrieve
from agentco.scenario.schema import END, Condition, Scenario, StageSpec

EARLIER = "earlier"
"""The stage of the messages of an earlier conversation this one continues."""
MAJORITY = "majority"
"""Who an aggregate's message is from."""


class LimitReached(Exception):
    """The conversation used up its ``limits.messages``: it ends where it is."""


@dataclass
class Setup:
    """What a conversation is given besides its scenario."""

    inputs: dict[str, str]
    client_for: Callable[[str], LLMClient]
    """A role's model client (its alias or model resolved by the runtime)."""
    humans: frozenset[str] = frozenset()
    seat: HumanSeat | None = None
    retriever: Retriever | None = None
    sampling: turns.Sampling = field(default_factory=turns.Sampling)
    answered: dict[str, str] = field(default_factory=dict)
    """Human answers given before the run was resumed, by turn id."""
    earlier: list[Message] = field(default_factory=list)
    """The conversation this one continues (``--continue``)."""
    notes: list[str] = field(default_factory=list)
    """Said when the conversation starts (which model each role speaks with)."""


class Conversation:
    def __init__(self, scenario: Scenario, setup: Setup, events: EventBus):
        self.scenario, self.setup, self.events = scenario, setup, events
        self.env = Environment(events)
        self.env.history.extend(setup.earlier)
        self.visits: Counter[str] = Counter()
        self.shown: Counter[str] = Counter()  # how much of the history each human has been shown
        self.turns = 0
        self.notes: list[str] = []
        self.ended = "finished"

    async def run(self) -> None:
        stage: StageSpec | None = self.scenario.stages[0]
        for note in self.setup.notes:
            self.note(note)
        try:
            while stage is not None:
                self.visits[stage.name] += 1
                last = await self.run_stage(stage)
                stage = self.next_stage(stage, last)
        except LimitReached as exc:
            self.ended = "limit"
            self.note(str(exc))

    async def run_stage(self, stage: StageSpec) -> list[Message]:
        visit = self.visits[stage.name]
        self.events.emit(STAGE_STARTED, name=stage.name, visit=visit, role=", ".join(stage.speakers))
        last: list[Message] = []
        for round_no in range(1, stage.rounds + 1):
            say = self.speak_in_parallel if stage.mode == "parallel" else self.speak_in_turn
            last = await say(stage, round_no)
            if stage.aggregate is not None:
                last.append(self.publish(self.majority(stage, last, round_no)))
            if stage.until is not None and holds(stage.until, last):
                break
        self.events.emit(STAGE_FINISHED, name=stage.name, visit=visit, project="")
        return last

    async def speak_in_turn(self, stage: StageSpec, round_no: int) -> list[Message]:
        said = []
        for speaker in stage.speakers:
            said.append(self.publish(await self.turn(stage, speaker, round_no, self.env.history)))
        return said

    async def speak_in_parallel(self, stage: StageSpec, round_no: int) -> list[Message]:
        before = list(self.env.history)  # no speaker sees what another says in this round
        self.check_limit(len(stage.speakers))
        answers = await gather_first_error([self.turn(stage, s, round_no, before) for s in stage.speakers])
        return [self.publish(message) for message in answers]

    def next_stage(self, stage: StageSpec, last: list[Message]) -> StageSpec | None:
        for route in stage.routes:
            if route.when is not None and not holds(route.when, last):
                continue
            if route.to == END:
                return None
            target = self.scenario.stage(route.to)
            if self.visits[target.name] < target.max_visits:
                return target
            self.note(f"stage {target.name!r} was entered {target.max_visits} times (max_visits): not again")
        index = self.scenario.stages.index(stage) + 1
        following = self.scenario.stages[index] if index < len(self.scenario.stages) else None
        if following is not None and self.visits[following.name] >= following.max_visits:
            self.note(f"the next stage, {following.name!r}, was entered {following.max_visits} times: the end")
            return None
        return following

    # --- one turn ----------------------------------------------------------------------------
    async def turn(self, stage: StageSpec, speaker: str, round_no: int, history: list[Message]) -> Message:
        self.check_limit(1)
        self.turns += 1
        turn_id = f"{stage.name}.{self.visits[stage.name]}.{round_no}.{speaker}"
        role = self.scenario.roles[speaker]
        instruction = self.instruction(stage)
        visible = [m for m in history if sees(stage, speaker, m)]
        record: dict[str, Any] = {"stage": stage.name, "visit": self.visits[stage.name], "round": round_no,
                                  "private": stage.private, "human": speaker in self.setup.humans}  # fmt: skip
        if speaker in self.setup.humans:
            content = await self.human_turn(turn_id, stage, speaker, instruction, visible)
            record.update(model=None, fields=None, citations=[])
        else:
            llm = self.setup.client_for(speaker)
            passages = self.passages(role.knowledge, instruction, visible)
            messages = turns.prompt(self.scenario, speaker, stage.name, instruction, visible, self.setup.inputs,
                                    passages, (round_no, stage.rounds))  # fmt: skip
            content, fields = await turns.answer(llm, speaker, role, messages, self.setup.sampling)
            record.update(model=str(llm.ref), fields=fields, citations=citations(content, passages))
        to = frozenset(stage.speakers) if stage.private else EVERYONE
        return Message(content, sent_from=speaker, cause_by=stage.name, send_to=to, payload=record, id=turn_id)

    async def human_turn(self, turn_id: str, stage: StageSpec, speaker: str, instruction: str,
                         visible: list[Message]) -> str:  # fmt: skip
        if turn_id in self.setup.answered:
            return self.setup.answered[turn_id]
        if self.setup.seat is None:
            from agentco.errors import ConfigError

            raise ConfigError(
                f"role {speaker!r} is played by a person and nobody is here to answer (no terminal, no --answers): "
                f"continue with `agentco scenario resume {self.events.run_id}` in a terminal"
            )
        new = visible[self.shown[speaker] :] if self.shown[speaker] <= len(visible) else visible
        self.shown[speaker] = len(visible)
        # on the stream, so a page following the run knows whose turn it waits for
        self.events.emit(NOTE, text=f"waiting for {speaker}", source="human", role=speaker, turn=turn_id)
        return (await self.setup.seat.speak(HumanTurn(speaker, stage.name, instruction, visible, new))).strip()

    def passages(self, knowledge: list[str], instruction: str, visible: list[Message]) -> list[Passage]:
        if not knowledge or self.setup.retriever is None:
            return []
        asked = visible[-1].content if visible else " ".join(self.setup.inputs.values())
        query = f"{asked}\n{instruction}".strip() or self.scenario.description or self.scenario.name
        return retrieve(self.setup.retriever, knowledge, query[:2000])

    def instruction(self, stage: StageSpec) -> str:
        import jinja2

        template = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(stage.instruction)
        return template.render(**self.setup.inputs).strip()

    # --- aggregates, limits, notes -----------------------------------------------------------
    def majority(self, stage: StageSpec, said: list[Message], round_no: int) -> Message:
        assert stage.aggregate is not None
        name = stage.aggregate.majority
        votes = Counter(str((m.payload.get("fields") or {}).get(name)) for m in said if m.sent_from != MAJORITY)
        value, count = votes.most_common(1)[0]
        agreed = count * 2 > sum(votes.values())
        content = f"{name}: {value} ({count} of {sum(votes.values())})" if agreed else f"{name}: no majority"
        record = {"stage": stage.name, "visit": self.visits[stage.name], "round": round_no, "private": stage.private,
                  "human": False, "model": None, "citations": [],
                  "fields": {name: value if agreed else None}, "votes": dict(votes), "agreed": agreed}  # fmt: skip
        to = frozenset(stage.speakers) if stage.private else EVERYONE
        turn_id = f"{stage.name}.{self.visits[stage.name]}.{round_no}.{MAJORITY}"
        return Message(content, sent_from=MAJORITY, cause_by=stage.name, send_to=to, payload=record, id=turn_id)

    def check_limit(self, wanted: int) -> None:
        limit = self.scenario.limits.messages
        if self.turns + wanted > limit:
            raise LimitReached(f"the conversation reached its limit of {limit} messages (limits.messages)")

    def publish(self, message: Message) -> Message:
        self.env.publish(message)
        return message

    def note(self, text: str) -> None:
        self.notes.append(text)
        self.events.emit(NOTE, text=text, source="scenario")

    @property
    def said(self) -> list[Message]:
        """This conversation's messages (not the earlier one it continues)."""
        return [m for m in self.env.history if m.cause_by != EARLIER]


def sees(stage: StageSpec, speaker: str, message: Message) -> bool:
    """Whether ``speaker``, speaking in ``stage``, is shown ``message``."""
    if not message.broadcast and speaker not in message.send_to:
        return False  # a private stage's message, and this speaker was not in it
    if stage.sees == "all":
        return True
    if stage.sees == "none":
        return False
    own = message.cause_by == stage.name
    return own if stage.sees == "own" else own or message.cause_by in stage.sees


def holds(condition: Condition, said: list[Message]) -> bool:
    """Whether a stage's last round meets ``condition`` (see ``schema.Condition``)."""
    if not said:
        return False
    if condition.contains is not None:
        return any(condition.contains.lower() in m.content.lower() for m in said)
    name = condition.field
    if condition.agree:
        values = [m.payload["fields"].get(name) for m in said if m.sent_from != MAJORITY and m.payload["fields"]]
        return len(values) > 0 and len({str(v) for v in values}) == 1
    aggregate = next((m for m in reversed(said) if m.sent_from == MAJORITY), None)
    value = ((aggregate or said[-1]).payload.get("fields") or {}).get(name)
    return value is not None and str(value).lower() == str(condition.equals).lower()
