"""Turns a ``provider:model`` string and settings into a provider; SDKs load lazily."""

from __future__ import annotations

import os
from pathlib import Path

from agentco.config import DEFAULT_LOCAL_MODEL, LLMSettings
from agentco.errors import ConfigError
from agentco.llm.base import ModelRef, Provider, parse_model_string
from agentco.llm.guard import check_allowed

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


def api_key_for(ref: ModelRef, settings: LLMSettings, environ: dict[str, str] | None = None) -> str | None:
    if settings.api_key is not None:
        return settings.api_key.get_secret_value()
    env_name = KEY_ENV.get(ref.provider)
    environ = os.environ if environ is None else environ
    return environ.get(env_name) if env_name else None


def create_provider(ref: ModelRef, settings: LLMSettings, *, models_dir: Path | None = None) -> Provider:
    if ref.provider == "fake":
        from agentco.testing.company import fake_provider

        return fake_provider(ref.model)
    if ref.provider == "local":
        from agentco.llm.local import LocalProvider

        return LocalProvider(ref.model, settings, models_dir=models_dir)
    if ref.provider not in OPENAI_COMPATIBLE and ref.provider != "anthropic":
        known = ", ".join(sorted([*OPENAI_COMPATIBLE, "anthropic", "local", "fake"]))
        raise ConfigError(f"unknown provider {ref.provider!r} (known: {known})", key="llm.model")
    check_allowed(ref)
    if ref.provider == "anthropic":
        from agentco.llm.anthropic import AnthropicProvider

        return AnthropicProvider(ref.model, settings, api_key_for(ref, settings))
    from agentco.llm.openai_compat import OpenAICompatProvider

    default_url, _ = OPENAI_COMPATIBLE[ref.provider]
    return OpenAICompatProvider(
        ref.provider, ref.model, settings, api_key_for(ref, settings), settings.base_url or default_url
    )
