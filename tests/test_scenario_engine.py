"""The conversation loop on scripted models, keyed by the role that asks (the request's schema name):
stage modes, rounds, until, routes, max_visits, what each speaker sees, private stages, majority
votes, limits, human turns and knowledge passages with their citations."""

import json
import textwrap
from collections import defaultdict

import pytest

from agentco.errors import BudgetExceeded
from agentco.events import NOTE, EventBus
from agentco.llm.client import LLMClient
from agentco.llm.fake import FunctionModel
from agentco.llm.meter import Meter
from agentco.scenario.engine import EARLIER, Conversation, Setup
from agentco.scenario.human import HumanLeft
from agentco.scenario.knowledge import Passage
from agentco.scenario.loading import parse_scenario
from agentco.scenario.run import run_scenario


class Cast:
    """Answers by role: ``replies[role]`` is a list of answers in order (a dict is sent as JSON);
    a role with no list left says ``ROLE#N``. Keeps every request each role was sent."""

    def __init__(self, **replies):
        self.replies = {role: list(answers) for role, answers in replies.items()}
        self.seen = defaultdict(list)

    def __call__(self, request):
        role = request.schema_name
        self.seen[role].append("\n".join(m["content"] for m in request.messages))
        queue = self.replies.get(role)
        if queue:
            answer = queue.pop(0)
            return json.dumps(answer) if isinstance(answer, dict) else answer
        return f"{role}#{len(self.seen[role])}"

    def prompt(self, role, n=1):
        return self.seen[role][n - 1]


def scenario(text):
    return parse_scenario(textwrap.dedent(text), "test.yaml")


async def converse(text, cast, **setup):
    llm = LLMClient(FunctionModel(cast), Meter())
    conversation = Conversation(
        scenario(text), Setup(inputs=setup.pop("inputs", {}), client_for=lambda role: llm, **setup), EventBus()
    )
    await conversation.run()
    return conversation


def said(conversation):
    return [(m.cause_by, m.sent_from) for m in conversation.said]


ROLES = """
roles:
  a: {persona: You are A.}
  b: {persona: You are B.}
  c: {persona: You are C.}
"""


async def test_round_robin_speakers_take_turns_for_the_rounds_and_each_sees_the_one_before():
    cast = Cast()
    talk = await converse(ROLES + "stages:\n  - {name: talk, speakers: [a, b], rounds: 2}\n", cast)
    assert said(talk) == [("talk", "a"), ("talk", "b"), ("talk", "a"), ("talk", "b")]
    assert "a#1" in cast.prompt("b", 1) and "b#1" in cast.prompt("a", 2) and talk.ended == "finished"


async def test_parallel_speakers_see_only_what_came_before_the_round():
    cast = Cast()
    text = (
        ROLES
        + """
stages:
  - {name: open, speakers: [c]}
  - {name: vote, speakers: [a, b], mode: parallel, rounds: 2}
"""
    )
    talk = await converse(text, cast)
    assert said(talk) == [("open", "c"), ("vote", "a"), ("vote", "b"), ("vote", "a"), ("vote", "b")]
    assert "c#1" in cast.prompt("a", 1) and "b#1" not in cast.prompt("a", 1) and "a#1" not in cast.prompt("b", 1)
    assert "b#1" in cast.prompt("a", 2) and "a#2" not in cast.prompt("b", 2)  # round 2 sees round 1 only


async def test_until_ends_a_stage_before_its_rounds_are_used():
    cast = Cast(b=["not yet", "We are DONE here."])
    text = (
        ROLES
        + "stages:\n  - {name: talk, speakers: [a, b], rounds: 5, until: {contains: done}}\n  - {name: end, speakers: [c]}\n"
    )
    talk = await converse(text, cast)
    assert said(talk) == [("talk", "a"), ("talk", "b"), ("talk", "a"), ("talk", "b"), ("end", "c")]


LOOP = """
roles:
  writer: {persona: You write.}
  critic:
    persona: You check.
    output: {verdict: [good, revise], note: str}
  closer: {persona: You close.}
stages:
  - {name: write, speakers: [writer], max_visits: 3}
  - name: check
    speakers: [critic]
    max_visits: 3
    routes:
      - {when: {field: verdict, equals: good}, to: END}
      - {to: write}
  - {name: close, speakers: [closer]}
"""


