"""The run store as a subscriber of a run's event stream: the runs row, messages, artifacts, steps.

The events themselves are stored by the stream (``EventBus(log=store)``); this keeps the tables
that resume, ``runs list`` and ``runs show`` read, written as the events happen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from agentco import events as ev
from agentco.events import Event
from agentco.store.sqlite import RunStore


class StoreRecorder:
    def __init__(self, store: RunStore, run_id: str, usage: Callable[[], dict[str, Any]]):
        """``usage`` gives the run's counters so far (the meter's summary and ``wall_s``)."""
        self.store, self.run_id, self.usage = store, run_id, usage
        self.stage = "prd"
        self.project = ""

    def __call__(self, event: Event) -> None:
        data = event.data
        if event.kind == ev.MESSAGE:
            fields = {k: data[k] for k in ("id", "sent_from", "cause_by", "send_to", "content", "payload")}
            self.store.record_message(self.run_id, **fields)
        elif event.kind == ev.ARTIFACT:
            self.store.record_artifact(self.run_id, data["path"], data["sha256"], self.stage)
        elif event.kind == ev.PROJECT_OPENED:
            # recorded before the folder exists, so a run killed while creating it resumes into it
            self.project = data["path"]
            self.update(project_path=self.project)
        elif event.kind == ev.STAGE_FINISHED:
            self.stage = data["name"]
            self.project = data.get("project") or self.project
            self.store.mark_step(self.run_id, self.stage)
            self.update(stage=self.stage, project_path=self.project)
        elif event.kind == ev.RUN_STARTED:
            self.update(status="running", error=None)
        elif event.kind == ev.RUN_FINISHED:
            fields = {"status": data["status"], "error": data.get("error")}
            if data["status"] == "completed":
                fields.update(stage="done", project_path=data.get("project") or None)
            self.update(**fields)

    def update(self, **fields: Any) -> None:
        self.store.update_run(self.run_id, **self.usage(), **fields)


def follow_run(
    events: Any, store: RunStore | None, run_id: str | None, usage: Callable[[], dict[str, Any]],
    previous_wall_s: float = 0.0,
) -> Callable[[], float]:  # fmt: skip
    """The run's wall-clock counter (seconds, the earlier attempts' included); with a store, the
    store's tables follow the run's events from here on, with ``usage()`` and that time."""
    started = time.monotonic()

    def wall_s() -> float:
        return round(previous_wall_s + time.monotonic() - started, 2)

    if store is not None and run_id is not None:
        events.subscribe(StoreRecorder(store, run_id, lambda: {**usage(), "wall_s": wall_s()}))
    return wall_s
