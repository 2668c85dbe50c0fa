"""The project suite: run the company on each task, then judge the result with the task's own acceptance tests.

A task is a folder holding ``prompt.md`` (the idea, as a user types it) and ``test_acceptance.py``
(reads the generated project's root from ``PROJECT``). The runs are one batch (``agentco.batch``):
each task's run in its own project folder of one workspace, several at once or on a Ray cluster, with
a deadline each, and a failed run costs only itself; the same suite run again into the same workspace
resumes it. The acceptance tests are ours; they run in the sandbox and import the generated code.
"""

from __future__ import annotations

import ast
import json
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from agentco.bench.report import mean, repo_root
from agentco.config import Settings
from agentco.errors import ConfigError

ACCEPTANCE_FILE = "test_acceptance.py"
T = TypeVar("T")
_DOC_SUFFIXES = {".md", ".rst", ".txt", ".json", ".mmd", ".cfg", ".toml", ".ini", ".yaml", ".yml", ""}
_NUMERIC = (
    "wall_s",
    "llm_calls",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "loc",
    "own_tests_passed",
    "own_tests_failed",
    "acceptance_passed",
    "acceptance_total",
)


@dataclass(frozen=True)
class Task:
    name: str
    path: Path
    prompt: str

    @property
    def acceptance(self) -> Path:
        return self.path / ACCEPTANCE_FILE


@dataclass
class TaskRun:
    task: str
    run: int
    status: str  # the run's own status (passed, failed, ...), or crashed / timeout
    exit_code: int
    wall_s: float
    llm_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    loc: int
    own_tests_passed: int | None
    own_tests_failed: int | None
    acceptance_passed: int
    acceptance_total: int
    project: str
    error: str | None = None

    @property
    def fully_passing(self) -> bool:
        return self.acceptance_total > 0 and self.acceptance_passed == self.acceptance_total

    @property
    def verdict_agrees(self) -> bool:
        """Whether the company's own verdict (status passed) matches the acceptance tests (all pass)."""
        return (self.status == "passed") == self.fully_passing

    @property
    def before_code(self) -> bool:
        """Whether the run ended with no source file written."""
        return self.loc == 0

    @property
    def tokens_per_loc(self) -> float | None:
        return round(self.completion_tokens / self.loc, 2) if self.loc else None


def default_tasks_dir() -> Path:
    """``../shared/bench/tasks`` next to the checkout, wherever agentco is run from."""
    candidates = [Path.cwd() / "../shared/bench/tasks", Path.cwd() / "shared/bench/tasks"]
    root = repo_root()
    if root is not None:
        candidates.insert(0, root.parent / "shared" / "bench" / "tasks")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    raise ConfigError("no tasks folder found (looked for ../shared/bench/tasks); pass TASKS_DIR")


def find_tasks(root: Path, names: Sequence[str] = ()) -> list[Task]:
    if not root.is_dir():
        raise ConfigError(f"tasks folder {root} does not exist")
    found = {
        folder.name: Task(folder.name, folder.resolve(), (folder / "prompt.md").read_text(encoding="utf-8").strip())
        for folder in sorted(root.iterdir())
        if (folder / "prompt.md").is_file() and (folder / ACCEPTANCE_FILE).is_file()
    }
    return chosen(found, names, root, "task", f"a task is a folder with prompt.md and {ACCEPTANCE_FILE}")


def chosen(found: dict[str, T], names: Sequence[str], root: Path, what: str, shape: str) -> list[T]:
    """The tasks ``names`` asks for among those ``found`` in ``root`` (all when none is named)."""
    if unknown := [n for n in names if n not in found]:
        raise ConfigError(f"no {what} {', '.join(unknown)} in {root} (found: {', '.join(found) or 'none'})")
    tasks = [found[n] for n in names] if names else list(found.values())
    if not tasks:
        raise ConfigError(f"no {what}s in {root}: {shape}")
    return tasks


