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
    from agentco.errors import ConfigError

    for key, value in [("llm.model", model), *overrides.items()]:
        if isinstance(value, str | Path) and not str(value).strip():  # an explicit empty value is no choice
            raise ConfigError("an empty value is not a choice: leave the option out to use the configured one", key=key)
    layer: dict[str, Any] = {key: value for key, value in overrides.items() if value is not None}
    if model:
        layer["llm"] = {"model": model}
    if isinstance(layer.get("workspace"), Path):
        layer["workspace"] = str(layer["workspace"])
    return load_settings(layer)


def redacted(text: str, what: str) -> str:
    """``text`` with key-shaped values replaced by [redacted], warning the user when there were any."""
    from agentco.store.redact import redact_secret_shapes

    text, secrets = redact_secret_shapes(text)
    if secrets:
        err_console().print(
            f"[yellow]warning: the {what} held {secrets} value(s) shaped like an API key or token; each is "
            "replaced by \\[redacted] and is neither sent to a model nor stored. Keep keys in the environment.[/]"
        )
    return text


def exit_code_for(exc: BaseException) -> int:
    for cls in type(exc).__mro__:
        if cls.__name__ in EXIT_CODES:
            return EXIT_CODES[cls.__name__]
    return 1


def hide_flag_types() -> None:
    """Show no value type beside an option that takes no value (``--force``, ``--quiet``, ``--help``).

    typer 0.29's rich help asks every option for ``display_type_rich``, flags included, and so prints
    ``<bool>`` beside them; 0.28 skipped any type naming bool, and typer's plain help still skips flags
    and counts. Idempotent; a typer without that method is left as it is.
    """
    from typer.core import TyperOption

    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None or shown.__name__ == "_no_type_for_flags":
        return

    def _no_type_for_flags(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag or self.count else shown(self, ctx)

    TyperOption.display_type_rich = _no_type_for_flags  # type: ignore[method-assign]
