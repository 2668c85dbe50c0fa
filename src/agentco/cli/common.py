"""Shared CLI helpers: settings from flags, consoles, error exits."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from agentco.config import Settings

EXIT_CODES = {"ConfigError": 2, "MissingExtraError": 2, "BudgetExceeded": 3}


def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def settings_from_cli(model: str | None = None, **overrides: Any) -> Settings:
    """Load every config layer, with the flags that were actually given on top."""
    from agentco.config import load_settings

    layer: dict[str, Any] = {key: value for key, value in overrides.items() if value is not None}
    if model:
        layer["llm"] = {"model": model}
    if isinstance(layer.get("workspace"), Path):
        layer["workspace"] = str(layer["workspace"])
    return load_settings(layer)


def exit_code_for(exc: BaseException) -> int:
    for cls in type(exc).__mro__:
        if cls.__name__ in EXIT_CODES:
            return EXIT_CODES[cls.__name__]
    return 1