async def test_a_route_taken_on_a_field_ends_the_conversation():
    bad, good = {"verdict": "revise", "note": "again"}, {"verdict": "good", "note": "fine"}
    talk = await converse(LOOP, Cast(critic=[bad, good]))
    assert said(talk) == [("write", "writer"), ("check", "critic")] * 2
    assert talk.said[-1].payload["fields"] == good


async def test_max_visits_bounds_a_loop_and_then_the_next_stage_in_the_file_follows():
    bad = {"verdict": "revise", "note": "again"}
    events = []
    llm = LLMClient(FunctionModel(Cast(critic=[bad] * 5)), Meter())
    bus = EventBus()
    bus.subscribe(events.append)
    talk = Conversation(scenario(LOOP), Setup(inputs={}, client_for=lambda role: llm), bus)
    await talk.run()
    assert said(talk) == [("write", "writer"), ("check", "critic")] * 3 + [("close", "closer")]
    assert any(e.kind == NOTE and "'write' was entered 3 times" in e.data["text"] for e in events)


async def test_what_a_stage_sees_all_own_none_or_named_stages():
    cast = Cast()
    text = (
        ROLES
        + """
stages:
  - {name: one, speakers: [a]}
  - {name: two, speakers: [b]}
  - {name: named, speakers: [c], sees: [one]}
  - {name: own, speakers: [a, b], sees: own}
  - {name: blind, speakers: [c], sees: none}
"""
    )
    await converse(text, cast)
    named, blind = cast.prompt("c", 1), cast.prompt("c", 2)
    assert "a#1" in named and "b#1" not in named
    assert "a#2" in cast.prompt("b", 2) and "a#1" not in cast.prompt("b", 2)  # own: this stage's messages only
    assert "Nothing has been said yet." in blind and "#" not in blind.split("Nothing")[0]


async def test_a_private_stage_is_seen_by_its_speakers_only():
    cast = Cast()
    text = (
        ROLES
        + """
stages:
  - {name: huddle, speakers: [a, b], private: true}
  - {name: public, speakers: [c]}
  - {name: again, speakers: [a]}
"""
    )
    talk = await converse(text, cast)
    assert "a#1" not in cast.prompt("c") and "b#1" not in cast.prompt("c")
    assert "b#1" in cast.prompt("a", 2) and "c#1" in cast.prompt("a", 2)
    assert talk.said[0].send_to == frozenset({"a", "b"}) and talk.said[0].payload["private"]


VOTE = """
roles:
  x: {persona: X., output: {ok: [yes, no]}}
  y: {persona: Y., output: {ok: [yes, no]}}
  z: {persona: Z., output: {ok: [yes, no]}}
  after: {persona: After.}
stages:
  - name: vote
    speakers: [x, y, z]
    mode: parallel
    aggregate: {majority: ok}
    routes:
      - {when: {field: ok, equals: "yes"}, to: END}
  - {name: after, speakers: [after]}
"""


async def test_majority_aggregation_is_a_message_and_routes_on_the_majority():
    talk = await converse(VOTE, Cast(x=[{"ok": "no"}], y=[{"ok": "yes"}], z=[{"ok": "yes"}]))
    vote = talk.said[-1]
    assert vote.sent_from == "majority" and vote.content == "ok: yes (2 of 3)"
    assert vote.payload["votes"] == {"no": 1, "yes": 2} and vote.payload["agreed"]
    assert [m.sent_from for m in talk.said] == ["x", "y", "z", "majority"]  # routed to END


async def test_no_majority_is_no_value_and_the_conversation_goes_on():
    text = VOTE.replace("  z: {persona: Z., output: {ok: [yes, no]}}\n", "").replace("[x, y, z]", "[x, y]")
    talk = await converse(text, Cast(x=[{"ok": "no"}], y=[{"ok": "yes"}]))
    assert talk.said[2].content == "ok: no majority" and not talk.said[2].payload["agreed"]
    assert talk.said[-1].sent_from == "after"


async def test_agree_holds_when_every_speaker_gave_the_same_value():
    text = VOTE.replace('{when: {field: ok, equals: "yes"}, to: END}', "{when: {field: ok, agree: true}, to: END}")
    talk = await converse(text, Cast(x=[{"ok": "no"}], y=[{"ok": "no"}], z=[{"ok": "no"}]))
    assert talk.said[-1].sent_from == "majority"
    talk = await converse(text, Cast(x=[{"ok": "no"}], y=[{"ok": "yes"}], z=[{"ok": "no"}]))
    assert talk.said[-1].sent_from == "after"


