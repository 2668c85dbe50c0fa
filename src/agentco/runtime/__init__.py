"""The composition root: every entry point builds and runs a run through here."""

from agentco.company.run import RunOutcome
from agentco.runtime.clients import open_client
from agentco.runtime.request import ChangeRequest, DiRequest, RunRequest, ScenarioRequest
from agentco.runtime.run import RunAlreadyCompleted, find_run, record_run, resume_run, start_run

__all__ = [
    "ChangeRequest",
    "DiRequest",
    "RunAlreadyCompleted",
    "RunOutcome",
    "RunRequest",
    "ScenarioRequest",
    "find_run",
    "open_client",
    "record_run",
    "resume_run",
    "start_run",
]
