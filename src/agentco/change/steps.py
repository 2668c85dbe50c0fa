"""The questions a change asks the model, each with the fallback it takes when the model gives
nothing usable: the PRD delta, the design (which files), the tasks, each file's edit, the tests."""

from __future__ import annotations

import ast
import copy
from typing import TYPE_CHECKING, Any

from agentco.change.edit import EditError, merge, salvage
from agentco.change.named import requested_names, says_it_removes
from agentco.change.schemas import ChangeDesign, ChangePrd, ChangeTask, ChangeTasks, design_for, tasks_for, tidy_design
from agentco.change.signatures import broken_calls
from agentco.company.repairs import fit
from agentco.errors import ModelOutputError
from agentco.llm.structured import JsonOutput, TextOutput, generate
from agentco.templates import render

if TYPE_CHECKING:
    from agentco.change.run import Change

EDIT_TOKENS = 1500
DOC_TOKENS = 600


def _messages(role: str, template: str, session: Change, **variables: Any) -> list[dict[str, str]]:
    """Stable parts first (the system prompt, the change, the project) so a local model reuses its cache."""
    user = render(template, change=session.change, project=session.map, prd=session.prd, design=session.design,
                  **variables)  # fmt: skip
    return [{"role": "system", "content": render("change/system.j2", role=role)}, {"role": "user", "content": user}]


async def _ask(session: Change, who: str, messages: list[dict[str, str]], spec: Any, max_tokens: int) -> Any:
    o = session.options
    generation = await generate(session.llm, messages, spec, attempts=o.output_attempts, temperature=o.temperature,
                                max_tokens=max_tokens, who=who)  # fmt: skip
    return generation.value


def _fitted(schema: type, name: str, notes: list[str], then: Any = None) -> JsonOutput:
    """The schema's output with over-long strings and lists cut to its bounds first (the company's
    mechanical repair, ``repairs.fit``); ``notes`` holds the repairs made to the last answer parsed."""

    def normalise(data: Any) -> Any:
        notes.clear()
        data = fit(schema, data, notes)
        return then(data) if then is not None else data

    return JsonOutput(schema, name=name, normalise=normalise)


async def write_prd(session: Change) -> ChangePrd:
    messages, notes = _messages("the product manager", "change/prd.j2", session), []
    try:
        prd = await _ask(session, "product_manager", messages, _fitted(ChangePrd, "ChangePrd", notes), DOC_TOKENS)
    except ModelOutputError as exc:
        session.note(f"PRD delta: the change request itself, the model's did not validate ({exc.last_error[:160]})")
        return ChangePrd(summary=session.change[:400], changes=[session.change[:400]], keep=["everything else"])
    for note in notes:
        session.note(f"PRD delta: {note}")
    return prd


async def write_design(session: Change) -> ChangeDesign:
    """Which files change. Falls back to the source files the change request names, else the first
    three (a small project), each to be modified as the request says."""
    toolchain, sources = session.toolchain, set(session.map.sources)
    notes: list[str] = []
    schema = design_for(sources, toolchain.path_problem)
    spec = _fitted(schema, "ChangeDesign", notes, lambda d: tidy_design(d, sources, toolchain.is_test_file, notes))
    messages = _messages("the architect", "change/design.j2", session)
    try:
        design = await _ask(session, "architect", messages, spec, DOC_TOKENS)
    except ModelOutputError as exc:
        named = [path for path in sorted(sources) if path in session.change] or sorted(sources)[:3]
        session.note(f"design: the files the request names ({', '.join(named)}); the model's did not validate "
                     f"({exc.last_error[:160]})")  # fmt: skip
        return ChangeDesign(files=[{"path": p, "action": "modify", "why": session.change[:400]} for p in named])
    for note in notes:
        session.note(f"design: {note}")
    return design


async def write_tasks(session: Change) -> ChangeTasks:
    files, notes = [f.path for f in session.design.files], []
    messages = _messages("the project manager", "change/tasks.j2", session)
    try:
        tasks = await _ask(
            session, "project_manager", messages, _fitted(tasks_for(files), "ChangeTasks", notes), DOC_TOKENS
        )
    except ModelOutputError as exc:
        session.note(f"tasks: one per file from the design ({exc.last_error[:160]})")
        return ChangeTasks(tasks=[ChangeTask(file=f.path, description=f.why) for f in session.design.files])
    for note in notes:
        session.note(f"tasks: {note}")
    return tasks


