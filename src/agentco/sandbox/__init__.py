"""Running untrusted generated code: bubblewrap confinement, resource limits, capped output."""

from agentco.sandbox.bwrap import (
    Confined,
    SandboxResult,
    SandboxUnavailable,
    confine,
    ensure_available,
    is_available,
    run_sandboxed,
    sandbox_mode,
)

__all__ = [
    "Confined",
    "SandboxResult",
    "SandboxUnavailable",
    "confine",
    "ensure_available",
    "is_available",
    "run_sandboxed",
    "sandbox_mode",
]
