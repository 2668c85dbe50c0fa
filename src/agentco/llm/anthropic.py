"""Anthropic's Messages API through the ``anthropic`` SDK (the ``agentco[anthropic]`` extra)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentco.config import LLMSettings
from agentco.errors import ConfigError, MissingExtraError, ProviderError, TransientProviderError
from agentco.llm.base import ChatRequest, Completion, ModelRef, TokenSink, Usage
from agentco.llm.http import KEY_ENV as _KEY_ENVS
from agentco.llm.http import api_key_for, error_detail, redact, status_error, transport_errors, within

KEY_ENV = _KEY_ENVS["anthropic"]
# Stop reasons in the vocabulary the rest of agentco uses (OpenAI's).
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "stop", "max_tokens": "length"}
# Error types an event inside a 200 stream can carry, as the HTTP status they stand for.
_STREAM_ERROR_STATUS = {
    "overloaded_error": 529,
    "api_error": 500,
    "rate_limit_error": 429,
    "invalid_request_error": 400,
    "request_too_large": 413,
    "not_found_error": 404,
    "authentication_error": 401,
    "permission_error": 403,
}


class AnthropicProvider:
    """Streams messages; structured output is a forced tool call whose input is the answer."""

    provider = "anthropic"

    def __init__(self, model: str, settings: LLMSettings, api_key: str | None):
        try:
            import anthropic
        except ImportError:
            raise MissingExtraError("anthropic", "anthropic") from None
        if not api_key:
            raise ConfigError(f"anthropic needs an API key: set {KEY_ENV} or llm.api_key", key="llm.api_key")
        self.model = model
        self._sdk = anthropic
        self._secret = api_key
        self._stall = settings.stall_timeout
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=settings.base_url, timeout=settings.timeout or 120.0, max_retries=0
        )

    @classmethod
    def from_settings(
        cls, ref: ModelRef, settings: LLMSettings, *, models_dir: Path | None = None
    ) -> AnthropicProvider:
        return cls(ref.model, settings, api_key_for(ref, settings))

    async def complete(self, request: ChatRequest, on_token: TokenSink | None = None) -> Completion:
        try:
            return await self._stream(self._params(request), on_token)
        except (self._sdk.AnthropicError, *transport_errors()) as exc:
            raise self._mapped(exc) from (None if isinstance(exc, self._sdk.APIStatusError) else exc)

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        system = "\n\n".join(m["content"] for m in request.messages if m["role"] == "system")
        messages = [{"role": m["role"], "content": m["content"]} for m in request.messages if m["role"] != "system"]
        # No temperature: API version 2026-10-21 (anthropic SDK 2.x) rejects sampling parameters
        # on every model, and the newest models reject them on the older version too.
        params: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "stream": True,
        }
        if system:
            params["system"] = system
        if request.json_schema is not None:
            tool = {
                "name": request.schema_name,
                "description": "Give your answer by calling this tool; its input is the answer.",
                "input_schema": request.json_schema,
            }
            params["tools"] = [tool]
            params["tool_choice"] = {"type": "tool", "name": request.schema_name}
        return params

    async def _stream(self, params: dict[str, Any], on_token: TokenSink | None) -> Completion:
        stream = await within(self._client.messages.create(**params), self._stall, "response")
        text: list[str] = []
        tool_json: list[str] = []
        tool_input: Any = None
        usage = Usage()
        stop: str | None = None
        finished = False
        try:
            events = aiter(stream)
            while (event := await within(anext(events, None), self._stall, "token")) is not None:
                if event.type == "message_start":
                    usage = _usage(event.message.usage, usage)
                elif event.type == "content_block_start" and event.content_block.type == "tool_use":
                    tool_input = event.content_block.input
                elif event.type == "content_block_delta":
                    piece = _delta_text(event.delta, text, tool_json)
                    if piece and on_token is not None:
                        on_token(piece)
                elif event.type == "message_delta":
                    stop = event.delta.stop_reason or stop
                    usage = _usage(event.usage, usage)
                elif event.type == "message_stop":
                    finished = True
        finally:
            await stream.close()
        if not finished:
            raise TransientProviderError("anthropic stream ended before the answer was complete")
        called_tool = bool(tool_json) or tool_input is not None
        answer = _tool_answer("".join(tool_json), tool_input) if called_tool else "".join(text)
        return Completion(answer, usage, self.model, _FINISH.get(stop or "", stop))

    def _mapped(self, exc: Exception) -> Exception:
        sdk = self._sdk
        if isinstance(exc, sdk.APIStatusError):
            detail = redact(error_detail(exc.body, exc.message), self._secret)
            status = exc.status_code
            if status < 400:  # an ``error`` event inside a 200 stream: its type tells what happened
                kind = _error_type(exc.body)
                status = _STREAM_ERROR_STATUS.get(kind or "", 500)
            return status_error("anthropic", self.model, status, detail, headers=exc.response.headers, key_env=KEY_ENV)
        if isinstance(exc, sdk.APITimeoutError):
            return TransientProviderError("anthropic request timed out")
        if isinstance(exc, (sdk.APIConnectionError, *transport_errors())):
            cause = exc.__cause__ or exc
            return TransientProviderError(
                f"anthropic connection to {self._client.base_url} failed: {type(cause).__name__}: {cause}"
            )
        detail = redact(str(exc), self._secret)
        return ProviderError(f"anthropic failed: {detail}")


def _usage(reported: Any, previous: Usage) -> Usage:
    """Usage from message_start or message_delta; the delta's counts are running totals."""
    if reported is None:
        return previous
    prompt = getattr(reported, "input_tokens", None)
    if prompt is not None:
        # Cached prompt tokens are reported apart from input_tokens; they were still read.
        prompt += (getattr(reported, "cache_creation_input_tokens", None) or 0) + (
            getattr(reported, "cache_read_input_tokens", None) or 0
        )
    completion = getattr(reported, "output_tokens", None)
    return Usage(
        previous.prompt_tokens if prompt is None else prompt,
        previous.completion_tokens if completion is None else completion,
    )


def _delta_text(delta: Any, text: list[str], tool_json: list[str]) -> str:
    if delta.type == "text_delta":
        text.append(delta.text)
        return delta.text
    if delta.type == "input_json_delta":
        tool_json.append(delta.partial_json)
        return delta.partial_json
    return ""  # thinking and signature deltas are not part of the answer


def _tool_answer(raw: str, start_input: Any) -> str:
    """The tool input as JSON text. Cut-off JSON (max_tokens) is returned as is, for validation to report."""
    if not raw.strip():
        return json.dumps(start_input if start_input is not None else {})
    try:
        return json.dumps(json.loads(raw))
    except ValueError:
        return raw


def _error_type(body: object) -> str | None:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("type"), str):
            return inner["type"]
    return None
