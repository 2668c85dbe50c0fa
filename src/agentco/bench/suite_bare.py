"""The suite's bare baseline: one model call per task writes every file of the project from the idea
alone (no documents, no tests, no fixes), and the task's acceptance tests score those files as they
score the company's projects. It measures what the model does on its own, so that the company's
figures on the same model can be read against it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agentco.bench.suite import Task, TaskRun, expected_tests, run_acceptance, source_lines, summarize
from agentco.errors import AgentcoError, ConfigError
from agentco.llm.files import project_files


async def write_bare(
    client: Any, task: Task, folder: Path, max_tokens: int = 2048
) -> tuple[dict[str, str], str | None]:
    """One call at temperature 0; the reply's files written into ``folder``."""
    from agentco.llm.base import ChatRequest
    from agentco.templates import render

    messages = [
        {"role": "system", "content": render("bench/system.j2")},
        {"role": "user", "content": render("bench/write_project.j2", requirement=task.prompt)},
    ]
    request = ChatRequest(messages, temperature=0.0, max_tokens=max_tokens, schema_name="project")
    completion = await client.complete(request, who="bare", what=f"project {task.name}")
    files = project_files(completion.text)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".reply.md").write_text(completion.text, encoding="utf-8")  # what the files came from, to read
    for name, code in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(code, encoding="utf-8")
    return files, None if files else "the reply named no file"


def run_bare_suite(
    model: str, tasks: Sequence[Task], workspace: Path, *, repeat: int = 1,
    on_run: Callable[[TaskRun], None] | None = None, client_for: Callable[[str], Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Each task ``repeat`` times with one bare call, scored with its acceptance tests (``client_for``
    builds a fresh model client per run; by default from the settings, as HumanEval's runs do)."""
    if client_for is None:
        from agentco.bench.humaneval import client_for
    if model.startswith("fake:"):
        raise ConfigError(f"the bare baseline needs a real model; {model} only plays a scripted company")
    runs: list[TaskRun] = []
    for run in range(1, repeat + 1):
        for task in tasks:
            client = client_for(model)
            folder = workspace / "bare" / f"{task.name}-{run}"
            started = time.monotonic()
            try:
                files, error = asyncio.run(write_bare(client, task, folder))
            except AgentcoError as exc:
                files, error = {}, f"{type(exc).__name__}: {exc}"
            wall = time.monotonic() - started
            out = workspace / ".acceptance" / "bare" / f"{task.name}-{run}"
            out.mkdir(parents=True, exist_ok=True)
            passed, total, problem = run_acceptance(task, folder, out) if files else (0, 0, None)
            usage = client.meter.summary()
            result = TaskRun(
                task=task.name, run=run, status="bare", exit_code=0, wall_s=round(wall, 2),
                llm_calls=int(usage["llm_calls"]), prompt_tokens=int(usage["prompt_tokens"]),
                completion_tokens=int(usage["completion_tokens"]), cost_usd=float(usage["cost_usd"]),
                loc=source_lines(folder, list(files)), own_tests_passed=None, own_tests_failed=None,
                acceptance_passed=passed, acceptance_total=total or expected_tests(task.acceptance), project=str(folder),
                error=error or problem,
            )  # fmt: skip
            runs.append(result)
            if on_run is not None:
                on_run(result)
    report = summarize(runs, repeat)
    report["totals"]["verdict_agreement"] = None  # a bare run gives no verdict of its own
    for entry in report["tasks"].values():
        entry["mean"]["verdict_agrees"] = None
        for record in entry["runs"]:
            record["verdict_agrees"] = None
    return {"mode": "bare", **report}
