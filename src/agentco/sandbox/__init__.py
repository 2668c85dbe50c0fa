"""Running untrusted generated code: bubblewrap confinement, resource limits, capped output."""

from agentco.sandbox.bwrap import (
    SandboxResult,
    SandboxUnavailable,
    ensure_available,
    is_available,
    run_sandboxed,
    sandbox_mode,
)

__all__ = ["SandboxResult", "SandboxUnavailable", "ensure_available", "is_available", "run_sandboxed", "sandbox_mode"]
