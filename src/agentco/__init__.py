"""agentco: a team of LLM agents that works like a small software company.

Importing the package is cheap: the names below load their modules on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Message": "agentco.core.message",
    "Action": "agentco.core.action",
    "Role": "agentco.core.role",
    "Environment": "agentco.core.environment",
    "Team": "agentco.core.team",
    "Settings": "agentco.config",
    "load_settings": "agentco.config",
    "LLMClient": "agentco.llm.client",
    "ScriptedModel": "agentco.llm.fake",
    "FunctionModel": "agentco.llm.fake",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentco' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = ["__version__", *_EXPORTS]
