"""The interpreter's named steps: its folder and kernel environment, and each question it asks the
model (plan, code, fix, answer), with the fallback each one takes when the model gives nothing usable."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentco.core.message import Message
from agentco.di.checks import answer_problem, column_hints, hint_lines, respelled
from agentco.di.environment import ensure_environment, python_of
from agentco.di.notebook import ANSWER_PAIR, answer_pairs, unsupported
from agentco.di.schemas import (
    PLAN_MESSAGE,
    WHOLE_REQUEST,
    Plan,
    PlanTask,
    code_problem,
    normalise,
    tidy_code,
    tidy_plan,
)
from agentco.errors import ConfigError, ModelOutputError
from agentco.events import NOTE, PLAN, PROJECT_OPENED, EventBus
from agentco.llm.structured import JsonOutput, TextOutput, generate
from agentco.templates import render

if TYPE_CHECKING:
    from agentco.company.project import ProjectFolder
    from agentco.di.interpreter import DiOptions, Interpreter
    from agentco.di.kernel import CellRun, SandboxKernel
    from agentco.di.notebook import Cell, TaskResult

ROLE = "data_interpreter"
PREVIEW_LINES, PREVIEW_WIDTH = 5, 200
CODE_TOKENS = 768
"""A cell is short; a reply that runs on is cut here (about a minute on the local model)."""
_NAMES_MARK = "__agentco_names__"
_NAMES_CODE = f"""
import json as _agentco_json
def _agentco_describe(value):
    kind = type(value).__name__
    columns, shape = getattr(value, "columns", None), getattr(value, "shape", None)
    if columns is not None and shape is not None and len(shape) == 2:
        return f"{{kind}} {{shape[0]}}x{{shape[1]}}, columns {{[str(c) for c in columns][:30]!r}}"
    return kind
print({_NAMES_MARK!r} + _agentco_json.dumps(sorted(
    f"{{k}}: {{_agentco_describe(v)}}" for k, v in globals().items()
    if not k.startswith("_") and k not in ("In", "Out", "get_ipython", "exit", "quit", "open"))[:60]))
"""
"""Lists the kernel's names with their types, and a table's size and columns (exact, spaces included)."""


# --- the folder and the kernel's environment ----------------------------------------------------
def kernel_python(env_dir: Path, events: EventBus) -> Path:
    return python_of(ensure_environment(env_dir, say=lambda text: events.emit(NOTE, text=text, source="runtime")))


def open_folder(request: str, options: DiOptions, events: EventBus) -> ProjectFolder:
    """The run's folder in the workspace, with the data files copied in read-only under ``data/``."""
    from agentco.company.project import ProjectFolder

    for path in options.data:
        if not path.is_file():
            raise ConfigError(f"no data file {path}", key="--data")
    names = [p.name for p in options.data]
    if len(set(names)) != len(names):
        raise ConfigError("two data files have the same name; rename one", key="--data")
    root = options.replace_project or options.workspace / (
        options.project_name or _free_name(options.workspace, request)
    )
    events.emit(PROJECT_OPENED, path=str(root))
    folder = ProjectFolder.create(root, events=events, replace=root == options.replace_project)
    (root / ".gitignore").write_text(".ipynb_checkpoints/\n__pycache__/\ndata/\n", encoding="utf-8")
    for path in options.data:
        target = root / "data" / path.name
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(path, target, follow_symlinks=True)
        target.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    return folder


