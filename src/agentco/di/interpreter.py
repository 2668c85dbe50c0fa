"""The Data Interpreter's loop: plan, then for each task write a cell, run it, fix it; replan a task
that cannot be fixed; answer. Every cell is in the notebook, every finished task is a commit.

A run is durable the way a company run is: its model calls are kept in the run store, so a
resumed run goes through the same steps with the calls served from the store and each recorded
cell executed again, which rebuilds the kernel's state without asking the model anything.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentco.core.ending import announce_failure
from agentco.di import steps
from agentco.di.kernel import KernelLimits, SandboxKernel
from agentco.di.notebook import Cell, TaskResult, answer_pairs, charts_of, notebook
from agentco.di.schemas import WHOLE_REQUEST, Plan, PlanTask, normalise
from agentco.errors import ModelOutputError
from agentco.events import CELL, NOTE, RUN_FINISHED, RUN_STARTED, STAGE_FINISHED, EventBus
from agentco.llm.client import LLMClient
from agentco.templates import render

ROLE = "data_interpreter"


@dataclass
class DiOptions:
    workspace: Path
    project_name: str | None = None
    data: tuple[Path, ...] = ()
    max_steps: int = 5
    fix_attempts: int = 2
    replans: int = 1
    max_calls: int = 15
    """Model calls a run makes before it stops planning and fixing and answers with what it has."""
    cell_timeout: float = 120.0
    limits: KernelLimits = field(default_factory=KernelLimits)
    env_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "agentco" / "envs")
    output_attempts: int = 3
    temperature: float = 0.2
    max_tokens: int = 1024
    replace_project: Path | None = None
    """The one existing folder this run may replace: its own, rebuilt on resume."""


@dataclass
class DiOutcome:
    run_id: str | None
    status: str
    """``answered`` (every task done), ``partial`` (some failed) or ``failed`` (none done)."""
    project: Path | None
    summary: dict[str, Any]
    notes: list[str]
    answer: str


async def run_interpreter(
    request: str,
    options: DiOptions,
    llm: LLMClient,
    *,
    events: EventBus | None = None,
    store: Any = None,
    run_id: str | None = None,
    previous_wall_s: float = 0.0,
    reviewer: Any = None,
    kernel_factory: Callable[[Path, Path], SandboxKernel] | None = None,
) -> DiOutcome:
    """Answer a request about data. Raises what stops the run (budget, Ctrl-C) after announcing it."""
    from agentco.store.recorder import follow_run

    events = events or EventBus(run_id, store)
    wall_s = follow_run(events, store, run_id, llm.meter.summary, previous_wall_s)
    events.emit(RUN_STARTED, idea=request, model=str(llm.ref))
    session = Interpreter(request, options, llm, events, reviewer)
    with announce_failure(events):
        python = await asyncio.to_thread(steps.kernel_python, options.env_dir, events)
        folder = steps.open_folder(request, options, events)
        session.folder = folder
        make = kernel_factory or (lambda root, py: SandboxKernel(root, py, limits=options.limits))
        with make(folder.root, python) as kernel:
            session.kernel = kernel
            answer = await session.run()
        summary = session.finish(answer, wall_s())
    project = session.folder.root
    events.emit(RUN_FINISHED, status="completed", result=summary["status"], project=str(project))
    return DiOutcome(run_id, summary["status"], project, summary, session.notes, answer)


class Interpreter:
    """One run's state: the plan, the cells the kernel ran, each task's result."""

    def __init__(self, request: str, options: DiOptions, llm: LLMClient, events: EventBus, reviewer: Any):
        self.request, self.options, self.llm, self.events, self.reviewer = request, options, llm, events, reviewer
        self.folder: Any = None
        self.kernel: Any = None
        self.plan = Plan(tasks=[PlanTask(id="1", instruction=WHOLE_REQUEST, type="answer")])
        self.cells: list[Cell] = []
        self.results: dict[str, TaskResult] = {}
        self.notes: list[str] = []
        self.replans_left = options.replans
        self.unsupported: list[str] = []
        """Answer pairs whose value no cell printed (the model may have made them up)."""

    async def run(self) -> str:
        self.plan = await steps.make_plan(self)
        queue = list(self.plan.tasks)
        while queue and not self.spent(f"{len(queue)} task(s) not started"):
            task = queue.pop(0)
            result = await self.work_on(task)
            self.finish_task(task, result)
            if result.status == "failed" and self.replans_left > 0 and not self.spent("no replan"):
                self.replans_left -= 1
                queue = await steps.replan(self, task, result) or queue
        return await steps.final_answer(self)

    async def work_on(self, task: PlanTask) -> TaskResult:
        """Write the task's cell and run it; a failing cell goes back with what went wrong, a bounded
        number of times, and a rewrite identical to a failed cell is refused before it runs. A cell
        that ran is checked too (``steps.cell_problem``); if it never passes its check, the last
        cell that ran is the task's result."""
        tried: set[str] = set()
        code = await steps.write_code(self, task, tried)
        attempt, cell = 0, None
        while code is not None and attempt <= self.options.fix_attempts:
            attempt += 1
            cell = await self.execute(task, attempt, code)
            problem = await steps.cell_problem(self, task, cell)
            if problem is None:
                return TaskResult("done", attempt, code, cell.shown, cell.charts)
            tried.add(normalise(code))
            more = attempt <= self.options.fix_attempts and not self.spent("no more fixes")
            code = (steps.mended(self, task, cell, tried) or await steps.fix_code(self, task, cell, problem, tried)
                    if more else None)  # fmt: skip
        if cell is not None and cell.run.ok:
            self.note(f"task {task.id}: kept its last cell, which ran but did not pass its check")
            return TaskResult("done", attempt, cell.code, cell.shown, cell.charts)
        shown = cell.shown if cell else "no code could be written for this task"
        return TaskResult("failed", attempt, cell.code if cell else "", shown, cell.charts if cell else [])

    def spent(self, what: str) -> bool:
        """Whether the run has made its ``max_calls`` model calls (noted, with what it skips)."""
        if self.llm.meter.llm_calls < self.options.max_calls:
            return False
        self.note(f"the run made its {self.options.max_calls} model calls (di.max_calls): {what}; answering now")
        return True

    async def execute(self, task: PlanTask, attempt: int, code: str) -> Cell:
        run = await asyncio.to_thread(self.kernel.execute, code, timeout=self.options.cell_timeout)
        cell = Cell(task.id, task.instruction, attempt, code, run)
        for path, png in charts_of(run, task.id, attempt):
            self.folder.write_bytes(path, png)
            cell.charts.append(path)
        self.cells.append(cell)
        self.events.emit(CELL, task=task.id, attempt=attempt, code=code, status=run.status, shown=cell.shown,
                         charts=cell.charts, seconds=round(run.duration_s, 2))  # fmt: skip
        if run.restarted:
            await asyncio.to_thread(self.replay)
        return cell

    def replay(self) -> None:
        """After a restart: run the cells that had succeeded again, so their variables exist."""
        done = [c for c in self.cells if c.run.ok]
        for cell in done:
            self.kernel.execute(cell.code, timeout=self.options.cell_timeout)
        self.note(f"the kernel was restarted; {len(done)} earlier cell(s) were run again to rebuild its state")

    def plan_task(self, task_id: str) -> PlanTask:
        return next((t for t in self.plan.tasks if t.id == task_id), PlanTask(id=task_id, instruction="(unknown)"))

    def names(self) -> str:
        return steps.kernel_names(self.kernel)

    def finish_task(self, task: PlanTask, result: TaskResult) -> None:
        self.results[task.id] = result
        self.write_outputs(answer=None)
        self.folder.commit(f"Task {task.id} ({result.status}): {task.instruction[:60]}", ROLE)
        self.events.emit(STAGE_FINISHED, name=f"task {task.id}", project=str(self.folder.root))

    def write_outputs(self, answer: str | None) -> None:
        import nbformat

        nb = notebook(self.request, self.cells)
        self.folder.write("notebook.ipynb", nbformat.writes(nb) + "\n")
        self.folder.write("report.md", self.report(answer or "(not answered yet)") + "\n")

    def report(self, answer: str) -> str:
        return render(
            "di/report.md.j2",
            title=self.folder.root.name,
            request=self.request,
            answer=answer,
            plan=self.plan.tasks,
            results=self.results,
            model=str(self.llm.ref),
            calls=self.llm.meter.llm_calls,
            cells=len(self.cells),
        )

    def finish(self, answer: str, wall_s: float) -> dict[str, Any]:
        done = [r for r in self.results.values() if r.status == "done"]
        status = "answered" if len(done) == len(self.results) else "partial" if done else "failed"
        values = answer_pairs(answer)
        self.write_outputs(answer)
        data = {"request": self.request, "answer": answer, "values": values, "unsupported": self.unsupported, "status": status,
                "tasks": {tid: r.status for tid, r in self.results.items()}}  # fmt: skip
        self.folder.write("answer.json", json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        summary = {"status": status, **self.llm.meter.summary(), "wall_s": wall_s, "tests_passed": None,
                   "tests_failed": None, "model": str(self.llm.ref), "cells": len(self.cells),
                   "notes": self.notes}  # fmt: skip
        self.folder.commit("The answer, the report and the notebook", ROLE)
        return summary

    def note(self, text: str) -> None:
        self.notes.append(text)
        self.events.emit(NOTE, text=text, source=ROLE)

    def ask_failed(self, what: str, exc: ModelOutputError) -> None:
        self.note(f"{what}: the model gave no usable answer ({exc.last_error[:200]})")
