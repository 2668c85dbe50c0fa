"""Durable run state: runs, messages, model calls, artifacts and finished steps, in SQLite."""

from agentco.store.sqlite import (
    ArtifactRecord,
    MessageRecord,
    RunBusy,
    RunCallCache,
    RunNotFound,
    RunRecord,
    RunStore,
    StepRecord,
    clean_options,
    db_path,
    find_store,
)

__all__ = [
    "ArtifactRecord",
    "MessageRecord",
    "RunCallCache",
    "RunBusy",
    "RunNotFound",
    "RunRecord",
    "RunStore",
    "StepRecord",
    "clean_options",
    "db_path",
    "find_store",
]
