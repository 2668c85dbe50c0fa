"""What a batch shows: a live progress bar while it runs, then ``batch.json`` and a table."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentco.batch.hub import News

BATCH_FILE = "batch.json"
_SUMMED = ("calls", "replayed_calls", "prompt_tokens", "completion_tokens", "tokens", "cost_usd", "wall_s")


def totals(rows: Sequence[dict], wall_s: float) -> dict[str, Any]:
    """The batch's totals: runs by how they ended and what they did this time, and the sums."""
    sums: dict[str, Any] = {key: sum(row[key] or 0 for row in rows) for key in _SUMMED}
    sums["cost_usd"] = round(float(sums["cost_usd"]), 6)
    sums["run_wall_s"] = round(sums.pop("wall_s"), 2)
    worked = [row for row in rows if row["this_time"] in ("started", "resumed")]
    return {
        "runs": len(rows),
        "completed": sum(row["status"] == "completed" for row in rows),
        "failed": sum(row["status"] not in ("completed", "not_started") for row in rows),
        "not_started": sum(row["status"] == "not_started" for row in rows),
        "passed": sum(row["result"] == "passed" for row in rows),
        "started": sum(row["this_time"] == "started" for row in rows),
        "resumed": sum(row["this_time"] == "resumed" for row in rows),
        "skipped": sum(row["this_time"] == "skipped" for row in rows),
        **sums,
        "wall_s": round(wall_s, 2),
        "runs_per_min": round(sum(row["status"] == "completed" for row in worked) / wall_s * 60, 2) if wall_s else None,
    }


def write_report(workspace: Path, report: dict[str, Any]) -> Path:
    """``batch.json`` in the workspace, replaced whole (a reader never sees half of it)."""
    path = workspace / BATCH_FILE
    tmp = path.with_name(f".{BATCH_FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def batch_table(report: dict[str, Any]) -> Any:
    from rich.table import Table
    from rich.text import Text

    t = report["totals"]
    title = f"batch: {t['completed']} of {t['runs']} runs completed, {t['passed']} passing their tests"
    table = Table(title=title)
    for column in ("project", "status", "tests", "calls", "tokens", "cost $", "wall s", "this time"):
        table.add_column(column, justify="left" if column in ("project", "status", "this time") else "right")
    for row in report["runs"]:
        tests = (
            "" if row["tests_passed"] is None else f"{row['tests_passed']}/{row['tests_passed'] + row['tests_failed']}"
        )
        calls = f"{row['calls']}" + (f" ({row['replayed_calls']} replayed)" if row["replayed_calls"] else "")
        table.add_row(Text(row["project"]), row["result"] or row["status"], tests, calls, str(row["tokens"]),
                      f"{row['cost_usd']:.4f}", f"{row['wall_s']:.1f}", row["this_time"])  # fmt: skip
    done = ", ".join(f"{t[key]} {key}" for key in ("started", "resumed", "skipped", "not_started") if t[key])
    table.add_row("TOTAL", f"{t['failed']} failed", "", str(t["calls"]), str(t["tokens"]), f"{t['cost_usd']:.4f}",
                  f"{t['wall_s']:.1f}", done, style="bold")  # fmt: skip
    return table


class BatchProgress:
    """A rich progress bar on stderr: runs done, failed and running, tokens and cost so far."""

    def __init__(self, total: int, console: Any):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("[bold]batch"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[stats]}"),
            TimeElapsedColumn(), console=console,
        )  # fmt: skip
        self.task = self.progress.add_task("batch", total=total, stats="")
        self.running: set[str] = set()
        self.done = self.failed = self.not_started = self.tokens = 0
        self.cost = 0.0

    def __enter__(self) -> BatchProgress:
        self.progress.start()
        self._show()
        return self

    def __exit__(self, *exc: object) -> None:
        self._show()
        self.progress.stop()

    def news(self, news: News) -> None:
        if news.kind == "started":
            self.running.add(news.key)
        elif news.kind == "ended":
            self.running.discard(news.key)
        elif news.kind == "call":
            self.tokens += news.tokens
            self.cost += news.cost_usd
        self._show()

    def finished(self, row: dict) -> None:
        self.running.discard(row["project"])
        if row["status"] == "completed":
            self.done += 1
        elif row["status"] == "not_started":
            self.not_started += 1
        else:
            self.failed += 1
        self._show()

    def _show(self) -> None:
        stats = (f"[green]done {self.done}[/] · [red]failed {self.failed}[/] · running {len(self.running)} · "
                 f"{self.tokens} tokens · ${self.cost:.4f}")  # fmt: skip
        if self.not_started:
            stats += f" · {self.not_started} not started (budget spent)"
        self.progress.update(self.task, completed=self.done + self.failed + self.not_started, stats=stats)
