"""Turns a ``provider:model`` string and settings into a provider; SDKs load lazily."""

from __future__ import annotations

import os
from pathlib import Path

from agentco.config import DEFAULT_LOCAL_MODEL, LLMSettings
from agentco.errors import ConfigError
from agentco.llm.base import ModelRef, Provider, import_object, parse_model_string
from agentco.llm.guard import check_allowed
from agentco.llm.http import OPENAI_COMPATIBLE

# provider -> "module:Class" of its provider, imported only when a model of it is made
PROVIDERS: dict[str, str] = {
    **dict.fromkeys(OPENAI_COMPATIBLE, "agentco.llm.openai_compat:OpenAICompatProvider"),
    "anthropic": "agentco.llm.anthropic:AnthropicProvider",
    "local": "agentco.llm.local.provider:LocalProvider",
    "fake": "agentco.llm.fake:FunctionModel",
}
IN_PROCESS = {"local", "fake"}
"""Providers that never touch the network, so the request guard lets them through."""


def resolve_model(settings: LLMSettings, environ: dict[str, str] | None = None) -> tuple[ModelRef, str | None]:
    """Which model to use, and a one-line notice when it was chosen for the user."""
    environ = dict(os.environ) if environ is None else environ
    if settings.model:
        return parse_model_string(settings.model, settings.api_type or "openai"), None
    if settings.api_type and settings.api_type != "local":
        raise ConfigError(f"llm.api_type is {settings.api_type!r} but llm.model is not set", key="llm.model")
    if environ.get("OPENAI_API_KEY"):
        return ModelRef("openai", "gpt-4o-mini"), None
    if environ.get("ANTHROPIC_API_KEY"):
        return ModelRef("anthropic", "claude-sonnet-4-5"), None
    ref = parse_model_string(DEFAULT_LOCAL_MODEL)
    notice = (
        f"No API key or model configured: using the embedded local model {ref}. "
        "Set OPENAI_API_KEY / ANTHROPIC_API_KEY or `llm.model` (agentco init-config) for a hosted one."
    )
    return ref, notice


def create_provider(ref: ModelRef, settings: LLMSettings, *, models_dir: Path | None = None) -> Provider:
    target = PROVIDERS.get(ref.provider)
    if target is None:
        known = ", ".join(sorted(PROVIDERS))
        raise ConfigError(f"unknown provider {ref.provider!r} (known: {known})", key="llm.model")
    if ref.provider not in IN_PROCESS:
        check_allowed(ref)
    return import_object(target).from_settings(ref, settings, models_dir=models_dir)
