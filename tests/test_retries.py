"""Retries differ: a seed per retry, an identical retry asked again, a truncated reply asked for shorter."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from pydantic import BaseModel

from agentco.config import LLMSettings
from agentco.errors import ModelOutputError
from agentco.llm.anthropic import AnthropicProvider
from agentco.llm.base import ChatRequest, Completion, ModelRef
from agentco.llm.client import LLMClient, request_digest
from agentco.llm.fake import FunctionModel, ScriptedModel
from agentco.llm.local.provider import CallStats, LoadedModel, LocalProvider
from agentco.llm.meter import Meter
from agentco.llm.openai_compat import OpenAICompatProvider
from agentco.llm.structured import JsonOutput, TextOutput, generate
from wire_server import WireServer


class Verdict(BaseModel):
    approved: bool
    reasons: list[str]


ASK = [{"role": "user", "content": "judge"}]
GOOD = '{"approved": true, "reasons": ["ok"]}'
BAD = '{"approved": "maybe"}'
OTHER_BAD = "not json at all"


def client(model) -> LLMClient:
    return LLMClient(model, Meter())


def seeds(model) -> list[int | None]:
    return [r.seed for r in model.requests]


def feedback(model, call: int) -> str:
    return model.requests[call].messages[-1]["content"]


# -- seeds ---------------------------------------------------------------------------------------------
async def test_the_first_request_has_no_seed_and_each_retry_its_own():
    model = ScriptedModel([BAD, OTHER_BAD, GOOD])

    result = await generate(client(model), ASK, JsonOutput(Verdict), attempts=3)

    assert result.attempts == 3
    first, *retries = seeds(model)
    assert first is None
    assert None not in retries and len(set(retries)) == len(retries) == 2


async def test_a_first_request_keeps_the_cache_key_it_had_before_seeds():
    model = ScriptedModel([GOOD])
    await generate(client(model), ASK, JsonOutput(Verdict), temperature=0.2, max_tokens=2048)

    (request,) = model.requests
    assert request.key_material() == {
        "messages": ASK,
        "temperature": 0.2,
        "max_tokens": 2048,
        "json_schema": Verdict.model_json_schema(),
    }
    # The digest of a fixed request, as computed before ChatRequest had a seed.
    fixed = ChatRequest(ASK, temperature=0.2, max_tokens=2048, json_schema={"type": "object"}, schema_name="Verdict")
    before = "b2c12656205644687d33109fc1886b0367b1cc85bf01c41cc02e5dd3364f6150"
    assert request_digest(ModelRef("fake", "scripted"), fixed) == before


def test_a_seed_is_part_of_the_cache_key_when_set():
    unseeded, seeded = ChatRequest(ASK), ChatRequest(ASK, seed=2)
    assert "seed" not in unseeded.key_material()
    assert seeded.key_material() == {**unseeded.key_material(), "seed": 2}
    ref = ModelRef("fake", "scripted")
    assert request_digest(ref, seeded) != request_digest(ref, unseeded)


# -- an identical retry ----------------------------------------------------------------------------------
async def test_an_identical_retry_is_asked_again_and_not_counted():
    model = ScriptedModel([BAD, BAD, GOOD])

    result = await generate(client(model), ASK, JsonOutput(Verdict), attempts=2)

    assert result.value.approved is True
    assert result.attempts == 2  # three calls, but the repeat was not an attempt
    assert len(model.requests) == 3
    assert len(set(seeds(model))) == 3
    reasked = model.requests[2]
    assert reasked.messages[-2] == {"role": "assistant", "content": BAD}  # the repeated answer
    assert "word for word" in feedback(model, 2)
    assert "approved" in feedback(model, 2)  # and still what was wrong with it
    assert "word for word" not in feedback(model, 1)  # a first retry is an ordinary one


async def test_a_repeat_of_any_earlier_attempt_is_caught_with_that_attempt_s_error():
    model = ScriptedModel([BAD, OTHER_BAD, BAD, GOOD])

    result = await generate(client(model), ASK, JsonOutput(Verdict), attempts=3)

    assert result.attempts == 3 and len(model.requests) == 4
    assert "word for word" in feedback(model, 3)
    assert "approved" in feedback(model, 3) and "not valid JSON" not in feedback(model, 3)


async def test_a_model_stuck_on_one_answer_costs_at_most_two_calls_an_attempt():
    model = FunctionModel(lambda request: BAD)

    with pytest.raises(ModelOutputError) as info:
        await generate(client(model), ASK, JsonOutput(Verdict), attempts=3)

    assert info.value.attempts == 3
    assert len(model.requests) == 1 + 2 + 2
    assert seeds(model)[0] is None and len(set(seeds(model))) == 5


# -- a reply cut off at the token limit ------------------------------------------------------------------
def cut(text: str) -> Completion:
    return Completion(text, finish_reason="length")


async def test_a_repeat_ends_the_tries_when_the_caller_has_its_own_next_step():
    model = ScriptedModel([BAD, BAD, GOOD])

    with pytest.raises(ModelOutputError) as caught:
        await generate(client(model), ASK, JsonOutput(Verdict), attempts=3, reask_repeats=False)

    assert len(model.requests) == 2  # the repeat is not asked again, nor given a third attempt
    assert "approved" in caught.value.last_error  # the reason the first answer was refused


async def test_a_truncated_json_reply_gets_the_shorter_answer_request():
    padded = '{"reasons": ["the same story again", "the same story again", "the same sto'
    model = ScriptedModel([cut(padded), GOOD])

    result = await generate(client(model), ASK, JsonOutput(Verdict), max_tokens=1000)

    assert result.attempts == 2
    asked = feedback(model, 1)
    assert "cut off" in asked and "1000 tokens" in asked
    assert "fewer list items" in asked and "shorter strings" in asked
    assert "Field required" not in asked  # not the validation errors of a truncated document


async def test_a_reply_stopped_in_a_loop_is_asked_to_say_each_thing_once():
    loop = '{"approved": true, "reasons": ["' + "It stores the items in a JSON file. " * 20
    model = ScriptedModel([Completion(loop, finish_reason="repetition"), GOOD])

    result = await generate(client(model), ASK, JsonOutput(Verdict), max_tokens=1000)

    assert result.attempts == 2
    asked = feedback(model, 1)
    assert "repeating the same passage" in asked and "say each thing once" in asked
    assert "cut off" not in asked  # it was stopped, not cut at the token limit


async def test_a_truncated_json_reply_that_still_validates_is_kept():
    model = ScriptedModel([cut('{"approved": true, "reasons": ["ok", "and one mo')])

    result = await generate(client(model), ASK, JsonOutput(Verdict))

    assert result.attempts == 1 and result.value.approved is True


async def test_a_truncated_text_reply_is_asked_for_more_concisely():
    model = ScriptedModel([cut("def add(a, b):\n    return a +"), "def add(a, b):\n    return a + b\n"])

    result = await generate(client(model), ASK, TextOutput(name="add.py"), max_tokens=300)

    assert result.attempts == 2
    assert "cut off" in feedback(model, 1) and "300 tokens" in feedback(model, 1)
    assert "concisely" in feedback(model, 1) and "add.py" in feedback(model, 1)


async def test_a_truncated_text_reply_is_kept_as_far_as_its_salvage_says():
    from agentco.change.edit import salvage

    looping = "```python\ndef add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n\n\ndef add(a, b"
    model = ScriptedModel([cut(looping)])

    result = await generate(client(model), ASK, TextOutput(name="calc.py", salvage=salvage), max_tokens=300)

    assert result.attempts == 1 and len(model.requests) == 1
    assert result.value == "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
    nothing = ScriptedModel([cut("def add(a, b):\n    return a +"), "def add(a, b):\n    return a + b\n"])
    result = await generate(client(nothing), ASK, TextOutput(name="calc.py", salvage=salvage), max_tokens=300)
    assert result.attempts == 2  # nothing complete to keep: asked again, as without a salvage


async def test_a_reply_truncated_on_every_attempt_says_so_in_the_error():
    model = FunctionModel(lambda request: cut('{"reasons": ["x", "y", "z'))

    with pytest.raises(ModelOutputError, match="cut off at 500 tokens"):
        await generate(client(model), ASK, JsonOutput(Verdict), attempts=2, max_tokens=500)
    assert "word for word" in feedback(model, 2)  # the second answer repeated the first
    assert "fewer list items" in feedback(model, 2)


# -- the seed reaches the backends that take one -------------------------------------------------------
def openai_provider(server: WireServer) -> OpenAICompatProvider:
    return OpenAICompatProvider("vllm", "test-model", LLMSettings(stall_timeout=0.5, timeout=5), None, server.url)


async def test_openai_compatible_servers_get_the_seed(wire_server: WireServer):
    wire_server.reply("a").reply("b")
    provider = openai_provider(wire_server)

    await provider.complete(ChatRequest(ASK))
    await provider.complete(ChatRequest(ASK, seed=7))

    assert "seed" not in wire_server.requests[0].body
    assert wire_server.requests[1].body["seed"] == 7


async def test_a_server_that_refuses_the_seed_is_asked_without_one(wire_server: WireServer):
    wire_server.status(400, "Unrecognized request argument supplied: seed").reply("a").reply("b")
    provider = openai_provider(wire_server)

    assert (await provider.complete(ChatRequest(ASK, seed=1))).text == "a"
    await provider.complete(ChatRequest(ASK, seed=2))

    assert [("seed" in r.body) for r in wire_server.requests] == [True, False, False]


async def test_anthropic_ignores_the_seed(wire_server: WireServer):
    wire_server.reply("a")
    provider = AnthropicProvider(
        "claude-test", LLMSettings(stall_timeout=0.5, timeout=5, base_url=wire_server.url), "k"
    )

    await provider.complete(ChatRequest(ASK, seed=3))

    assert "seed" not in wire_server.requests[0].body


class RecordingLlama:
    """Just enough of llama_cpp.Llama to see the arguments a call passes (the real one is slow here)."""

    stats = CallStats()

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def tokenize(self, data: bytes, add_bos: bool, special: bool) -> list[int]:
        return [0] * (len(data) // 4)

    def create_chat_completion(self, **kwargs):
        self.calls.append(kwargs)
        yield {"choices": [{"delta": {"content": json.dumps("ok")}, "finish_reason": "stop"}]}


def test_the_local_model_gets_the_seed_only_when_set():
    llama = RecordingLlama()
    loaded = LoadedModel(llama, Path("model.gguf"), 4096, None)
    provider = LocalProvider("model.gguf", LLMSettings())

    for seed in (None, 5):
        provider._generate(loaded, ChatRequest(ASK, seed=seed), lambda text: None, threading.Event())

    assert "seed" not in llama.calls[0]
    assert llama.calls[1]["seed"] == 5


def test_a_fence_closes_only_on_a_line_of_its_own():
    """Code that holds three backticks (a Markdown tool) is not cut at them."""
    from agentco.llm.structured import strip_fence

    code = 'def is_fence(line):\n    return line.startswith("```")\n'
    assert strip_fence(f"Here it is:\n```python\n{code}```\nDone.") == code
    assert strip_fence(f"```python\n{code}") == code  # a reply cut off before its closing fence
    assert strip_fence(code) == code
