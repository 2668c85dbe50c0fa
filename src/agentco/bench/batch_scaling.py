"""How a batch scales: runs per minute at several concurrencies, on threads here and on a local Ray cluster.

The model is the scripted company with a fixed wait per call (``fake:roman?delay=S``), as a hosted API
has: the runs mostly wait, so more at once should finish more per minute until the machine's cores
(which run each project's tests, its git commits and the runs' own code) are the limit. Not a timed
test: a figure, printed and saved like the other benchmarks.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentco.config import Settings
from agentco.errors import ConfigError

CALLS_PER_RUN = 6
"""The scripted roman company's calls: PRD, design, tasks, roman.py, its review, the tests."""


def run_batch_scaling(
    settings: Settings,
    levels: str = "1,2,4,8",
    *,
    runs: int = 8,
    delay: float = 0.5,
    ray: bool = True,
    say: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """``runs`` scripted runs at each concurrency of ``levels`` (comma-separated), on threads and, with
    ``ray``, on a Ray cluster started once (with the most run slots asked for), warmed up, and whose
    start is not counted. ``say`` is told each row as it is measured."""
    from agentco.batch.cluster import LOCAL, cluster_for

    try:
        concurrencies = [int(level) for level in levels.split(",") if level.strip()]
    except ValueError:
        raise ConfigError(f"{levels!r}: give whole numbers, such as 1,2,4,8", key="--levels") from None
    if not concurrencies or min(concurrencies) < 1:
        raise ConfigError(f"{levels!r}: give concurrencies of 1 or more", key="--levels")
    root = Path(tempfile.mkdtemp(prefix="agentco-batch-scaling-"))
    rows: list[dict[str, Any]] = []
    most = max(concurrencies)
    for mode in ("threads", "ray") if ray else ("threads",):
        started = time.monotonic()
        with cluster_for(LOCAL if mode == "ray" else None, most) as cluster:
            ready_s = time.monotonic() - started
            if cluster is not None:  # start every worker process before measuring
                _measure(settings, root / f"{mode}-warmup", most, most, 0.0, cluster)
            for concurrency in concurrencies:
                row = _measure(settings, root / f"{mode}-{concurrency}", concurrency, runs, delay, cluster)
                row = {"mode": mode, **row, "cluster_start_s": round(ready_s, 2) if cluster is not None else None}
                rows.append(row)
                say(f"  {mode} x{concurrency}: {row['completed']}/{runs} runs in {row['wall_s']:.1f} s, "
                    f"{row['runs_per_min']} runs/min")  # fmt: skip
    for row in rows:
        first = next(r for r in rows if r["mode"] == row["mode"])
        row["speedup"] = round(row["runs_per_min"] / first["runs_per_min"], 2) if first["runs_per_min"] else None
    return {
        "model": _model(delay),
        "call_wait_s": delay,
        "calls_per_run": CALLS_PER_RUN,
        "runs_per_level": runs,
        "workspace": str(root),
        "rows": rows,
    }


def _measure(settings: Settings, workspace: Path, concurrency: int, runs: int, delay: float, cluster: Any) -> dict:
    from agentco.batch.items import BatchItem, plan_jobs
    from agentco.batch.run import BatchOptions, run_batch

    items = [BatchItem(idea=f"Write roman.py, copy {i + 1}") for i in range(runs)]
    jobs = plan_jobs(items, model=_model(delay), workspace=workspace)
    started = time.monotonic()
    report = run_batch(settings.model_copy(update={"workspace": workspace}), jobs, BatchOptions(concurrency),
                       cluster=cluster)  # fmt: skip
    wall = time.monotonic() - started
    completed = report["totals"]["completed"]
    return {
        "concurrency": concurrency,
        "runs": runs,
        "completed": completed,
        "wall_s": round(wall, 2),
        "runs_per_min": round(completed / wall * 60, 1),
        "waiting_bound_runs_per_min": round(concurrency * 60 / (CALLS_PER_RUN * delay), 1) if delay else None,
    }


def _model(delay: float) -> str:
    return f"fake:roman?delay={delay}" if delay else "fake:roman"


def scaling_table(report: dict[str, Any]) -> Any:
    from agentco.bench.report import table

    columns = ["mode", "concurrency", "runs", "wall s", "runs/min", "speed-up", "bound if only waiting"]
    rows = [[r["mode"], r["concurrency"], f"{r['completed']}/{r['runs']}", r["wall_s"], r["runs_per_min"],
             r["speedup"], r["waiting_bound_runs_per_min"]] for r in report["rows"]]  # fmt: skip
    title = f"batch scaling: {report['model']}, {report['calls_per_run']} calls a run"
    return table(title, columns, rows)
