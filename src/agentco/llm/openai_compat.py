"""OpenAI's chat-completions API and the servers that copy it: Azure, DeepSeek, Gemini, Ollama, vLLM, ..."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agentco.config import LLMSettings
from agentco.errors import ConfigError, PromptTooLong, TransientProviderError
from agentco.llm.base import ChatRequest, Completion, ModelRef, TokenSink, Usage
from agentco.llm.http import (
    KEY_ENV,
    OPENAI_COMPATIBLE,
    api_key_for,
    error_detail,
    looks_too_long,
    redact,
    status_error,
    transport_errors,
    within,
)

LOCAL_SERVERS = {"ollama", "vllm", "llamacpp"}
# Known to reject response_format type "json_schema": they get "json_object" (the caller puts the
# schema in the prompt). Any other server that rejects it is switched over at its first refusal.
JSON_OBJECT_ONLY = {"deepseek", "dashscope"}


def _without(params: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k != name}


def _is_loopback(base_url: str | None) -> bool:
    host = urlsplit(base_url).hostname if base_url else None
    return host in {"localhost", "127.0.0.1", "::1"}


# -- the provider ------------------------------------------------------------------------------------
class OpenAICompatProvider:
    """Streams chat completions through the ``openai`` SDK; agentco's LLMClient does the retries."""

    def __init__(
        self, provider_name: str, model: str, settings: LLMSettings, api_key: str | None, base_url: str | None
    ):
        self.provider, self.model = provider_name, model
        self._stall = settings.stall_timeout
        self._key_env = KEY_ENV.get(provider_name)
        self._secret = api_key
        if not api_key:
            if provider_name not in LOCAL_SERVERS and not _is_loopback(base_url):
                where = f"set {self._key_env} or llm.api_key" if self._key_env else "set llm.api_key"
                raise ConfigError(f"{provider_name} needs an API key: {where}", key="llm.api_key")
            api_key = "unused"  # local servers ignore it, but the SDK insists on one
        # What this server accepts; a feature it refuses is turned off at its first 400 (see _without_rejected).
        self._json_schema_ok = provider_name not in JSON_OBJECT_ONLY
        self._stream_options_ok = True
        self._temperature_ok = True
        self._seed_ok = True
        # OpenAI's reasoning models refuse max_tokens; most compatible servers only know max_tokens.
        self._limit_param = "max_completion_tokens" if provider_name == "openai" and not base_url else "max_tokens"

        import openai  # a core dependency, but a heavy import: only when a provider is made

        self._sdk = openai
        common: dict[str, Any] = {"api_key": api_key, "timeout": settings.timeout or 120.0, "max_retries": 0}
        if provider_name == "azure":
            endpoint = base_url or os.environ.get("AZURE_OPENAI_ENDPOINT")
            version = settings.api_version or os.environ.get("OPENAI_API_VERSION")
            if not endpoint:
                raise ConfigError(
                    "Azure OpenAI needs the resource endpoint (https://NAME.openai.azure.com)", key="llm.base_url"
                )
            if not version:
                raise ConfigError("Azure OpenAI needs an API version, e.g. 2024-10-21", key="llm.api_version")
            # The model name is the deployment name: the SDK routes to /openai/deployments/{model}/...
            self._client: Any = openai.AsyncAzureOpenAI(azure_endpoint=endpoint, api_version=version, **common)
        else:
            self._client = openai.AsyncOpenAI(base_url=base_url, **common)

    @classmethod
    def from_settings(
        cls, ref: ModelRef, settings: LLMSettings, *, models_dir: Path | None = None
    ) -> OpenAICompatProvider:
        default_url, _ = OPENAI_COMPATIBLE[ref.provider]
        return cls(ref.provider, ref.model, settings, api_key_for(ref, settings), settings.base_url or default_url)

    async def complete(self, request: ChatRequest, on_token: TokenSink | None = None) -> Completion:
        params = self._params(request)
        while True:
            try:
                return await self._stream(params, request, on_token)
            except self._sdk.BadRequestError as exc:
                lighter = self._without_rejected(params, exc)
                if lighter is None:
                    raise self._mapped(exc) from None
                params = lighter
            except (self._sdk.OpenAIError, *transport_errors()) as exc:
                raise self._mapped(exc) from (None if isinstance(exc, self._sdk.APIStatusError) else exc)

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        params: dict[str, Any] = {"model": self.model, "messages": request.messages, "stream": True}
        params[self._limit_param] = request.max_tokens
        if self._temperature_ok:
            params["temperature"] = request.temperature
        if request.seed is not None and self._seed_ok:
            params["seed"] = request.seed
        if self._stream_options_ok:
            params["stream_options"] = {"include_usage": True}
        if request.json_schema is not None:
            if self._json_schema_ok:
                schema = {"name": request.schema_name, "schema": request.json_schema, "strict": False}
                params["response_format"] = {"type": "json_schema", "json_schema": schema}
            else:
                params["response_format"] = {"type": "json_object"}
        return params

    def _without_rejected(self, params: dict[str, Any], exc: Exception) -> dict[str, Any] | None:
        """The request without an optional feature this server refused, or None when it refused something else."""
        said = f"{getattr(exc, 'param', '') or ''} {getattr(exc, 'message', '')}".lower()
        if "stream_options" in said and "stream_options" in params:
            self._stream_options_ok = False
            return _without(params, "stream_options")
        if "temperature" in said and "temperature" in params:  # reasoning models take only their default
            self._temperature_ok = False
            return _without(params, "temperature")
        if "seed" in said and "seed" in params:  # a retry still differs by its feedback and temperature
            self._seed_ok = False
            return _without(params, "seed")
        if "max_tokens" in said and "max_completion_tokens" in said and "max_tokens" in params:
            self._limit_param = "max_completion_tokens"
            return {**_without(params, "max_tokens"), "max_completion_tokens": params["max_tokens"]}
        sent_schema = params.get("response_format", {}).get("type") == "json_schema"
        if sent_schema and ("json_schema" in said or "response_format" in said):
            self._json_schema_ok = False
            return {**params, "response_format": {"type": "json_object"}}
        return None

    async def _stream(self, params: dict[str, Any], request: ChatRequest, on_token: TokenSink | None) -> Completion:
        stream = await within(self._client.chat.completions.create(**params), self._stall, "response")
        parts: list[str] = []
        usage: Usage | None = None
        finish: str | None = None
        try:
            chunks = aiter(stream)
            while (chunk := await within(anext(chunks, None), self._stall, "token")) is not None:
                if chunk.usage is not None:
                    usage = Usage(chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0)
                for choice in chunk.choices or ():
                    if (choice.index or 0) != 0:
                        continue
                    if text := choice.delta.content if choice.delta else None:
                        parts.append(text)
                        if on_token is not None:
                            on_token(text)
                    finish = choice.finish_reason or finish
        finally:
            await stream.close()
        if finish is None:
            raise TransientProviderError(f"{self.provider} stream ended before the answer was complete")
        text = "".join(parts)
        if usage is None:
            # The server sent no usage (it ignores stream_options): estimate about 4 characters a
            # token, so budgets and cost reports still move rather than reading zero.
            usage = Usage(math.ceil(request.prompt_chars() / 4), math.ceil(len(text) / 4))
        return Completion(text, usage, self.model, finish)

    def _mapped(self, exc: Exception) -> Exception:
        sdk = self._sdk
        if isinstance(exc, sdk.APIStatusError):
            detail = redact(error_detail(exc.body, exc.message), self._secret)
            return status_error(
                self.provider,
                self.model,
                exc.status_code,
                detail,
                headers=exc.response.headers,
                key_env=self._key_env,
                code=exc.code,
            )
        if isinstance(exc, sdk.APITimeoutError):
            return TransientProviderError(f"{self.provider} request timed out")
        if isinstance(exc, (sdk.APIConnectionError, *transport_errors())):
            cause = exc.__cause__ or exc
            return TransientProviderError(
                f"{self.provider} connection to {self._client.base_url} failed: {type(cause).__name__}: {cause}"
            )
        # An error object sent inside a 200 stream (vLLM and others do this for server-side failures).
        detail = redact(error_detail(getattr(exc, "body", None), str(exc)), self._secret)
        if looks_too_long(detail):
            return PromptTooLong(f"the prompt does not fit {self.provider} model {self.model!r}: {detail}")
        return TransientProviderError(f"{self.provider} failed mid-stream: {detail}")