async def test_the_message_limit_is_checked_before_each_answer():
    cast = Cast()
    talk = await converse(ROLES + "stages:\n  - {name: talk, speakers: [a, b], rounds: 5}\nlimits: {messages: 3}\n",
                          cast)  # fmt: skip
    assert len(talk.said) == 3 and talk.ended == "limit" and len(cast.seen["b"]) == 1
    assert "limit of 3 messages" in talk.notes[0]


async def test_token_and_budget_limits_go_on_the_meter_and_stop_the_run_before_the_call(tmp_path):
    text = ROLES + "stages:\n  - {name: talk, speakers: [a, b], rounds: 5}\nlimits: {tokens: 700}\n"
    llm = LLMClient(FunctionModel(Cast()), Meter(max_tokens=100_000))
    setup = Setup(inputs={}, client_for=lambda role: llm)
    with pytest.raises(BudgetExceeded):
        await run_scenario(scenario(text), setup, llm, workspace=tmp_path)
    assert llm.meter.max_tokens == 700 and llm.meter.total_tokens <= 700 and llm.meter.llm_calls >= 1


class Person:
    def __init__(self, *lines):
        self.lines, self.turns = list(lines), []

    async def speak(self, turn):
        self.turns.append(turn)
        if not self.lines:
            raise HumanLeft("gone")
        return self.lines.pop(0)


async def test_a_human_role_is_asked_through_its_seat_and_shown_what_is_new():
    person = Person("I am B, hello.", "Still me.")
    cast = Cast()
    talk = await converse(ROLES + "stages:\n  - {name: talk, speakers: [a, b], rounds: 2}\n", cast,
                          humans=frozenset({"b"}), seat=person)  # fmt: skip
    assert [m.content for m in talk.said] == ["a#1", "I am B, hello.", "a#2", "Still me."]
    assert [m.content for m in person.turns[0].new] == ["a#1"]
    assert [m.content for m in person.turns[1].new] == ["I am B, hello.", "a#2"]  # the terminal skips its own
    assert "I am B, hello." in cast.prompt("a", 2) and talk.said[1].payload["human"] and "b" not in cast.seen


async def test_answers_given_before_a_resume_are_served_without_asking():
    person = Person()
    talk = await converse(ROLES + "stages:\n  - {name: talk, speakers: [a, b]}\n", Cast(), humans=frozenset({"b"}),
                          seat=person, answered={"talk.1.1.b": "typed before"})  # fmt: skip
    assert talk.said[-1].content == "typed before" and person.turns == []


async def test_an_earlier_conversation_is_seen_when_continued():
    from agentco.core.message import Message

    cast = Cast()
    earlier = [Message("we met before", sent_from="b", cause_by=EARLIER)]
    talk = await converse(ROLES + "stages:\n  - {name: talk, speakers: [a]}\n", cast, earlier=earlier)
    assert "we met before" in cast.prompt("a") and said(talk) == [("talk", "a")]


class Library:
    def __init__(self):
        self.opened, self.queries = [], []

    def open(self, names):
        self.opened += names

    def search(self, name, query, k):
        self.queries.append((name, query))
        return [Passage("faq.md", "Refunds take 5 days.", 3, 0.9), Passage("terms.md", "No refunds on sale.", 0, 0.5)]

    def close(self):
        pass


async def test_a_role_with_knowledge_gets_numbered_passages_and_its_citations_are_recorded(tmp_path):
    text = """
inputs: {question: asked}
roles:
  agent: {persona: You help., knowledge: [support]}
stages:
  - {name: answer, speakers: [agent], instruction: "{{ question }}"}
"""
    cast = Cast(agent=["Refunds take 5 days [1], except on sale [2] [7]."])
    library = Library()
    llm = LLMClient(FunctionModel(cast), Meter())
    setup = Setup(inputs={"question": "How long is a refund?"}, client_for=lambda role: llm, retriever=library)
    outcome = await run_scenario(scenario(text), setup, llm, workspace=tmp_path)
    assert "[1] (faq.md) Refunds take 5 days." in cast.prompt("agent") and "cite" in cast.prompt("agent")
    assert library.opened == ["support"] and "How long is a refund?" in library.queries[0][1]
    assert outcome.transcript[0]["citations"] == [
        {"n": 1, "source": "faq.md", "chunk": 3},
        {"n": 2, "source": "terms.md", "chunk": 0},
    ]
    assert "[1] faq.md (chunk 3)" in outcome.answer
    assert json.loads((outcome.project / "transcript.json").read_text())[0]["speaker"] == "agent"
