"""The hosted-model providers over real HTTP: the real SDK clients against a loopback server.

Every call goes through ``LLMClient``, so retries, Retry-After and stall handling are tested end
to end. Providers are built directly rather than through ``registry.create_provider``: the
conftest switch that blocks real model requests is about hosted APIs, and these requests never
leave 127.0.0.1 (the one registry test opts back in explicitly).
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Iterator

import pytest

from agentco.config import LLMSettings
from agentco.errors import ConfigError, ModelRequestsBlocked, PromptTooLong, ProviderError, TransientProviderError
from agentco.llm.anthropic import AnthropicProvider
from agentco.llm.base import ChatRequest, Completion, ModelRef, Provider
from agentco.llm.client import LLMClient
from agentco.llm.http import retry_after_seconds
from agentco.llm.meter import Meter
from agentco.llm.openai_compat import OpenAICompatProvider
from agentco.llm.registry import create_provider
from agentco.llm.retry import RetryPolicy
from wire_server import WireServer

KEY = "sk-test-0123456789abcdef"
STALL = 0.5
SCHEMA = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}


@pytest.fixture
def server() -> Iterator[WireServer]:
    with WireServer() as s:
        yield s


class Tokens:
    """A CallObserver that keeps the streamed pieces."""

    def __init__(self) -> None:
        self.pieces: list[str] = []

    def call_started(self, who: str, what: str, model: str = "") -> None:
        pass

    def token(self, who: str, text: str) -> None:
        self.pieces.append(text)

    def call_finished(self, who: str, completion: Completion, cost: float = 0.0) -> None:
        pass


def settings(**extra: object) -> LLMSettings:
    return LLMSettings(stall_timeout=STALL, timeout=5, **extra)


def openai_provider(server: WireServer, name: str = "openai", key: str | None = KEY) -> OpenAICompatProvider:
    return OpenAICompatProvider(name, "gpt-test", settings(), key, f"{server.url}/v1")


def anthropic_provider(server: WireServer) -> AnthropicProvider:
    return AnthropicProvider("claude-test", settings(base_url=server.url), KEY)


def client(provider: Provider, observer: Tokens | None = None, max_retries: int = 2) -> LLMClient:
    policy = RetryPolicy(max_retries=max_retries, base_delay=0.01, max_delay=0.05)
    return LLMClient(provider, Meter(), policy, timeout=10, observer=observer)


def ask(text: str = "Say hello.", **extra: object) -> ChatRequest:
    return ChatRequest([{"role": "system", "content": "You are terse."}, {"role": "user", "content": text}], **extra)


# -- OpenAI-compatible --------------------------------------------------------------------------------
async def test_openai_plain_call(server: WireServer) -> None:
    server.reply("Hello!")
    llm = client(openai_provider(server))

    completion = await llm.complete(ask())

    assert completion.text == "Hello!"
    assert completion.finish_reason == "stop"
    (request,) = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body["model"] == "gpt-test"
    assert request.body["messages"][1] == {"role": "user", "content": "Say hello."}
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}
    assert request.body["max_tokens"] == 2048  # what most servers behind a base_url know
    assert request.body["temperature"] == 0.2


async def test_openai_streams_tokens_and_counts_usage(server: WireServer) -> None:
    text = "The quick brown fox jumps over the lazy dog"
    server.reply(text, chunks=4, prompt_tokens=12, completion_tokens=9)
    tokens = Tokens()
    llm = client(openai_provider(server), tokens)

    completion = await llm.complete(ask())

    assert completion.text == text
    assert len(tokens.pieces) >= 3
    assert "".join(tokens.pieces) == text
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (12, 9)
    assert (llm.meter.llm_calls, llm.meter.prompt_tokens, llm.meter.completion_tokens) == (1, 12, 9)


async def test_openai_structured_output_sends_json_schema(server: WireServer) -> None:
    server.reply_tool({"title": "Snake"})
    llm = client(openai_provider(server))

    completion = await llm.complete(ask(json_schema=SCHEMA, schema_name="plan"))

    assert json.loads(completion.text) == {"title": "Snake"}
    assert server.requests[0].body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "plan", "schema": SCHEMA, "strict": False},
    }


async def test_json_object_for_a_provider_without_json_schema(server: WireServer) -> None:
    server.reply_tool({"title": "Snake"})
    llm = client(openai_provider(server, "deepseek"))

    await llm.complete(ask(json_schema=SCHEMA))

    assert server.requests[0].body["response_format"] == {"type": "json_object"}
    assert "max_tokens" in server.requests[0].body


async def test_server_that_rejects_json_schema_gets_json_object(server: WireServer) -> None:
    server.status(400, "response_format json_schema is not supported by this model")
    server.reply_tool({"title": "x"}).reply_tool({"title": "y"})
    llm = client(openai_provider(server, "vllm", key=None))

    await llm.complete(ask(json_schema=SCHEMA))
    await llm.complete(ask("again", json_schema=SCHEMA))

    kinds = [r.body["response_format"]["type"] for r in server.requests]
    assert kinds == ["json_schema", "json_object", "json_object"]  # remembered after the first refusal


async def test_server_that_rejects_stream_options(server: WireServer) -> None:
    server.status(400, "Unrecognized request argument supplied: stream_options").reply("Hello there, you", usage=False)
    llm = client(openai_provider(server, "llamacpp", key=None))

    completion = await llm.complete(ask())

    assert completion.text == "Hello there, you"
    assert "stream_options" not in server.requests[1].body
    assert completion.usage.completion_tokens == 4  # estimated from characters: the server sent no usage
    assert completion.usage.prompt_tokens > 0


async def test_reasoning_model_refusals_adjust_the_request(server: WireServer) -> None:
    server.status(
        400,
        "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
    )
    server.status(400, "Unsupported value: 'temperature' does not support 0.2 with this model.")
    server.reply("thought hard").reply("again")
    llm = client(openai_provider(server))

    await llm.complete(ask())
    await llm.complete(ask("more"))

    last = server.requests[-1].body
    assert "temperature" not in last and "max_tokens" not in last
    assert last["max_completion_tokens"] == 2048
    assert len(server.requests) == 4  # two refusals, then one request per call


async def test_openai_429_waits_retry_after_then_succeeds(server: WireServer) -> None:
    server.status(429, "slow down", headers={"Retry-After": "1"}).reply("ok")
    llm = client(openai_provider(server))

    completion = await llm.complete(ask())

    assert completion.text == "ok"
    assert len(server.requests) == 2
    waited = server.requests[1].at - server.requests[0].at
    assert 0.9 <= waited < 2.0
    assert llm.meter.llm_calls == 1


async def test_openai_500_then_success(server: WireServer) -> None:
    server.status(500).reply("recovered")

    assert (await client(openai_provider(server)).complete(ask())).text == "recovered"
    assert len(server.requests) == 2


async def test_openai_persistent_500_fails_after_all_attempts(server: WireServer) -> None:
    server.status(500).status(502).status(503)

    with pytest.raises(ProviderError, match="after 3 attempts") as caught:
        await client(openai_provider(server), max_retries=2).complete(ask())

    assert not isinstance(caught.value, TransientProviderError)
    assert len(server.requests) == 3


async def test_openai_dropped_connection_then_success(server: WireServer) -> None:
    server.drop_connection().reply("second try")

    assert (await client(openai_provider(server)).complete(ask())).text == "second try"
    assert len(server.requests) == 2


async def test_openai_error_inside_the_stream_is_retried(server: WireServer) -> None:
    server.stream_error("server_error").reply("second try")

    assert (await client(openai_provider(server)).complete(ask())).text == "second try"
    assert len(server.requests) == 2


async def test_openai_stalled_stream_is_detected_and_retried(server: WireServer) -> None:
    server.stall(seconds=10).reply("unstuck")
    tokens = Tokens()

    completion = await client(openai_provider(server), tokens).complete(ask())

    assert completion.text == "unstuck"
    assert "".join(tokens.pieces).startswith("this")  # the stalled attempt streamed a little first
    gave_up_after = server.requests[1].at - server.requests[0].at
    assert STALL <= gave_up_after < STALL + 1.0


async def test_openai_401_names_the_env_var_and_hides_the_key(server: WireServer) -> None:
    server.status(401, f"Incorrect API key provided: {KEY}")

    with pytest.raises(ProviderError) as caught:
        await client(openai_provider(server)).complete(ask())

    message = str(caught.value)
    assert "OPENAI_API_KEY" in message
    assert KEY not in message and KEY not in repr(caught.value.__cause__)
    assert not isinstance(caught.value, TransientProviderError)
    assert len(server.requests) == 1  # not retried


async def test_openai_404_names_the_model(server: WireServer) -> None:
    server.status(404, "The model `gpt-test` does not exist", error_code="model_not_found")

    with pytest.raises(ProviderError, match="gpt-test"):
        await client(openai_provider(server)).complete(ask())


async def test_openai_context_length_exceeded_is_prompt_too_long(server: WireServer) -> None:
    message = "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens."
    server.status(400, message, error_code="context_length_exceeded")

    with pytest.raises(PromptTooLong):
        await client(openai_provider(server)).complete(ask())
    assert len(server.requests) == 1


async def test_azure_routes_to_the_deployment(server: WireServer) -> None:
    server.reply("from azure")
    azure = OpenAICompatProvider("azure", "my-deploy", settings(api_version="2024-10-21"), KEY, server.url)

    assert (await client(azure).complete(ask())).text == "from azure"

    (request,) = server.requests
    assert request.path == "/openai/deployments/my-deploy/chat/completions"
    assert request.query == {"api-version": "2024-10-21"}
    assert request.headers["api-key"] == KEY


def test_azure_needs_an_api_version(server: WireServer) -> None:
    with pytest.raises(ConfigError, match="api_version"):
        OpenAICompatProvider("azure", "my-deploy", settings(), KEY, server.url)


@pytest.mark.parametrize(("provider", "env"), [("openai", "OPENAI_API_KEY"), ("deepseek", "DEEPSEEK_API_KEY")])
def test_missing_key_is_a_config_error_naming_the_env_var(provider: str, env: str) -> None:
    with pytest.raises(ConfigError, match=env):
        OpenAICompatProvider(provider, "m", LLMSettings(), None, "https://api.example.com/v1")


def test_local_servers_need_no_key(server: WireServer) -> None:
    OpenAICompatProvider("ollama", "qwen2.5-coder:7b", LLMSettings(), None, "http://localhost:11434/v1")
    OpenAICompatProvider("openai", "served-model", LLMSettings(), None, f"{server.url}/v1")


async def test_registry_builds_a_provider_when_requests_are_allowed(server: WireServer, monkeypatch) -> None:
    ref = ModelRef("openai", "gpt-test")
    llm_settings = settings(base_url=f"{server.url}/v1", api_key=KEY)
    with pytest.raises(ModelRequestsBlocked):
        create_provider(ref, llm_settings)
    # Opt back in: the base_url is our loopback server, so nothing reaches a hosted model.
    monkeypatch.setenv("AGENTCO_ALLOW_MODEL_REQUESTS", "1")
    server.reply("via the registry")

    assert (await client(create_provider(ref, llm_settings)).complete(ask())).text == "via the registry"


def test_retry_after_header_forms() -> None:
    in_two_minutes = email.utils.formatdate(time.time() + 120, usegmt=True)
    assert retry_after_seconds({"retry-after": "3"}) == 3.0
    assert 115 < retry_after_seconds({"retry-after": in_two_minutes}) <= 120
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


# -- Anthropic ----------------------------------------------------------------------------------------
async def test_anthropic_streams_text(server: WireServer) -> None:
    text = "Claude says hello in pieces"
    server.reply(text, chunks=4, prompt_tokens=21, completion_tokens=7)
    tokens = Tokens()
    llm = client(anthropic_provider(server), tokens)

    completion = await llm.complete(ask())

    assert completion.text == text
    assert completion.finish_reason == "stop"
    assert len(tokens.pieces) >= 3 and "".join(tokens.pieces) == text
    assert (llm.meter.prompt_tokens, llm.meter.completion_tokens) == (21, 7)
    (request,) = server.requests
    assert request.path == "/v1/messages"
    assert request.body["system"] == "You are terse."
    assert request.body["messages"] == [{"role": "user", "content": "Say hello."}]
    assert request.body["stream"] is True
    assert "temperature" not in request.body
    assert KEY in (request.headers.get("x-api-key", "") + request.headers.get("authorization", ""))


async def test_anthropic_structured_output_is_a_forced_tool_call(server: WireServer) -> None:
    server.reply_tool({"title": "Snake", "files": ["a.py", "b.py"]}, chunks=5)
    tokens = Tokens()

    completion = await client(anthropic_provider(server), tokens).complete(ask(json_schema=SCHEMA, schema_name="plan"))

    assert json.loads(completion.text) == {"title": "Snake", "files": ["a.py", "b.py"]}
    assert len(tokens.pieces) >= 3  # the partial JSON streams too
    body = server.requests[0].body
    assert body["tools"][0]["name"] == "plan"
    assert body["tools"][0]["input_schema"] == SCHEMA
    assert body["tool_choice"] == {"type": "tool", "name": "plan"}


async def test_anthropic_429_waits_retry_after_then_succeeds(server: WireServer) -> None:
    server.status(429, headers={"Retry-After": "1"}).reply("ok")

    assert (await client(anthropic_provider(server)).complete(ask())).text == "ok"
    assert len(server.requests) == 2
    assert 0.9 <= server.requests[1].at - server.requests[0].at < 2.0


@pytest.mark.parametrize("status", [500, 529])
async def test_anthropic_server_errors_are_retried(server: WireServer, status: int) -> None:
    server.status(status).reply("ok")

    assert (await client(anthropic_provider(server)).complete(ask())).text == "ok"
    assert len(server.requests) == 2


async def test_anthropic_dropped_connection_then_success(server: WireServer) -> None:
    server.drop_connection().reply("ok")

    assert (await client(anthropic_provider(server)).complete(ask())).text == "ok"
    assert len(server.requests) == 2


async def test_anthropic_overloaded_inside_the_stream_is_retried(server: WireServer) -> None:
    server.stream_error("overloaded_error").reply("ok")

    assert (await client(anthropic_provider(server)).complete(ask())).text == "ok"
    assert len(server.requests) == 2


async def test_anthropic_invalid_request_inside_the_stream_is_not_retried(server: WireServer) -> None:
    server.stream_error("invalid_request_error", message="bad request")

    with pytest.raises(ProviderError, match="HTTP 400") as caught:
        await client(anthropic_provider(server)).complete(ask())
    assert not isinstance(caught.value, TransientProviderError)
    assert len(server.requests) == 1


async def test_anthropic_stalled_stream_is_detected_and_retried(server: WireServer) -> None:
    server.stall(seconds=10, after=3).reply("unstuck")

    assert (await client(anthropic_provider(server)).complete(ask())).text == "unstuck"
    assert STALL <= server.requests[1].at - server.requests[0].at < STALL + 1.0


async def test_anthropic_401_names_the_env_var_and_hides_the_key(server: WireServer) -> None:
    server.status(401, f"invalid x-api-key {KEY}")

    with pytest.raises(ProviderError) as caught:
        await client(anthropic_provider(server)).complete(ask())

    assert "ANTHROPIC_API_KEY" in str(caught.value) and KEY not in str(caught.value)
    assert len(server.requests) == 1


def test_anthropic_missing_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        AnthropicProvider("claude-test", LLMSettings(), None)
