"""Language toolchains behind one interface; ``get_toolchain("python")`` picks one."""

from __future__ import annotations

import importlib
from typing import Any

from agentco.errors import ConfigError
from agentco.lang.base import (
    Dropped,
    EntryPoint,
    EnvResult,
    LanguageToolchain,
    TestCase,
    TestPlanLike,
    TestReport,
    TestScope,
)

_TOOLCHAINS = {"python": "agentco.lang.python:PythonToolchain"}


def get_toolchain(name: str, **options: Any) -> LanguageToolchain:
    target = _TOOLCHAINS.get(name.strip().lower())
    if target is None:
        raise ConfigError(f"no toolchain for language {name!r}; known: {', '.join(sorted(_TOOLCHAINS))}")
    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr)(**options)


__all__ = [
    "Dropped",
    "EntryPoint",
    "EnvResult",
    "LanguageToolchain",
    "TestCase",
    "TestPlanLike",
    "TestReport",
    "TestScope",
    "get_toolchain",
]
