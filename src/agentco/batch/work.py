"""One run of a batch, wherever it is worked on (a thread here, a Ray worker there): through the runtime.

The run store is the batch's memory. A job's run is the run of its project name and idea in the
workspace's store: none yet, and the run is recorded and worked on; a completed one is skipped; any
other (killed, failed, stopped by a budget) is resumed, its recorded calls served from the store.
A Ray task that is retried after its worker died finds its run the same way.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any, Protocol

from agentco.batch.hub import News
from agentco.batch.items import Job
from agentco.config import Settings
from agentco.errors import AgentcoError, BudgetExceeded
from agentco.events import CALL_FINISHED, CALL_STARTED, Event
from agentco.runtime import RunAlreadyCompleted, record_run, resume_run
from agentco.store import RunRecord, RunStore

BUSY_WAIT_S = 120.0
"""How long a run held by another process (a worker that is dying) is waited for before giving up."""


class HubLike(Protocol):
    """The batch's ``Hub``, in this process or behind a Ray actor."""

    def admit(self, key: str) -> str | None: ...
    def settle(self, key: str, cost: float) -> None: ...
    def slot(self) -> float: ...
    def post(self, *news: News) -> None: ...


class CallGate:
    """A subscriber of one run's event stream. ``call.started`` comes just before a call goes out
    (``LLMClient``): the rate limit waits there, and the batch budget refuses the call by raising
    ``BudgetExceeded``, the error a run's own meter raises, so the run stops the same way and can be
    resumed. ``call.finished`` settles the call's cost and tells the driver."""

    def __init__(self, key: str, hub: HubLike):
        self.key, self.hub = key, hub

    def __call__(self, event: Event) -> None:
        if event.kind == CALL_STARTED:
            if (wait := self.hub.slot()) > 0:
                time.sleep(wait)  # only this run's thread waits: each run has its own
            if (refusal := self.hub.admit(self.key)) is not None:
                raise BudgetExceeded(refusal)
        elif event.kind == CALL_FINISHED:
            data = event.data
            cost = float(data.get("cost_usd") or 0.0)
            self.hub.settle(self.key, cost)
            tokens = int(data.get("prompt_tokens") or 0) + int(data.get("completion_tokens") or 0)
            self.hub.post(News("call", self.key, tokens=tokens, cost_usd=cost))


def run_job(settings: Settings, job: Job, hub: HubLike, *, worker: str = "", timeout: float | None = None) -> dict:
    """Work on the job's run until it ends; returns its row of ``batch.json``. Never raises for what
    ends one run (a failed run does not stop the others)."""
    hub.post(News("started", job.key, worker=worker))
    try:
        result = _run(settings, job, hub, timeout)
    except Exception as exc:  # a bug or an unusable workspace: this run's row says so, the batch goes on
        result = job_result(settings.workspace, job, None, "failed", f"{type(exc).__name__}: {exc}")
    hub.post(News("ended", job.key, status=result["status"]))
    return result


def _run(settings: Settings, job: Job, hub: HubLike, timeout: float | None) -> dict:
    workspace = settings.workspace
    record = find_job_run(workspace, job)
    if record is not None and record.status == "completed":
        return job_result(workspace, job, record.id, "skipped")
    try:
        run_id = record.id if record is not None else _record(settings, job)
    except AgentcoError as exc:
        return job_result(workspace, job, None, "failed", str(exc))
    this_time = "resumed" if record is not None else "started"
    if not _wait_until_free(workspace, run_id):
        return job_result(workspace, job, run_id, this_time, f"run {run_id} is held by another process")
    error = None
    try:
        asyncio.run(_resume(settings, run_id, CallGate(job.key, hub), timeout))
    except RunAlreadyCompleted:
        pass
    except TimeoutError:
        error = f"timeout: no end within {timeout:.0f} s (the run is saved; run the batch again to resume it)"
    except AgentcoError as exc:  # recorded in the store with the run's status
        error = str(exc)
    return job_result(workspace, job, run_id, this_time, error)


def _record(settings: Settings, job: Job) -> str:
    try:
        return record_run(settings, job.request)
    except ValueError:  # two threads drew the same new run id in the same second: draw again
        return record_run(settings, job.request)


async def _resume(settings: Settings, run_id: str, gate: CallGate, timeout: float | None) -> Any:
    work = resume_run(settings, run_id, events=[gate])
    return await (asyncio.wait_for(work, timeout) if timeout else work)


def find_job_run(workspace: Path, job: Job) -> RunRecord | None:
    """The newest run in the workspace's store of this job's project name and idea, if any."""
    from agentco.store import db_path

    if not db_path(workspace).is_file():
        return None
    with RunStore.open(workspace) as store:
        for record in store.list_runs():  # newest first
            if record.options.get("project_name") == job.key and record.idea == job.idea:
                return record
    return None


def _wait_until_free(workspace: Path, run_id: str) -> bool:
    """Wait while another process holds the run (a Ray worker whose node was killed, still dying)."""
    deadline = time.monotonic() + BUSY_WAIT_S
    with RunStore.open(workspace) as store:
        while store.is_live(run_id):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)
    return True


def job_result(workspace: Path, job: Job, run_id: str | None, this_time: str, error: str | None = None) -> dict:
    """The job's row of ``batch.json``, from the store (what its recorded calls add up to) and the
    project's summary (its tests)."""
    record, totals = None, {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0}
    if run_id is not None:
        with RunStore.open(workspace) as store:
            record, totals = store.get_run(run_id), store.call_totals(run_id)
    project = Path(record.project_path) if record is not None and record.project_path else None
    summary = _summary(project) if record is not None and record.status == "completed" else {}
    status = record.status if record is not None else "not_started" if this_time == "not_started" else "failed"
    if error and error.startswith("timeout:"):
        status = "timeout"
    return {
        "idea": job.idea,
        "project": job.key,
        "path": str(project or ""),
        "run_id": run_id,
        "status": status,
        "result": summary.get("status"),
        "tests_passed": summary.get("tests_passed"),
        "tests_failed": summary.get("tests_failed"),
        "calls": int(totals["calls"]),
        "replayed_calls": record.replayed_calls if record is not None else 0,
        "prompt_tokens": int(totals["prompt_tokens"]),
        "completion_tokens": int(totals["completion_tokens"]),
        "tokens": int(totals["prompt_tokens"]) + int(totals["completion_tokens"]),
        "cost_usd": round(float(totals["cost_usd"]), 6),
        "wall_s": record.wall_s if record is not None else 0.0,
        "this_time": this_time,
        "error": error or (record.error if record is not None and record.status != "completed" else None),
    }


def _summary(project: Path | None) -> dict[str, Any]:
    if project is None:
        return {}
    try:
        return json.loads((project / ".agentco" / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
