"""The embedded local model: known GGUF files assembled from PyPI parts and verified, run by llama.cpp.

Importing the package is cheap (llama.cpp loads only when a model does): the names below load their
modules on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "LocalProvider": "agentco.llm.local.provider",
    "MODELS": "agentco.llm.local.models",
    "ModelSpec": "agentco.llm.local.models",
    "get_spec": "agentco.llm.local.models",
    "ModelFetchError": "agentco.llm.local.assemble",
    "ModelIntegrityError": "agentco.llm.local.assemble",
    "check_gguf": "agentco.llm.local.assemble",
    "is_verified": "agentco.llm.local.assemble",
    "verify": "agentco.llm.local.assemble",
    "ModelStatus": "agentco.llm.local.store",
    "default_models_dir": "agentco.llm.local.store",
    "list_models": "agentco.llm.local.store",
    "pull": "agentco.llm.local.store",
    "resolve": "agentco.llm.local.store",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = list(_EXPORTS)
