"""What the hosted providers share: where each one is and which variable holds its key, and how an
HTTP exchange is judged (Retry-After, stall timeouts, HTTP status -> agentco error), so every
provider maps failures the same way.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import sys
from collections.abc import Awaitable, Mapping
from datetime import UTC, datetime
from typing import TypeVar

from agentco.config import LLMSettings
from agentco.errors import PromptTooLong, ProviderError, TransientProviderError
from agentco.llm.base import ModelRef

T = TypeVar("T")

# provider -> (default base_url, environment variable with its key)
OPENAI_COMPATIBLE: dict[str, tuple[str | None, str | None]] = {
    "openai": (None, "OPENAI_API_KEY"),
    "azure": (None, "AZURE_OPENAI_API_KEY"),
    "ollama": ("http://localhost:11434/v1", None),
    "vllm": ("http://localhost:8000/v1", None),
    "llamacpp": ("http://localhost:8080/v1", None),
    "deepseek": ("https://api.deepseek.com", "DEEPSEEK_API_KEY"),
    "dashscope": ("https://dashscope.aliyuncs.com/compatible-mode/v1", "DASHSCOPE_API_KEY"),
    "groq": ("https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    "openrouter": ("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    "gemini": ("https://generativelanguage.googleapis.com/v1beta/openai/", "GEMINI_API_KEY"),
}
KEY_ENV = {name: env for name, (_, env) in OPENAI_COMPATIBLE.items() if env}
KEY_ENV["anthropic"] = "ANTHROPIC_API_KEY"

_TOO_LONG_HINTS = (
    "context_length_exceeded",
    "context length",
    "context window",
    "maximum context",
    "prompt is too long",
    "too many tokens",
    "reduce the length",
)


def api_key_for(ref: ModelRef, settings: LLMSettings, environ: Mapping[str, str] | None = None) -> str | None:
    if settings.api_key is not None:
        return settings.api_key.get_secret_value()
    env_name = KEY_ENV.get(ref.provider)
    environ = os.environ if environ is None else environ
    return environ.get(env_name) if env_name else None


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """The wait a 429/5xx asks for: ``retry-after-ms``, or ``Retry-After`` in seconds or as an HTTP date."""
    if not headers:
        return None
    if millis := headers.get("retry-after-ms"):
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


async def within(awaitable: Awaitable[T], seconds: float, waiting_for: str) -> T:
    """Await, or raise a retryable "stream stalled" error when nothing comes for ``seconds``."""
    deadline = asyncio.timeout(seconds)
    try:
        async with deadline:
            return await awaitable
    except TimeoutError:
        if not deadline.expired():
            raise
        raise TransientProviderError(f"stream stalled: no {waiting_for} for {seconds:g}s") from None


def transport_errors() -> tuple[type[BaseException], ...]:
    """Connection/read errors of whichever HTTP library the SDK loaded; a few surface unwrapped mid-stream."""
    return tuple(module.TransportError for name in ("httpx2", "httpx") if (module := sys.modules.get(name)))


def redact(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


def error_detail(body: object, fallback: str) -> str:
    """The human part of a provider's error body (OpenAI and Anthropic nest it under ``error``)."""
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and isinstance(inner.get("message"), str):
            return inner["message"][:500]
    if isinstance(body, str) and body.strip():
        return body.strip()[:500]
    return fallback[:500]


def status_error(
    who: str,
    model: str,
    status: int,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    key_env: str | None = None,
    code: str | None = None,
) -> ProviderError | PromptTooLong:
    """Map an HTTP error answer to agentco's errors: what is worth retrying, what the user must fix."""
    if status == 429 and code != "insufficient_quota":  # an empty account is a 429 that waiting does not fix
        return TransientProviderError(
            f"{who} rate limit (HTTP 429): {detail}", retry_after=retry_after_seconds(headers)
        )
    if status >= 500 or status == 408:
        return TransientProviderError(
            f"{who} server error (HTTP {status}): {detail}", retry_after=retry_after_seconds(headers)
        )
    if status in (401, 403):
        where = f"set {key_env} (or llm.api_key)" if key_env else "check llm.api_key"
        return ProviderError(f"{who} refused the credentials (HTTP {status}): {detail}. To fix the API key, {where}.")
    if status == 404:
        return ProviderError(
            f"{who} has no model {model!r} (HTTP 404; check the model name and llm.base_url): {detail}"
        )
    if status in (400, 413, 422) and looks_too_long(f"{code or ''} {detail}"):
        return PromptTooLong(f"the prompt does not fit {who} model {model!r}: {detail}")
    return ProviderError(f"{who} rejected the request (HTTP {status}): {detail}")


def looks_too_long(text: str) -> bool:
    text = text.lower()
    return any(hint in text for hint in _TOO_LONG_HINTS)