def _free_name(workspace: Path, request: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", request.lower())[:4] or ["analysis"]
    base = "_".join(words)[:60]
    name, n = base, 1
    while (workspace / name).exists():
        n += 1
        name = f"{base}_{n}"
    return name


def data_files(session: Interpreter) -> list[dict[str, str]]:
    """Each data file's path in the folder and its first lines (the model writes better code when it
    has seen the columns; the files are the user's, read on the host, never generated code)."""
    return [
        {"path": f"data/{p.name}", "preview": file_preview(p)} for p in sorted((session.folder.root / "data").glob("*"))
    ]


def file_preview(path: Path) -> str:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            lines = [next(handle, "")[:PREVIEW_WIDTH].rstrip("\n") for _ in range(PREVIEW_LINES)]
    except OSError:
        return ""
    return "\n".join(line for line in lines if line)


def _context(session: Interpreter) -> dict[str, Any]:
    return {"request": session.request, "files": data_files(session)}


def _messages(prompt: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": render("di/system.j2")}, {"role": "user", "content": prompt}]


def has_answer_format(request: str) -> bool:
    return ANSWER_PAIR.search(request) is not None


# --- the plan -----------------------------------------------------------------------------------
async def make_plan(session: Interpreter, *, failed: str = "", feedback: str = "") -> Plan:
    """The model's plan, shown to the reviewer when there is one (``--confirm``); a single task
    doing the whole request when the model gives no valid plan."""
    plan = await _ask_plan(session, failed=failed, feedback=feedback)
    for _ in range(3):  # the review gate of the team loop, given the plan as a message
        if session.reviewer is None:
            break
        verdict = await session.reviewer.review(plan_message(plan))
        if verdict.decision == "approve":
            break
        if verdict.decision == "edit" and verdict.message is not None:
            plan = edited_plan(verdict.message, plan)
            break
        plan = await _ask_plan(session, feedback=verdict.feedback)
    session.events.emit(PLAN, tasks=[t.model_dump() for t in plan.tasks])
    return plan


def plan_message(plan: Plan) -> Message:
    text = "\n".join(f"{t.id}. [{t.type}] {t.instruction}" for t in plan.tasks)
    return Message(text, sent_from=ROLE, cause_by=PLAN_MESSAGE, payload=plan)


def edited_plan(message: Message, before: Plan) -> Plan:
    """The reviewer's version: a Plan payload, or the text as numbered lines ("1. [load] Read ...")."""
    if isinstance(message.payload, Plan):
        return message.payload
    tasks = []
    for number, line in enumerate(line for line in message.content.splitlines() if line.strip()):
        found = re.match(r"\s*(?:\d+[.)]\s*)?(?:\[(\w+)\]\s*)?(.+)", line)
        if found and len(found[2].strip()) >= 3:
            tasks.append({"id": str(number + 1), "instruction": found[2].strip(), "type": found[1] or "analyse"})
    try:
        return Plan.model_validate(tidy_plan({"tasks": tasks}, 20))
    except ValueError:
        return before


async def _ask_plan(session: Interpreter, *, failed: str = "", feedback: str = "") -> Plan:
    o = session.options
    done = ", ".join(f"{tid}" for tid, r in session.results.items() if r.status == "done")
    prompt = render("di/plan.j2", **_context(session), max_tasks=o.max_steps, answer_format=has_answer_format(session.request),
                    failed=failed, done=done, feedback=feedback)  # fmt: skip
    spec = JsonOutput(Plan, name="plan", normalise=lambda data: tidy_plan(data, o.max_steps))
    try:
        generation = await generate(session.llm, _messages(prompt), spec, attempts=o.output_attempts,
                                    temperature=o.temperature, max_tokens=min(o.max_tokens, 600), who=ROLE)  # fmt: skip
        return generation.value
    except ModelOutputError as exc:
        session.ask_failed("the plan", exc)
        return Plan(tasks=[PlanTask(id=f"{len(session.results) + 1}", instruction=WHOLE_REQUEST, type="answer")])


async def replan(session: Interpreter, task: PlanTask, result: TaskResult) -> list[PlanTask] | None:
    """New tasks for the rest of the work after ``task`` could not be fixed (None: keep the old ones)."""
    failed = f"{task.instruction}\nIts last error:\n{result.shown[-800:]}"
    plan = await make_plan(session, failed=failed)
    done = {session.plan_task(tid).instruction for tid, r in session.results.items() if r.status == "done"}
    fresh = [t for t in plan.tasks if t.instruction not in done]  # a task already done is not done again
    for number, t in enumerate(fresh, 1):
        t.id = f"{task.id}.{number}"  # ids never collide with the tasks already run
    if not fresh:
        return None
    session.plan = Plan(tasks=[t for t in session.plan.tasks if t.id in session.results] + fresh)
    session.note(f"task {task.id} failed; replanned the rest as {len(fresh)} task(s)")
    return fresh


# --- code ---------------------------------------------------------------------------------------
async def write_code(session: Interpreter, task: PlanTask, tried: set[str]) -> str | None:
    cells = [{"code": c.code, "shown": c.shown[-600:]} for c in session.cells if c.run.ok]
    prompt = render("di/code.j2", **_context(session), plan=session.plan.tasks, done_ids=set(session.results),
                    cells=cells, names=session.names() if cells else "", task=task,
                    answer_format=has_answer_format(session.request) and answers(session, task))  # fmt: skip
    return await _ask_code(session, prompt, f"cell {task.id}", tried)


def answers(session: Interpreter, task: PlanTask) -> bool:
    """Whether the task is the one that gives the answer (typed so, or the plan's last)."""
    return task.type == "answer" or task.id == session.plan.tasks[-1].id


async def cell_problem(session: Interpreter, task: PlanTask, cell: Cell) -> str | None:
    """What went wrong with a cell, for the model to fix, or None: a failed cell's error (with a hint
    for a column asked under a near name), or what ``checks.answer_problem`` finds in its answer lines."""
    if not cell.run.ok:
        if cell.run.status == "error":
            cell.hints = await asyncio.to_thread(column_hints, session.kernel, cell.run)
        hints = hint_lines(cell.hints)
        return f"Its output and error:\n{cell.shown}" + (f"\n{hints}" if hints else "")
    if not has_answer_format(session.request):
        return None
    before = "\n".join(c.shown for c in session.cells if c.run.ok and not c.rejected and c is not cell)
    problem = answer_problem(session.request, cell.code, cell.shown, before, answers=task.type == "answer")
    if problem:
        cell.rejected = problem
        session.note(f"task {task.id}, attempt {cell.attempt}: {problem.split('. ')[0]}")
        return f"Its output:\n{cell.shown}\n\nWhat is wrong: {problem}"
    return None


def mended(session: Interpreter, task: PlanTask, cell: Cell, tried: set[str]) -> str | None:
    """The failed cell fixed by the program itself, where the fix has one right answer (a column
    named without the spaces around its name); None otherwise, or when that was tried already."""
    code = respelled(cell.code, cell.hints)
    if code is None or normalise(code) in tried:
        return None
    columns = ", ".join(repr(c) for h in cell.hints for c in h["columns"])
    session.note(f"task {task.id}: the cell named a column without the spaces around its name; used {columns}")
    return code


async def fix_code(session: Interpreter, task: PlanTask, cell: Cell, problem: str, tried: set[str]) -> str | None:
    prompt = render("di/fix.j2", **_context(session), task=task, code=cell.code, error=problem, names=session.names())
    return await _ask_code(session, prompt, f"fix {task.id}", tried)


async def _ask_code(session: Interpreter, prompt: str, what: str, tried: set[str]) -> str | None:
    """A cell's code (``what``: "cell 2", "fix 2"); None when the model gives no usable code."""
    o = session.options
    spec = TextOutput(name=what, check=lambda text: code_problem(tidy_code(text)[0], tried))
    try:
        generation = await generate(session.llm, _messages(prompt), spec, attempts=o.output_attempts,
                                    temperature=o.temperature, max_tokens=min(o.max_tokens, CODE_TOKENS), who=ROLE)  # fmt: skip
    except ModelOutputError as exc:
        session.ask_failed(what, exc)
        return None
    code, removed = tidy_code(generation.value)
    if removed:
        session.note(f"{what}: removed {removed} notebook magic/shell line(s) the kernel cannot run here")
    return code


def kernel_names(kernel: SandboxKernel) -> str:
    """The names defined in the kernel, with their types ("df: DataFrame"), for the model."""
    run: CellRun = kernel.execute(_NAMES_CODE, timeout=10, history=False)
    for out in run.outputs:
        if out["output_type"] == "stream" and _NAMES_MARK in out["text"]:
            try:
                names = json.loads(out["text"].split(_NAMES_MARK, 1)[1].splitlines()[0])
            except (ValueError, IndexError):
                return ""
            return "; ".join(str(n)[:600] for n in names if isinstance(n, str))
    return ""


# --- the answer ---------------------------------------------------------------------------------
async def final_answer(session: Interpreter) -> str:
    """The answer. Where the request gives ``@name[value]`` lines and the cells printed every one of
    them, those lines are the answer (nothing is left to judge, so no call). Otherwise the model
    answers from what the cells printed. A cell that did not pass its check counts for neither: its
    answer lines were typed, not computed. An answer without the pairs gets the ones the cells
    printed; with no answer from the model, the last finished task's output is the answer."""
    o = session.options
    cells = [{"task_id": c.task_id, "instruction": c.instruction, "shown": c.shown[-800:]}
             for c in session.cells if c.run.ok and not c.rejected]  # fmt: skip
    printed = answer_pairs("\n".join(c["shown"] for c in cells))
    asked = list(answer_pairs(session.request))
    if asked and all(name in printed for name in asked):
        session.note("answered with the @name[value] lines the notebook printed in the requested format")
        return "\n".join(f"@{name}[{printed[name]}]" for name in asked)
    wanted = has_answer_format(session.request)
    prompt = render("di/answer.j2", **_context(session), cells=cells, answer_format=wanted)
    try:
        generation = await generate(session.llm, _messages(prompt), TextOutput(name="answer"), attempts=o.output_attempts,
                                    temperature=o.temperature, max_tokens=min(o.max_tokens, 400), who=ROLE)  # fmt: skip
        answer = generation.value.strip()
    except ModelOutputError as exc:
        session.ask_failed("the answer", exc)
        answer = cells[-1]["shown"] if cells else "No answer: no task of the plan could be run."
    if wanted and printed and not answer_pairs(answer):
        answer += "\n\n" + "\n".join(f"@{name}[{value}]" for name, value in printed.items())
        session.note("the answer had no @name[value] lines; the ones the cells printed were added")
    if invented := unsupported(answer, "\n".join(c["shown"] for c in cells)):
        session.unsupported = invented
        session.note(f"the answer gives {', '.join(invented)}, which no cell printed: check it before using it")
    return answer
