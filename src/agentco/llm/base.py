"""The small interface every model backend implements."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

TokenSink = Callable[[str], None]
"""Receives text as the model writes it (streaming)."""


@dataclass
class ChatRequest:
    """One chat-completion request, independent of the backend."""

    messages: list[dict[str, str]]
    temperature: float = 0.2
    max_tokens: int = 2048
    json_schema: dict[str, Any] | None = None
    schema_name: str = "output"
    seed: int | None = None
    """Sampling seed where the backend takes one; None leaves the backend's own choice."""

    def key_material(self) -> dict[str, Any]:
        """What identifies this request for caching/replay (never any secret).

        The seed is there only when set, so unseeded requests keep the keys they had before seeds.
        """
        material: dict[str, Any] = {
            "messages": self.messages,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "json_schema": self.json_schema,
        }
        if self.seed is not None:
            material["seed"] = self.seed
        return material

    def prompt_chars(self) -> int:
        return sum(len(m["content"]) for m in self.messages)


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class Completion:
    text: str
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    finish_reason: str | None = None
    replayed: bool = False


class Provider(Protocol):
    """A model backend. ``complete`` streams to ``on_token`` when it is given.

    Implementations raise ``TransientProviderError`` for failures worth retrying
    and ``ProviderError``/``PromptTooLong`` for the rest; they do not retry themselves.
    A class named in ``registry.PROVIDERS`` is built by its classmethod
    ``from_settings(ref, settings, *, models_dir=None)``.
    """

    provider: str
    model: str

    async def complete(self, request: ChatRequest, on_token: TokenSink | None = None) -> Completion: ...


@dataclass(frozen=True)
class ModelRef:
    provider: str
    model: str

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}"


def parse_model_string(spec: str, default_provider: str = "openai") -> ModelRef:
    """``openai:gpt-4o`` -> (openai, gpt-4o); ``ollama:qwen2.5-coder:7b`` keeps the tag."""
    provider, sep, model = spec.partition(":")
    if not sep:
        return ModelRef(default_provider, spec)
    if not provider or not model:
        from agentco.errors import ConfigError

        raise ConfigError(f"model {spec!r} must look like provider:model")
    return ModelRef(provider.lower(), model)


def import_object(target: str) -> Any:
    """The object a ``"module:attr"`` string names, importing the module now (lazy tables hold such strings)."""
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)
