"""Durable run state: runs, messages, model calls, artifacts and finished steps, in SQLite."""

from agentco.store.sqlite import (
    ArtifactRecord,
    MessageRecord,
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
    "RunNotFound",
    "RunRecord",
    "RunStore",
    "StepRecord",
    "clean_options",
    "db_path",
    "find_store",
]
