"""Model clients built from settings: provider, meter, retries, timeout, replay cache, observer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentco.config import Settings
from agentco.llm.base import ModelRef
from agentco.llm.client import CallCache, CallObserver, LLMClient

LOCAL_TIMEOUT, HOSTED_TIMEOUT = 900.0, 120.0
"""Seconds per call when ``llm.timeout`` is unset: a local model on two cores writes ~12 tokens/s."""


def open_client(
    settings: Settings,
    *,
    cache: CallCache | None = None,
    observer: CallObserver | None = None,
    replay: tuple[ModelRef, str] | None = None,
    ready: bool = True,
) -> tuple[LLMClient, str | None]:
    """The run's client and, when the model was chosen for the user, a notice saying so.

    ``replay`` (the model to impersonate, the run id) serves stored responses instead of a model.
    ``ready`` fetches and loads a local model now (``prepare``)."""
    from agentco.llm.meter import Meter
    from agentco.llm.registry import create_provider, resolve_model
    from agentco.llm.retry import RetryPolicy

    ref, notice = resolve_model(settings.llm)
    if replay is not None:
        from agentco.llm.replay import ReplayProvider

        provider: Any = ReplayProvider(replay[0], replay[1])
        notice = None
    else:
        provider = create_provider(ref, settings.llm, models_dir=settings.models_dir.expanduser())
    meter = Meter(max_budget=settings.max_budget, max_tokens=settings.max_tokens, custom_prices=dict(settings.prices))
    timeout = settings.llm.timeout or (LOCAL_TIMEOUT if ref.provider == "local" else HOSTED_TIMEOUT)
    retry = RetryPolicy(max_retries=settings.llm.max_retries)
    llm = LLMClient(provider, meter, retry, timeout, cache, observer)
    if ready:
        prepare(llm)
    return llm, notice


def check_model(settings: Settings) -> None:
    """Raise the ConfigError an unknown provider or model, or a missing key, would raise later."""
    from agentco.llm.registry import create_provider, resolve_model

    ref, _ = resolve_model(settings.llm)
    create_provider(ref, settings.llm, models_dir=settings.models_dir.expanduser())


def prepare(llm: LLMClient) -> None:
    """Fetch and load a local model now, outside any call's timeout (other providers: nothing)."""
    if hasattr(llm.provider, "ensure_ready"):
        llm.provider.ensure_ready()


def role_clients(settings: Settings, llm: LLMClient) -> Callable[[str], LLMClient | None]:
    """Each role's own model where ``roles:`` gives one (sharing the run's meter and cache), else None."""
    from agentco.llm.registry import create_provider, resolve_model

    def llm_for(role: str) -> LLMClient | None:
        if role not in settings.roles:
            return None
        role_settings = settings.llm_for(role)
        role_ref = resolve_model(role_settings)[0]
        return llm.with_provider(create_provider(role_ref, role_settings, models_dir=settings.models_dir.expanduser()))

    return llm_for
