"""Durable run state: runs, messages, model calls, artifacts, finished steps and events, in SQLite."""

from agentco.store.calls import RunCallCache
from agentco.store.locks import RunBusy
from agentco.store.records import ArtifactRecord, MessageRecord, RunRecord, StepRecord
from agentco.store.redact import clean_options
from agentco.store.sqlite import RunNotFound, RunStore, db_path, find_store

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
