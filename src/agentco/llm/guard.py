"""A switch that makes any real network model call fail (set while tests run)."""

from __future__ import annotations

import os

from agentco.errors import ModelRequestsBlocked
from agentco.llm.base import ModelRef

ENV_VAR = "AGENTCO_ALLOW_MODEL_REQUESTS"


def requests_allowed() -> bool:
    return os.environ.get(ENV_VAR, "1").lower() not in {"0", "false", "no"}


def check_allowed(ref: ModelRef) -> None:
    """Raise when network model requests are disabled. Local and fake models are always allowed."""
    if not requests_allowed():
        raise ModelRequestsBlocked(
            f"real model request to {ref} blocked: {ENV_VAR} is off (tests must use fake models)"
        )
