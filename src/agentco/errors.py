"""The exception hierarchy, split by intent.

- ``ConfigError``: the user misconfigured something. The CLI prints the message, no traceback.
- ``ModelOutputError``: the model misbehaved (output never validated). Bounded, recoverable.
- ``RunFailed``: the run could not go on (budget reached, provider down, prompt too long).
"""

from __future__ import annotations


class AgentcoError(Exception):
    """Base class of every error agentco raises on purpose."""


class ConfigError(AgentcoError):
    """A configuration problem the user can fix."""

    def __init__(self, problem: str, *, source: str | None = None, key: str | None = None):
        self.problem, self.source, self.key = problem, source, key
        where = ": ".join(part for part in (source, key) if part)
        super().__init__(f"{where}: {problem}" if where else problem)


class MissingExtraError(ConfigError):
    """An optional dependency is not installed."""

    def __init__(self, package: str, extra: str):
        super().__init__(f"{package} is not installed; install it with: pip install 'agentco[{extra}]'")


class ModelOutputError(AgentcoError):
    """The model kept returning output that failed validation."""

    def __init__(self, what: str, attempts: int, last_error: str):
        self.attempts, self.last_error = attempts, last_error
        super().__init__(f"model output for {what} was still invalid after {attempts} attempts: {last_error}")


class RunFailed(AgentcoError):
    """The run had to stop; its state is saved and it can be resumed."""


class RunPaused(RunFailed):
    """The run stopped where it waits for a person (who left, or is not here); it reads
    ``interrupted`` and ``resume`` comes back to the same point."""


class BudgetExceeded(RunFailed):
    """The next call could spend past the configured budget."""


class ProviderError(RunFailed):
    """The model provider failed past the retry limits, or rejected the request."""


class TransientProviderError(ProviderError):
    """A failure worth retrying: rate limit, 5xx, dropped connection, timeout, stalled stream."""

    def __init__(self, message: str, *, retry_after: float | None = None):
        self.retry_after = retry_after
        super().__init__(message)


class PromptTooLong(RunFailed):
    """A prompt does not fit the model's context window."""


class ModelRequestsBlocked(AgentcoError):
    """A real model was called while real model requests are disabled (tests)."""
