"""The batch driver: at most ``concurrency`` runs at once, on threads here or as tasks on a Ray cluster.

The loop is the same for both: start runs while there are slots (and budget), collect the runs that
ended, pass the workers' news to the progress view, and keep ``batch.json`` up to date, so a driver
killed half-way leaves the batch as far as it got; running the same batch again finishes the rest.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agentco.batch.hub import Hub, News
from agentco.batch.items import Job
from agentco.batch.report import totals, write_report
from agentco.batch.work import find_job_run, job_result, run_job
from agentco.config import Settings
from agentco.store import RunStore

POLL_S = 0.2


@dataclass(frozen=True)
class BatchOptions:
    concurrency: int = 1
    budget: float | None = None
    """US dollars for the whole batch, checked before each model call."""
    rate_limit: float | None = None
    """Model calls a minute across the whole batch (a hosted provider's limit)."""
    timeout: float | None = None
    """Seconds a run may take in this batch before it is stopped (it stays resumable)."""


class Executor(Protocol):
    def submit(self, settings: Settings, job: Job, timeout: float | None) -> Any: ...
    def wait(self, handles: list[Any], timeout: float) -> list[Any]: ...
    def result(self, handle: Any) -> dict | str: ...
    def exhausted(self) -> bool: ...
    def drain(self) -> list[News]: ...
    def close(self, abandon: bool = False) -> None: ...


class View(Protocol):
    def news(self, news: News) -> None: ...
    def finished(self, row: dict) -> None: ...


def run_batch(
    settings: Settings,
    jobs: Sequence[Job],
    options: BatchOptions,
    *,
    cluster: Any = None,
    view: View | None = None,
    about: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every job's run, ``options.concurrency`` at a time, on ``cluster`` (a ``cluster.RayCluster``)
    or on threads of this process. Returns the report written to ``batch.json`` in the workspace."""
    workspace = settings.workspace
    hub = Hub(options.budget, options.rate_limit, spent=spent_so_far(workspace, jobs))
    executor: Executor = cluster.executor(hub) if cluster is not None else ThreadExecutor(options.concurrency, hub)
    about = {**(about or {}), "concurrency": options.concurrency, "budget": options.budget,
             "rate_limit": options.rate_limit, "ray": cluster.address if cluster is not None else None}  # fmt: skip
    rows: dict[str, dict] = {}
    workers: dict[str, list[str]] = {job.key: [] for job in jobs}
    pending, running = deque(jobs), {}
    started = time.monotonic()

    def report() -> dict[str, Any]:
        ordered = [{**rows[job.key], "workers": workers[job.key]} for job in jobs if job.key in rows]
        return {"batch": about, "runs": ordered, "totals": totals(ordered, time.monotonic() - started)}

    def tell(news: News) -> None:
        if news.kind == "started" and news.worker:
            workers[news.key].append(news.worker)
        if view is not None:
            view.news(news)

    def ended(job: Job, row: dict) -> None:
        rows[job.key] = row
        if view is not None:
            view.finished(row)
        write_report(workspace, report())

    try:
        while pending or running:
            while pending and len(running) < options.concurrency:
                job = pending.popleft()
                if executor.exhausted():  # the budget is spent: the rest are not started (a re-run can)
                    record = find_job_run(workspace, job)
                    ended(job, job_result(workspace, job, record.id if record else None, "not_started"))
                    continue
                running[executor.submit(settings, job, options.timeout)] = job
            for handle in executor.wait(list(running), POLL_S):
                job = running.pop(handle)
                for news in executor.drain():  # its last news before its row
                    tell(news)
                outcome = executor.result(handle)
                ended(job, outcome if isinstance(outcome, dict) else _lost(workspace, job, outcome))
            for news in executor.drain():
                tell(news)
    except BaseException:  # Ctrl-C or a bug of the driver: the runs are saved; a re-run goes on with them
        executor.close(abandon=True)
        raise
    executor.close()
    final = report()
    write_report(workspace, final)
    return final


def _lost(workspace: Path, job: Job, why: str) -> dict:
    """The row of a run whose task failed for good (its worker died past every retry)."""
    record = find_job_run(workspace, job)
    return job_result(workspace, job, record.id if record else None, "failed", why)


def spent_so_far(workspace: Path, jobs: Sequence[Job]) -> float:
    """What the batch's runs already in the store have cost (a re-run batch goes on from there)."""
    from agentco.store import db_path

    if not db_path(workspace).is_file():
        return 0.0
    wanted = {(job.key, job.idea) for job in jobs}
    spent, seen = 0.0, set()
    with RunStore.open(workspace) as store:
        for record in store.list_runs():  # newest first: a job's run is its newest
            mine = (record.options.get("project_name"), record.idea)
            if mine in wanted and mine not in seen:
                seen.add(mine)
                spent += float(store.call_totals(record.id)["cost_usd"])
    return spent


class ThreadExecutor:
    """Runs jobs on threads of this process, each with its own event loop (a run blocks while its
    tests run in the sandbox); the hub is a plain object they share."""

    def __init__(self, concurrency: int, hub: Hub):
        self.hub = hub
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="batch-run")

    def submit(self, settings: Settings, job: Job, timeout: float | None) -> Future[dict]:
        return self.pool.submit(self._work, settings, job, timeout)

    def _work(self, settings: Settings, job: Job, timeout: float | None) -> dict:
        worker = f"local:{os.getpid()}/{threading.current_thread().name}"
        return run_job(settings, job, self.hub, worker=worker, timeout=timeout)

    def wait(self, handles: list[Any], timeout: float) -> list[Any]:
        if not handles:
            return []
        done, _ = wait(handles, timeout=timeout, return_when=FIRST_COMPLETED)
        return list(done)

    def result(self, handle: Future[dict]) -> dict | str:
        try:
            return handle.result()
        except Exception as exc:  # run_job reports what ends a run; this is a bug, told as this run's failure
            return f"{type(exc).__name__}: {exc}"

    def exhausted(self) -> bool:
        return self.hub.exhausted()

    def drain(self) -> list[News]:
        return self.hub.drain()

    def close(self, abandon: bool = False) -> None:
        self.pool.shutdown(wait=not abandon, cancel_futures=True)
