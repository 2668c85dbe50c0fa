"""What every benchmark result carries (date, machine, model, command line), JSON output and tables."""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def repo_root() -> Path | None:
    """The checkout agentco runs from (src layout), or None for an installed wheel."""
    root = Path(__file__).resolve().parents[3]
    return root if (root / "pyproject.toml").is_file() and (root / "src" / "agentco").is_dir() else None


def source_commit() -> str | None:
    """The git commit of the checkout agentco runs from, with "+changes" when it has uncommitted
    edits (a result is only reproducible from a known commit); None for an installed wheel."""
    import subprocess

    root = repo_root()
    if root is None or not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=root, capture_output=True, text=True)
    except OSError:
        return None
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "") if head.returncode == 0 else None


_START: dict[str, str | None] = {}


def note_start() -> None:
    """Remember the commit a benchmark starts from (``envelope`` compares it with the one at its end)."""
    _START["commit"] = source_commit()


def commit_fields() -> dict[str, Any]:
    """``commit`` as the benchmark started and ended, or, when the source changed while it ran,
    no commit at all (both are kept, and the result says so): a figure belongs to one known source."""
    now = source_commit()
    started = _START.get("commit", now)
    if started == now and not (now or "").endswith("+changes"):
        return {"commit": now}
    if started == now:
        return {"commit": now, "dirty": True}
    return {"commit": None, "commit_at_start": started, "commit_at_end": now,
            "source_changed": "the source changed while this ran: no commit labels these figures"}  # fmt: skip


def results_dir() -> Path:
    root = repo_root()
    return (root if root else Path.cwd()) / "bench" / "results"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def envelope(benchmark: str, model: str | None, results: dict[str, Any], argv: Sequence[str] | None = None) -> dict:
    from agentco import __version__

    return {
        "benchmark": benchmark,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "agentco": __version__,
        **commit_fields(),
        "machine": machine(),
        "model": model,
        "command": " ".join(["agentco", *(sys.argv[1:] if argv is None else argv)]),
        **results,
    }


def write_json(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Any:
    from rich import box
    from rich.table import Table

    out = Table(title=title, box=box.SIMPLE_HEAD)
    for i, name in enumerate(columns):
        out.add_column(name, justify="left" if i == 0 else "right")
    for row in rows:
        out.add_row(*(fmt(cell) for cell in row))
    return out


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 0.01 and value else f"{value:.2f}"
    return str(value)


def mean(values: Iterable[float | int | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None
