"""Secrets never reach the run store: credential-like options are dropped, API keys blanked out."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SECRET_KEY_WORDS = ("key", "token", "secret", "password")
REDACTED = "[redacted]"


SECRET_SHAPES = re.compile(
    r"\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}"  # OpenAI, Anthropic
    r"|AKIA[0-9A-Z]{16}"  # AWS access key id
    r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"  # GitHub
    r"|xox[abprs]-[A-Za-z0-9-]{10,}"  # Slack
    r"|AIza[0-9A-Za-z_-]{35}"  # Google
    r"|hf_[A-Za-z0-9]{30,})"  # Hugging Face
)
"""Credentials recognisable by their shape alone, wherever a user pastes them."""


def redact_secret_shapes(text: str) -> tuple[str, int]:
    """``text`` with every credential-shaped token (and any set ``*_API_KEY`` value) replaced by
    ``[redacted]``, and how many were replaced."""
    text, count = SECRET_SHAPES.subn(REDACTED, text)
    for secret in secret_env_values():
        count += text.count(secret)
        text = text.replace(secret, REDACTED)
    return text, count


def secret_env_values() -> list[str]:
    # Short values would blank out ordinary words; real API keys are long.
    return [v for k, v in os.environ.items() if k.upper().endswith("_API_KEY") and len(v) >= 8]


def redact(text: str | None) -> str | None:
    if text is None:
        return None
    for secret in secret_env_values():
        text = text.replace(secret, REDACTED)
    return text


def clean_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options with anything credential-like removed, ready to be stored as JSON.

    Dropped: string values under a key containing key/token/secret/password, pydantic secret
    values, and any string containing the value of a set ``*_API_KEY`` environment variable.
    """
    env_secrets = secret_env_values()
    dropped: list[str] = []

    def is_secret(key: str, value: Any) -> bool:
        if hasattr(value, "get_secret_value"):
            return True
        if not isinstance(value, str):
            return False
        return any(word in key.lower() for word in SECRET_KEY_WORDS) or any(s in value for s in env_secrets)

    def clean(value: Any, where: str) -> Any:
        if isinstance(value, Mapping):
            out = {}
            for key, item in value.items():
                name = f"{where}.{key}" if where else str(key)
                if is_secret(str(key), item):
                    dropped.append(name)
                else:
                    out[str(key)] = clean(item, name)
            return out
        if isinstance(value, list | tuple):
            kept = [item for item in value if not is_secret("", item)]
            if len(kept) < len(value):
                dropped.append(where)
            return [clean(item, where) for item in kept]
        if isinstance(value, Path):
            return str(value)
        return value

    cleaned = clean(options, "")
    if dropped:
        log.warning("not storing secret-looking run options: %s", ", ".join(dropped))
    return cleaned


def options_json(options: Mapping[str, Any]) -> str:
    try:
        return json.dumps(clean_options(options), sort_keys=True, ensure_ascii=False)
    except TypeError as exc:
        raise TypeError(f"run options must be JSON values (needed to resume the run): {exc}") from None
