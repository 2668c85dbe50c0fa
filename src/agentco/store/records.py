"""What the run store gives back: plain records of runs, messages, artifacts and steps."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass
class RunRecord:
    id: str
    created_at: str
    updated_at: str
    status: str
    stage: str
    idea: str
    project_path: str
    options: dict[str, Any]
    llm_calls: int
    replayed_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    wall_s: float
    error: str | None


@dataclass
class MessageRecord:
    run_id: str
    seq: int
    id: str
    sent_from: str
    cause_by: str
    send_to: list[str]
    content: str
    payload: Any
    created_at: str


@dataclass
class ArtifactRecord:
    run_id: str
    seq: int
    path: str
    sha256: str
    stage: str
    created_at: str


@dataclass
class StepRecord:
    run_id: str
    seq: int
    name: str
    status: str
    created_at: str


def as_seen(record: RunRecord, live: bool) -> RunRecord:
    """A run recorded as running that no process holds (``live``) was killed before it could record its end."""
    if record.status != "running" or live:
        return record
    why = "the process running it ended without recording its end (killed?); `agentco resume` continues it"
    return dataclasses.replace(record, status="interrupted", error=record.error or why)
