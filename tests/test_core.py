"""The multi-agent kernel with the fake models: routing, concurrency, output retries, budgets."""

import asyncio
import json
import time

import pytest
from pydantic import BaseModel

from agentco.core.action import Action
from agentco.core.environment import Environment
from agentco.core.message import Message
from agentco.core.review import FEEDBACK, GATE
from agentco.core.review import Verdict as GateVerdict
from agentco.core.role import Role
from agentco.core.team import Team
from agentco.errors import BudgetExceeded, ModelOutputError
from agentco.llm.base import ChatRequest
from agentco.llm.client import LLMClient
from agentco.llm.fake import FunctionModel, ScriptedModel
from agentco.llm.meter import Meter
from agentco.llm.structured import JsonOutput, generate


class Verdict(BaseModel):
    approved: bool
    reasons: list[str]


def client(model, **meter_kwargs) -> LLMClient:
    return LLMClient(model, Meter(**meter_kwargs))


def reply_role(name, watch=(), action="Reply", **kwargs) -> Role:
    return Role(name, "a tester", actions=[Action(action, "core/respond.j2")], watch=watch, **kwargs)


def test_routing_by_watch_and_by_recipient():
    env = Environment()
    writer = reply_role("writer", watch={"UserRequirement"})
    reviewer = reply_role("reviewer", watch={"WriteDraft"})
    bystander = reply_role("bystander", watch={"Nothing"})
    env.add_roles(writer, reviewer, bystander)

    env.publish(Message("build it"))
    env.publish(Message("draft", sent_from="writer", cause_by="WriteDraft"))
    env.publish(Message("psst", sent_from="writer", cause_by="Whisper", send_to=frozenset({"bystander"})))
    env.publish(Message("own echo", sent_from="reviewer", cause_by="WriteDraft"))

    assert [m.content for m in writer.inbox] == ["build it"]
    assert [m.content for m in reviewer.inbox] == ["draft"]  # not its own message
    assert [m.content for m in bystander.inbox] == ["psst"]  # addressed, though not watched
    assert len(env.history) == 4


def test_watching_a_role_by_name():
    env = Environment()
    fan = reply_role("fan", watch={"writer"})
    env.add_roles(fan)
    env.publish(Message("hello", sent_from="writer", cause_by="Anything"))
    assert [m.content for m in fan.inbox] == ["hello"]


async def test_roles_with_work_in_the_same_round_run_concurrently():
    spans: dict[str, tuple[float, float]] = {}

    async def slow(request):
        who = request.messages[0]["content"].split(",")[0]
        start = time.perf_counter()
        await asyncio.sleep(0.3)
        spans[who] = (start, time.perf_counter())
        return f"answer from {who}"

    team = Team(client(FunctionModel(slow)))
    team.hire(reply_role("alice", watch={"UserRequirement"}), reply_role("bob", watch={"UserRequirement"}))
    started = time.perf_counter()
    history = await team.run("topic", n_round=3)
    elapsed = time.perf_counter() - started

    (a0, a1), (b0, b1) = spans["You are alice"], spans["You are bob"]
    assert a0 < b1 and b0 < a1, "the two roles' calls overlapped in time"
    assert elapsed < 0.55
    assert {m.sent_from for m in history} == {"user", "alice", "bob"}


async def test_team_runs_a_chain_until_idle():
    team = Team(client(ScriptedModel(["draft v1", "looks good"])))
    team.hire(reply_role("writer", watch={"UserRequirement"}, action="Draft"), reply_role("reviewer", watch={"Draft"}))
    history = await team.run("write a haiku", n_round=10)
    assert [(m.sent_from, m.content) for m in history] == [
        ("user", "write a haiku"),
        ("writer", "draft v1"),
        ("reviewer", "looks good"),
    ]
    assert team.rounds_run == 2


class ScriptedReviewer:
    """A reviewer answering from a list of verdict makers, recording what it saw."""

    def __init__(self, *verdicts):
        self.verdicts, self.seen = list(verdicts), []

    async def review(self, message):
        self.seen.append((message.sent_from, message.content))
        return self.verdicts.pop(0)(message) if self.verdicts else GateVerdict.approve()


async def test_the_gate_hook_publishes_approved_edited_or_sends_feedback_back():
    model = ScriptedModel(["draft v1", "draft v2", "looks good"])
    reviewer = ScriptedReviewer(
        lambda m: GateVerdict.reject("make it rhyme"),
        lambda m: GateVerdict.edit(Message("draft v2, edited", sent_from=m.sent_from, cause_by=m.cause_by)),
    )
    team = Team(client(model), reviewer=reviewer)
    team.hire(reply_role("writer", watch={"UserRequirement"}, action="Draft"), reply_role("reviewer", watch={"Draft"}))
    history = await team.run("write a haiku", n_round=10)
    assert [(m.sent_from, m.content) for m in history] == [
        ("user", "write a haiku"),
        (GATE, "make it rhyme"),  # the rejection, addressed to the writer alone
        ("writer", "draft v2, edited"),
        ("reviewer", "looks good"),
    ]
    assert history[1].send_to == frozenset({"writer"}) and history[1].cause_by == FEEDBACK
    assert "make it rhyme" in model.requests[1].messages[-1]["content"]  # the writer saw the feedback
    assert reviewer.seen == [("writer", "draft v1"), ("writer", "draft v2"), ("reviewer", "looks good")]


def test_a_rejection_must_say_what_to_change():
    with pytest.raises(ValueError, match="feedback"):
        GateVerdict.reject("  ")