async def edit_file(session: Change, task: ChangeTask, problems: list[str] = ()) -> str | None:  # type: ignore[assignment]
    """The file after the task's edit (merged, see ``change.edit``), or None when the model gave no
    usable edit. A new file is written whole."""
    current = session.current(task.file)
    exempt = set(requested_names(session.change))
    removing = says_it_removes(session.change)
    related = {p: session.map.outlines.get(p, "") for p in session.design_files() if p != task.file}

    def check(text: str) -> str | None:
        if current is None:
            return session.toolchain.check_syntax(text)
        try:
            merged = merge(current, text)
        except EditError as exc:
            return str(exc)
        if merged.source == current:
            return "the edit changes nothing; give the definitions the task adds or changes"
        if broken := broken_calls(current, merged.source, exempt, removing):
            return ("the edit breaks calls the project makes now; keep every old parameter in its place (a new "
                    "one needs a default), or leave that definition out of the answer: " + "; ".join(broken[:3]))  # fmt: skip
        return None

    rescued: list[str] = []

    def rescue(answer: str) -> str | None:
        rescued[:] = [text] if (text := salvage(answer)) is not None else []
        return text

    messages = _messages("the engineer", "change/edit.j2", session, task=task, current=current, related=related,
                         problems=list(problems))  # fmt: skip
    spec = TextOutput(name=f"edit {task.file}", check=check, salvage=rescue)
    try:
        text = await _ask(session, "engineer", messages, spec, EDIT_TOKENS)
    except ModelOutputError as exc:
        session.note(f"{task.file} was not changed: the model gave no usable edit ({exc.last_error[:160]})")
        return None
    if rescued and rescued[0] == text:
        session.note(f"{task.file}: the edit was cut off at {EDIT_TOKENS} tokens; kept the definitions it completed")
    if current is None:
        return text
    merged = merge(current, text)
    for note in merged.notes:
        session.note(f"{task.file}: {note}")
    return merged.source


async def plan_tests(session: Change, requirement: str, files: dict[str, str]) -> str | None:
    """A test file checking ``requirement`` against ``files`` (the QA engineer's plan, rendered by the
    toolchain), or None when neither the model nor the requirement's own examples give one."""
    toolchain, notes = session.toolchain, []
    scope = toolchain.test_scope(requirement, files, session.options.max_tests)
    outlines = [(path, toolchain.outline(code)) for path, code in files.items() if code.strip()]
    user = render(toolchain.prompt("write_tests.j2"), requirement=requirement, design=None, tasks=None,
                  outlines=outlines, **vars(scope))  # fmt: skip
    messages = [{"role": "system", "content": render("change/system.j2", role="the QA engineer")},
                {"role": "user", "content": user}]  # fmt: skip
    last: list[Any] = []

    def normalise(data: Any) -> Any:
        last[:] = [copy.deepcopy(data)]
        return toolchain.repair_test_plan(data, notes)

    spec = JsonOutput(toolchain.test_plan_schema(scope), name="TestPlan", normalise=normalise)
    try:
        plan = await _ask(session, "qa_engineer", messages, spec, 1000)
    except ModelOutputError as exc:
        plan = toolchain.valid_part(toolchain.repair_test_plan(last[0], notes), scope, notes) if last else None
        plan = plan or toolchain.requirement_plan(requirement, scope, notes)
        if plan is None:
            session.note(f"no tests written: {exc.last_error[:200]}")
            return None
        session.note(f"the model's test plan was refused ({exc.last_error[:120]}); testing what of it is valid "
                     "and the request's own examples")  # fmt: skip
    plan = toolchain.with_requirement_checks(plan, requirement, scope, notes)
    for note in dict.fromkeys(notes):  # every attempt (and the salvage) repairs its plan again
        session.note(f"tests: {note}")
    return toolchain.render_tests(plan) + "\n"


def docstrings(path: str, code: str) -> str:
    """What a file says of itself: its module docstring and each public definition's signature and docstring."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return f"{path} (it does not parse)"
    lines = [f"The file {path}.", ast.get_docstring(tree) or ""]
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and not node.name.startswith("_"):
            doc = ast.get_docstring(node)
            if doc:
                kind = "class" if isinstance(node, ast.ClassDef) else "function"
                lines.append(f"The {kind} `{node.name}`: {doc}")
    return "\n".join(line for line in lines if line)
