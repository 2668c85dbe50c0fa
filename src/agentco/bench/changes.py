"""The change tasks (``../shared/bench/changes``): a change request on top of a known-good project.

Each run copies the base task's reference solution into a fresh git repository, runs
``agentco "CHANGE" --inc --project-path P`` as a user would, then scores the project in the sandbox
with the base task's acceptance tests (regression: they must still pass) and the task's
``test_change.py`` (the change). Totals are counted from the test files, so a project that no
longer imports scores 0 of all its tests.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agentco.bench.suite import ACCEPTANCE_FILE, chosen, run_status, run_test_file
from agentco.errors import ConfigError
from agentco.sandbox.process import run_capped

CHANGE_TESTS = "test_change.py"


@dataclass(frozen=True)
class ChangeTask:
    name: str
    path: Path
    base: Path
    change: str

    @property
    def reference(self) -> Path:
        return self.base / "reference"


@dataclass
class ChangeRun:
    task: str
    status: str
    """The run's own status (passed, failed, rolled_back), or crashed / timeout."""
    exit_code: int
    wall_s: float
    llm_calls: int
    prompt_tokens: int
    completion_tokens: int
    regression_passed: int
    regression_total: int
    change_passed: int
    change_total: int
    committed: bool
    """Whether the run left commits on top of the base (a rolled-back change leaves none)."""
    project: str
    error: str | None = None


def default_changes_dir() -> Path:
    from agentco.bench.suite import default_tasks_dir

    return default_tasks_dir().parent / "changes"


def find_change_tasks(root: Path, names: Sequence[str] = ()) -> list[ChangeTask]:
    if not root.is_dir():
        raise ConfigError(f"change tasks folder {root} does not exist")
    found = {}
    for folder in sorted(root.iterdir()):
        if not (
            (folder / "change.md").is_file() and (folder / "base.txt").is_file() and (folder / CHANGE_TESTS).is_file()
        ):
            continue
        base = (folder / (folder / "base.txt").read_text(encoding="utf-8").strip()).resolve()
        found[folder.name] = ChangeTask(folder.name, folder.resolve(), base,
                                        (folder / "change.md").read_text(encoding="utf-8").strip())  # fmt: skip
    return chosen(
        found, names, root, "change task", f"a change task is a folder with change.md, base.txt and {CHANGE_TESTS}"
    )


def base_project(task: ChangeTask, into: Path) -> Path:
    """The base reference as a user's repository: copied, ``git init``, one commit."""
    project = into / "project"
    shutil.copytree(task.reference, project, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for path in [project, *project.rglob("*")]:  # the shared reference is read-only; a user's repository is not
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=bench", "-c", "user.email=bench@localhost",
                                                 "commit", "-qm", "base"]):  # fmt: skip
        subprocess.run(["git", *args], cwd=project, env=env, check=True, capture_output=True)
    return project


def run_change_task(task: ChangeTask, model: str, workspace: Path, *, timeout: float = 1800) -> ChangeRun:
    folder = workspace / task.name
    if folder.exists():
        folder = workspace / f"{task.name}-{time.strftime('%H%M%S')}"
    folder.mkdir(parents=True)
    project = base_project(task, folder)
    base_head = _head(project)
    argv = [sys.executable, "-m", "agentco", "run", task.change, "--inc", "--project-path", str(project)]
    argv += ["--workspace", str(folder / "ws"), "-q", "--json", "--model", model]
    start = time.monotonic()
    done = run_capped(argv, env=dict(os.environ), cwd=folder, timeout=timeout, cap=256 * 1024)
    wall = time.monotonic() - start
    (folder / "agentco.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    summary = _json_summary(done.stdout)
    status, error = run_status(done, summary, timeout)
    regression = run_test_file(task.base / ACCEPTANCE_FILE, project, folder, name="regression")
    change = run_test_file(task.path / CHANGE_TESTS, project, folder, name="change")
    return ChangeRun(
        task=task.name, status=status, exit_code=done.returncode, wall_s=round(wall, 2),
        llm_calls=int(summary.get("llm_calls") or 0), prompt_tokens=int(summary.get("prompt_tokens") or 0),
        completion_tokens=int(summary.get("completion_tokens") or 0),
        regression_passed=regression[0], regression_total=regression[1],
        change_passed=change[0], change_total=change[1], committed=_head(project) != base_head,
        project=str(project), error=error or regression[2] or change[2],
    )  # fmt: skip


def run_changes(
    tasks: Sequence[ChangeTask], model: str, workspace: Path, *, timeout: float = 1800,
    on_run: Callable[[ChangeRun], None] = lambda r: None,
) -> dict[str, Any]:  # fmt: skip
    runs = []
    for task in tasks:
        run = run_change_task(task, model, workspace, timeout=timeout)
        on_run(run)
        runs.append(run)
    n = len(runs) or 1
    totals = {key: sum(getattr(r, key) for r in runs) for key in
              ("regression_passed", "regression_total", "change_passed", "change_total")}  # fmt: skip
    return {
        "tasks": len(runs),
        **totals,
        "regression_kept": sum(r.regression_passed == r.regression_total for r in runs),
        "regressions_committed": sum(r.committed and r.regression_passed < r.regression_total for r in runs),
        "wall_s_per_change": round(sum(r.wall_s for r in runs) / n, 1),
        "tokens_per_change": round(sum(r.prompt_tokens + r.completion_tokens for r in runs) / n),
        "runs": [asdict(r) for r in runs],
    }


def changes_table(report: dict[str, Any]) -> Any:
    from rich.table import Table

    table = Table(title=f"change tasks: regression {report['regression_passed']}/{report['regression_total']}, "
                        f"change {report['change_passed']}/{report['change_total']}")  # fmt: skip
    for column in ("task", "status", "regression", "change", "committed", "calls", "tokens", "wall s"):
        table.add_column(column)
    for r in report["runs"]:
        table.add_row(r["task"], r["status"], f"{r['regression_passed']}/{r['regression_total']}",
                      f"{r['change_passed']}/{r['change_total']}", "yes" if r["committed"] else "no",
                      str(r["llm_calls"]), str(r["prompt_tokens"] + r["completion_tokens"]), f"{r['wall_s']:.0f}")  # fmt: skip
    return table


def _head(project: Path) -> str:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True)
    return done.stdout.strip()


def _json_summary(stdout: str) -> dict[str, Any]:
    import json

    start = stdout.find("{")
    try:
        data = json.loads(stdout[start:]) if start >= 0 else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