def expected_tests(test_file: Path) -> int:
    """How many tests the file defines (parametrized ones counted per case), so that a project
    whose import breaks collection still scores 0 of the full count rather than 0 of 1."""
    count = 0
    for node in ast.walk(ast.parse(test_file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            cases = 1
            for decorator in node.decorator_list:
                is_parametrize = isinstance(decorator, ast.Call) and ast.unparse(decorator.func).endswith("parametrize")
                if is_parametrize and len(decorator.args) > 1 and isinstance(decorator.args[1], ast.List | ast.Tuple):
                    cases *= len(decorator.args[1].elts)
            count += cases
    return count


def source_lines(project: Path, files: Sequence[str]) -> int:
    """Non-blank lines of the generated source files; tests and documents do not count."""
    total = 0
    for name in files:
        path = Path(name)
        if path.suffix.lower() in _DOC_SUFFIXES or _is_test_path(path) or path.parts[:1] == ("docs",):
            continue
        try:
            text = (project / path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        total += sum(1 for line in text.splitlines() if line.strip())
    return total


def _is_test_path(path: Path) -> bool:
    return (
        path.name.startswith("test_")
        or path.stem.endswith("_test")
        or path.name == "conftest.py"
        or any(part in ("tests", "test") for part in path.parts[:-1])
    )


def _source_files(project: Path) -> list[str]:
    skip = {".git", ".venv", ".agentco", "docs", "__pycache__"}
    return [
        str(p.relative_to(project))
        for p in project.rglob("*")
        if p.is_file() and not skip.intersection(p.relative_to(project).parts)
    ]


def run_acceptance(task: Task, project: Path, out_dir: Path, timeout: float = 300) -> tuple[int, int, str | None]:
    """(passed, total, problem) of the task's acceptance tests against ``project``."""
    return run_test_file(task.acceptance, project, out_dir, timeout)


def run_test_file(
    test_file: Path, project: Path, out_dir: Path, timeout: float = 300, name: str = "acceptance"
) -> tuple[int, int, str | None]:
    """(passed, total, problem) of a benchmark's test file against ``project`` (the total counted
    from the file, so a project that does not import scores 0 of all). The tests run the generated
    code, so they run in the sandbox: write access to ``out_dir`` only, the test file's folder and
    agentco's own environment (for pytest) read-only, no network, and none of our environment."""
    from agentco.sandbox import run_sandboxed

    junit = out_dir / f"{name}.xml"
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(test_file.parent)]
    argv += [f"--junitxml={junit}", str(test_file)]
    env = {"PROJECT": str(project), "PYTHONDONTWRITEBYTECODE": "1"}
    done = run_sandboxed(
        argv,
        project=out_dir,
        timeout=timeout,
        cpu_seconds=int(timeout),
        memory_mb=4096,
        env=env,
        extra_ro=[test_file.parent, Path(sys.prefix), *([project] if not project.is_relative_to(out_dir) else [])],
        output_cap=16 * 1024,
    )
    expected = expected_tests(test_file)
    (out_dir / f"{name}.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    if not junit.is_file():
        return 0, expected, f"no {name} report (pytest exited {done.returncode}, timed out: {done.timed_out})"
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    passed = sum(not any(child.tag in ("failure", "error", "skipped") for child in case) for case in cases)
    return passed, max(len(cases), expected), None


def task_run(task: Task, run: int, row: dict[str, Any], workspace: Path) -> TaskRun:
    """A task's run as its batch row tells it, scored with the task's acceptance tests."""
    project = Path(row["path"]) if row["path"] else workspace / row["project"]
    summary = _read_summary(project)
    error = row["error"]
    if project.is_dir():
        out = workspace / ".acceptance" / row["project"]
        out.mkdir(parents=True, exist_ok=True)
        passed, total, problem = run_acceptance(task, project, out)
        error = error or problem
    else:
        passed, total = 0, expected_tests(task.acceptance)
        error = error or "no project was created"
    files = summary.get("files") or (_source_files(project) if project.is_dir() else [])
    return TaskRun(
        task=task.name,
        run=run,
        status=row["result"] or row["status"],
        exit_code=0 if row["status"] == "completed" else 1,
        wall_s=round(row["wall_s"], 2),
        llm_calls=row["calls"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        cost_usd=row["cost_usd"],
        loc=source_lines(project, files),
        own_tests_passed=row["tests_passed"],
        own_tests_failed=row["tests_failed"],
        acceptance_passed=passed,
        acceptance_total=total,
        project=str(project),
        error=error,
    )


def run_status(done: Any, summary: dict[str, Any], timeout: float) -> tuple[str, str | None]:
    """(status, error) of one ``agentco`` process: its own status, or ``timeout`` / ``crashed``."""
    if done.timed_out:
        return "timeout", f"no result within {timeout:.0f}s"
    if "status" in summary and done.returncode in (0, 1):
        return summary["status"], None
    return "crashed", _last_line(done.stderr) or f"exit status {done.returncode}"


def _read_summary(project: Path) -> dict[str, Any]:
    path = project / ".agentco" / "summary.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def run_suite(
    settings: Settings,
    tasks: Sequence[Task],
    model: str,
    workspace: Path,
    *,
    repeat: int = 1,
    timeout: float = 1800,
    on_run: Callable[[TaskRun], None] | None = None,
    concurrency: int = 1,
    ray: str | None = None,
) -> dict[str, Any]:
    """Every task ``repeat`` times, as one batch in ``workspace`` (on the Ray cluster at ``ray`` if
    given: ``local`` starts one here); returns per-task means and each run, and the suite's totals.

    ``{task}`` in ``model`` is replaced by the task's name: ``fake:{task}`` plays each task's scripted company.
    """
    from agentco.batch.cluster import cluster_for
    from agentco.batch.items import BatchItem, plan_jobs
    from agentco.batch.run import BatchOptions, run_batch

    items = [BatchItem(idea=t.prompt, project=t.name, model=model.replace("{task}", t.name)) for t in tasks]
    settings = settings.model_copy(update={"workspace": workspace})
    jobs = plan_jobs(items, repeat=repeat, workspace=workspace)
    with cluster_for(ray, concurrency) as cluster:
        report = run_batch(settings, jobs, BatchOptions(concurrency, timeout=timeout), cluster=cluster)
    runs: list[TaskRun] = []
    for i, row in enumerate(report["runs"]):
        result = task_run(tasks[i % len(tasks)], i // len(tasks) + 1, row, workspace)
        runs.append(result)
        if on_run is not None:
            on_run(result)
    return summarize(runs, repeat)


def summarize(runs: Sequence[TaskRun], repeat: int) -> dict[str, Any]:
    per_task: dict[str, Any] = {}
    for name in dict.fromkeys(r.task for r in runs):
        mine = [r for r in runs if r.task == name]
        means = {key: _round(mean(getattr(r, key) for r in mine)) for key in _NUMERIC}
        means["tokens_per_loc"] = _ratio(means["completion_tokens"], means["loc"])
        means["fully_passing"] = _round(mean(r.fully_passing for r in mine))
        means["verdict_agrees"] = _round(mean(r.verdict_agrees for r in mine))
        per_task[name] = {"mean": means, "runs": [_run_record(r) for r in mine]}
    totals = {key: _round(sum(getattr(r, key) or 0 for r in runs) / repeat) for key in _NUMERIC}
    totals["tasks"] = len(per_task)
    totals["tasks_fully_passing"] = _round(sum(r.fully_passing for r in runs) / repeat)
    totals["acceptance_rate"] = _ratio(totals["acceptance_passed"], totals["acceptance_total"])
    totals["tokens_per_loc"] = _ratio(totals["completion_tokens"], totals["loc"])
    totals["verdict_agreement"] = _ratio(sum(r.verdict_agrees for r in runs), len(runs))
    totals["runs_ended_before_code"] = sum(r.before_code for r in runs)
    return {"repeat": repeat, "totals": totals, "tasks": per_task}


def _run_record(r: TaskRun) -> dict[str, Any]:
    return {
        **asdict(r),
        "fully_passing": r.fully_passing,
        "tokens_per_loc": r.tokens_per_loc,
        "verdict_agrees": r.verdict_agrees,
        "before_code": r.before_code,
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _round(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(value, 3)


def suite_table(report: dict[str, Any]) -> Any:
    from agentco.bench.report import table

    columns = ["task", "acceptance", "full", "wall s", "calls", "prompt tok", "compl tok", "cost $", "LOC"]
    columns += ["tok/LOC", "own tests", "verdict ok"]
    rows = []
    for name, entry in [*report["tasks"].items(), ("TOTAL", {"mean": report["totals"]})]:
        m = entry["mean"]
        full = m["tasks_fully_passing"] if name == "TOTAL" else m["fully_passing"]
        own = f"{m['own_tests_passed'] or 0}/{(m['own_tests_passed'] or 0) + (m['own_tests_failed'] or 0)}"
        rows.append([
            name,
            f"{m['acceptance_passed']}/{m['acceptance_total']}",
            full,
            m["wall_s"],
            m["llm_calls"],
            m["prompt_tokens"],
            m["completion_tokens"],
            m["cost_usd"],
            m["loc"],
            m["tokens_per_loc"],
            own,
            m["verdict_agreement"] if name == "TOTAL" else m["verdict_agrees"],
        ])  # fmt: skip
    title = "project suite" + (f" (mean of {report['repeat']} runs)" if report["repeat"] > 1 else "")
    title += f"; runs ended before code: {report['totals']['runs_ended_before_code']}"
    return table(title, columns, rows)