async def test_structured_output_retries_with_the_error_and_then_succeeds():
    model = ScriptedModel(['{"approved": "maybe"', "not json at all", '{"approved": true, "reasons": ["ok"]}'])
    result = await generate(client(model), [{"role": "user", "content": "judge"}], JsonOutput(Verdict), attempts=3)
    assert result.value == Verdict(approved=True, reasons=["ok"])
    assert result.attempts == 3
    second_prompt = model.requests[1].messages[-1]["content"]
    assert "approved" in second_prompt and "valid boolean" in second_prompt
    assert "reasons" in second_prompt and "Field required" in second_prompt
    # a retry changes something: the temperature rises, and the schema is always sent
    temps = [r.temperature for r in model.requests]
    assert temps[0] < temps[1] < temps[2]
    assert all(r.json_schema == Verdict.model_json_schema() for r in model.requests)


async def test_structured_output_gives_a_typed_error_after_the_configured_attempts():
    model = ScriptedModel([f"garbage {i}" for i in range(10)])  # each different: a repeat is asked again
    with pytest.raises(ModelOutputError) as info:
        await generate(client(model), [{"role": "user", "content": "judge"}], JsonOutput(Verdict), attempts=4)
    assert info.value.attempts == 4
    assert len(model.requests) == 4


async def test_repair_can_be_switched_off():
    almost = '{"approved": true, "reasons": ["trailing comma",],}'
    repaired = await generate(client(ScriptedModel([almost])), [{"role": "user", "content": "x"}], JsonOutput(Verdict))
    assert repaired.value.approved is True
    strict = ScriptedModel([almost, json.dumps({"approved": False, "reasons": []})])
    result = await generate(client(strict), [{"role": "user", "content": "x"}], JsonOutput(Verdict, repair=False))
    assert result.attempts == 2


async def test_budget_stops_before_the_call_that_would_pass_it():
    # $1 per thousand tokens. Each call really uses 7 prompt + 10 completion tokens ($0.017);
    # its worst case is 26 + 10 tokens ($0.036). After two calls $0.034 is spent, and a third
    # could reach $0.070, past the $0.06 cap, so it must be refused before it is made.
    model = ScriptedModel(["a" * 40] * 5)
    meter = Meter(max_budget=0.06, custom_prices={"fake:scripted": (1000.0, 1000.0)})
    llm = LLMClient(model, meter)
    request = ChatRequest([{"role": "user", "content": "x" * 30}], max_tokens=10)

    await llm.complete(request)
    await llm.complete(request)
    with pytest.raises(BudgetExceeded, match="budget reached"):
        await llm.complete(request)
    assert len(model.requests) == 2, "the third call was refused before reaching the model"
    assert meter.cost_usd == pytest.approx(0.034)
    assert meter.llm_calls == 2


async def test_token_budget_is_checked_too():
    llm = LLMClient(ScriptedModel(["ok"] * 3), Meter(max_tokens=40))
    request = ChatRequest([{"role": "user", "content": "x" * 30}], max_tokens=10)
    await llm.complete(request)
    with pytest.raises(BudgetExceeded, match="token budget"):
        await llm.complete(request)


async def test_react_mode_lets_the_model_choose_and_stop():
    model = ScriptedModel(
        [
            '{"reason": "start", "action": "Research"}',
            "notes",
            '{"reason": "now write", "action": "Write"}',
            "essay",
            '{"reason": "finished", "action": "done"}',
        ]
    )
    role = Role(
        "writer",
        "an essayist",
        actions=[Action("Research", "core/respond.j2"), Action("Write", "core/respond.j2")],
        watch={"UserRequirement"},
        react_mode="react",
        llm=client(model),
    )
    role.inbox.append(Message("an essay on tea"))
    produced = await role.step()
    assert [(m.cause_by, m.content) for m in produced] == [("Research", "notes"), ("Write", "essay")]


async def test_plan_and_act_runs_the_planned_steps():
    plan = {"steps": [{"action": "Write", "instruction": "first draft"}, {"action": "Write", "instruction": "polish"}]}
    model = ScriptedModel([json.dumps(plan), "draft", "polished"])
    role = Role(
        "writer",
        "an essayist",
        actions=[Action("Write", "core/respond.j2")],
        react_mode="plan_and_act",
        llm=client(model),
    )
    role.inbox.append(Message("an essay on tea"))
    produced = await role.step()
    assert [m.content for m in produced] == ["draft", "polished"]
    assert "polish" in model.requests[2].messages[-1]["content"]


async def test_each_role_can_have_its_own_model():
    cheap, strong = ScriptedModel(["cheap answer"], model="cheap"), ScriptedModel(["strong answer"], model="strong")
    shared = client(cheap)
    team = Team(shared, llm_for=lambda role: shared.with_provider(strong) if role.name == "expert" else None)
    team.hire(reply_role("intern", watch={"UserRequirement"}), reply_role("expert", watch={"UserRequirement"}))
    history = await team.run("question", n_round=1)
    answers = {m.sent_from: m.content for m in history}
    assert answers == {"user": "question", "intern": "cheap answer", "expert": "strong answer"}
    assert shared.meter.llm_calls == 2  # one meter for the whole run


def test_text_output_takes_the_first_fenced_block():
    from agentco.llm.structured import TextOutput

    spec = TextOutput(check=lambda text: None)
    assert spec.parse("```python\nx = 1\n```\n\nThis file defines x.") == "x = 1\n"
    assert spec.parse("x = 2\n") == "x = 2\n"
