"""Mending a test plan before it is validated, each repair a note: a check whose last line assigns
or prints the value it means to check (``result = f(2)``, ``print(f(2))``) checks the value itself (a 1.5B model ended every
check of a plan so, and the plan was refused three times); a check that is still broken by itself is
dropped from a group that keeps a valid one. Fewer checks beat none: a 1.5B model wrapped a few of
its checks in ``try: ... raise`` and the whole plan, valid checks and all, was refused twice. Once
a plan is valid, checks that run the same code expecting different outcomes are dropped."""

from __future__ import annotations

import ast
import json
import shlex
from collections.abc import Collection
from typing import Any

from pydantic import BaseModel, ValidationError

from agentco.lang.python.examples import PREFIX
from agentco.lang.python.test_plan import PYTHON_COMMANDS, CommandCheck, TestPlan, ValueCheck


def drop_broken_checks(data: Any, notes: list[str]) -> Any:
    """``data`` without the value checks that do not validate on their own, in the groups where some
    do; a group with no valid check is left as it is, so the model hears what is wrong with it."""
    _split_command_lines(data, notes)
    groups = data.get("value_checks") if isinstance(data, dict) else None
    if not isinstance(groups, dict):
        return data
    if empty := [name for name, checks in groups.items() if checks == []]:
        for name in empty:
            del groups[name]
        notes.append(f"test plan: dropped the empty groups of {', '.join(empty)}")
    for name, checks in groups.items():
        if not isinstance(checks, list):
            continue
        for check in checks:
            _escape_control_characters(check, notes)
            _check_the_value(check, notes)
            _unwrap_listed_text(check, notes)
        good = [check for check in checks if _valid(check)]
        if good and len(good) < len(checks):
            groups[name] = good
            notes.append(f"test plan: dropped {len(checks) - len(good)} of the {len(checks)} checks of {name}, "
                         "which were not valid")  # fmt: skip
    return data


def _split_command_lines(data: Any, notes: list[str]) -> None:
    """A step's program written as one command line (``["python -m ledger --db l.db add 12.5 food"]``)
    is split into its arguments as a shell would split it, and a leading ``python`` (args are what
    follows it) is dropped: one right answer each (the 1.5B model wrote every step of ledger's plan on
    86d71b7 so). A line a shell could not split is left for the model to hear about."""
    checks = data.get("command_checks") if isinstance(data, dict) else None
    for check in checks if isinstance(checks, list) else []:
        steps = check.get("steps") if isinstance(check, dict) else None
        for step in steps if isinstance(steps, list) else []:
            args = step.get("args") if isinstance(step, dict) else None
            if not (isinstance(args, list) and args and isinstance(args[0], str)):
                continue
            mended = list(args)
            if len(mended[0].split()) > 1:
                try:
                    mended[:1] = shlex.split(mended[0])
                except ValueError:
                    continue
            if len(mended) > 1 and mended[0] in PYTHON_COMMANDS:
                mended = mended[1:]
            if mended != args:
                step["args"] = mended
                notes.append(f"test plan: {check.get('name')}: the command {' '.join(args)!r} run as {mended!r}")


def _escape_control_characters(check: Any, notes: list[str]) -> None:
    """A model writes ``\\n`` in its JSON meaning Python's escape; decoded, the line holds a real
    newline inside a string literal and does not parse. Written back as ``\\n``/``\\t`` it does."""
    code = check.get("code") if isinstance(check, dict) else None
    for i, line in enumerate(code if isinstance(code, list) else []):
        if not isinstance(line, str) or not ("\n" in line or "\t" in line) or _parses(line):
            continue
        escaped = line.replace("\n", "\\n").replace("\t", "\\t")
        if _parses(escaped):
            code[i] = escaped
            notes.append(
                f"test plan: {check.get('name')}: escaped the newlines and tabs inside a string of {escaped!r}"
            )


def _parses(line: str) -> bool:
    try:
        ast.parse(line)
    except (SyntaxError, ValueError):
        return False
    return True


def _check_the_value(check: Any, notes: list[str]) -> None:
    """``["x = f(2)"]`` expecting a value → ``["f(2)"]``: the assignment's value is what is checked.
    A last line that states the expected value (``expected = 4``, ``expected: 4``) with no
    ``expected`` given becomes the expected value, and the line before it the check."""
    code = check.get("code") if isinstance(check, dict) else None
    if not isinstance(code, list) or not code or not isinstance(code[-1], str) or check.get("raises"):
        return
    if len(code) > 1 and check.get("expected") is None and (stated := _stated_expectation(code[-1])) is not None:
        check["expected"] = stated[0]
        code.pop()
        notes.append(f"test plan: {check.get('name')} expects the value its last line stated, {stated[0]!r}")
        if not isinstance(code[-1], str):
            return
    try:
        (last,) = ast.parse(code[-1]).body
    except (SyntaxError, ValueError):
        return
    if (
        isinstance(last, ast.Assign) and len(last.targets) == 1 and isinstance(last.targets[0], ast.Name)
        and not last.targets[0].id.lower().startswith("expect")  # the expected value is never what is checked
    ):  # fmt: skip
        code[-1] = ast.unparse(last.value)
        notes.append(f"test plan: {check.get('name')} checks the value its last line assigned, {code[-1]!r}")
    elif _is_print_of_one(last):  # print() returns None: ``print(f(2))`` expecting 4 means f(2)
        code[-1] = ast.unparse(last.value.args[0])  # type: ignore[attr-defined]
        notes.append(f"test plan: {check.get('name')} checks the value its last line printed, {code[-1]!r}")


def _unwrap_listed_text(check: Any, notes: list[str]) -> None:
    """``["['a  b', 'c']"]``, a list whose only item is Python's text of a list, expected → the list
    itself: the model wrote the value as Python inside a JSON list (textwrap2 on 86d71b7, four checks
    of four). A bare string is left alone: a function may well return the text of a list."""
    expected = check.get("expected") if isinstance(check, dict) else None
    if not (isinstance(expected, list) and len(expected) == 1 and isinstance(expected[0], str)):
        return
    text = expected[0].strip()
    if not (text.startswith(("[", "(")) and text.endswith(("]", ")"))):
        return
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return
    if isinstance(value, list | tuple):
        check["expected"] = json.loads(json.dumps(value))  # tuples as lists, as JSON has them
        notes.append(f"test plan: {check.get('name')} expects the list its expected text wrote, {check['expected']!r}")


def _stated_expectation(line: str) -> tuple[Any] | None:
    """``(value,)`` when ``line`` is ``expected = LITERAL`` or ``expected: LITERAL``, else None."""
    try:
        (node,) = ast.parse(line).body
    except (SyntaxError, ValueError):
        return None
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        name, value = node.targets[0].id, node.value
    elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is None:
        name, value = node.target.id, node.annotation  # ``expected: {...}``: the value written as a type
    else:
        return None
    if not name.lower().startswith("expect"):
        return None
    try:
        return (ast.literal_eval(value),)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _is_print_of_one(node: ast.stmt) -> bool:
    call = node.value if isinstance(node, ast.Expr) else None
    return (
        isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "print"
        and len(call.args) == 1 and not call.keywords and not isinstance(call.args[0], ast.Starred)
    )  # fmt: skip


def valid_part(data: Any, schema: type[BaseModel], notes: list[str]) -> Any:
    """The plan ``data`` with only its valid value checks (groups left empty dropped, command checks
    kept only when the plan validates with them), validated by ``schema``; None when nothing is left."""
    groups = data.get("value_checks") if isinstance(data, dict) else None
    if not isinstance(groups, dict):
        return None
    kept = {name: good for name, checks in groups.items() if isinstance(checks, list)
            and (good := [c for c in checks if _valid(c)])}  # fmt: skip
    total = sum(len(c) for c in groups.values() if isinstance(c, list))
    for commands in (data.get("command_checks") or [], []):
        try:
            plan = schema.model_validate({**data, "value_checks": kept, "command_checks": commands})
        except ValidationError:
            continue
        if plan.checks() or plan.command_checks:  # type: ignore[attr-defined]
            notes.append(f"test plan: kept the {sum(len(c) for c in kept.values())} of its {total} value checks "
                         "that are valid on their own, after the attempts ran out")  # fmt: skip
            return plan
    return None


def _valid(check: Any) -> bool:
    try:
        ValueCheck.model_validate(check)
    except ValidationError:
        return False
    return True


def drop_contradictions(plan: TestPlan, notes: list[str]) -> None:
    """The model's checks that run the same code (or the same commands on the same files) but expect
    different outcomes contradict each other: at most one can be right and nothing says which, so all
    are dropped, and a check repeating another is dropped once (in place, each a note). A check the
    requirement states itself (``req_``) is trusted: only the model's checks that contradict it go.
    Nothing is dropped when nothing would be left (graph on 532ff5a: five checks under three names,
    all contradicting, were dropped by name and an empty plan saved). The 1.5B model's plan for graph on 841f46e ran
    ``g.add_edge('b', 'c', 2)`` in five checks expecting 3, ValueError (twice) and KeyError (twice)."""
    # checks by position: the model often gives several checks one name
    checks = [(_value_key(c), _value_outcome(c), c) for c in plan.checks()]
    checks += [(_command_key(c), _command_outcome(c), c) for c in plan.command_checks]
    outcomes: dict[Any, set[Any]] = {}
    trusted: dict[Any, Any] = {}
    for key, outcome, check in checks:
        outcomes.setdefault(key, set()).add(outcome)
        if check.name.startswith(PREFIX):
            trusted[key] = outcome
    seen: set[Any] = set()
    dropped: list[str] = []
    repeated: list[str] = []
    gone: set[int] = set()
    for key, outcome, check in checks:
        if check.name.startswith(PREFIX):
            continue
        if (key in trusted and outcome != trusted[key]) or (key not in trusted and len(outcomes[key]) > 1):
            dropped.append(check.name)
            gone.add(id(check))
        elif (key, outcome) in seen or key in trusted:
            repeated.append(check.name)
            gone.add(id(check))
        seen.add((key, outcome))
    if not gone or len(gone) == len(checks):
        return
    plan.value_checks = {group: kept for group, members in plan.value_checks.items()
                         if (kept := [c for c in members if id(c) not in gone])}  # fmt: skip
    plan.command_checks = [c for c in plan.command_checks if id(c) not in gone]
    if dropped:
        notes.append(
            f"test plan: dropped {', '.join(dict.fromkeys(dropped))}: the same code expects different outcomes"
        )
    if repeated:
        notes.append(f"test plan: dropped {', '.join(dict.fromkeys(repeated))}: it repeats another check")


def drop_idle_checks(plan: TestPlan, project: Collection[str], notes: list[str]) -> None:
    """The model's value checks that use none of the project's names or modules (``project``) test
    nothing of it (intervals on 18478ea: ``["busy = [(9, 10)]", "0"]`` expecting free slots, four
    checks of a narrowed plan); dropped in place, with a note, unless nothing would be left."""
    checks = plan.checks()
    if not project:
        return  # what the project defines is not known
    idle = {id(c) for c in checks if not c.name.startswith(PREFIX) and not (c.used_names() & set(project))}
    if not idle or len(idle) == len(checks) + len(plan.command_checks):
        return
    names = [c.name for c in checks if id(c) in idle]
    plan.value_checks = {group: kept for group, members in plan.value_checks.items()
                         if (kept := [c for c in members if id(c) not in idle])}  # fmt: skip
    notes.append(f"test plan: dropped {', '.join(dict.fromkeys(names))}: it runs none of the project's code")


def _value_key(check: ValueCheck) -> tuple[str, ...]:
    """The code a check runs; ``result = f(x)`` as its last line runs what ``f(x)`` does."""
    lines = [" ".join(line.split()) for line in check.code]
    try:
        (last,) = ast.parse(check.expression).body
    except (SyntaxError, ValueError):
        return ("value", *lines)
    if isinstance(last, ast.Assign) and len(last.targets) == 1 and isinstance(last.targets[0], ast.Name):
        lines[-1] = ast.unparse(last.value)
    elif isinstance(last, ast.Expr):
        lines[-1] = ast.unparse(last)
    return ("value", *lines)


def _value_outcome(check: ValueCheck) -> str:
    return f"raises {check.raises.strip()}" if check.raises.strip() else json.dumps(check.expected, sort_keys=True)


def _command_key(check: CommandCheck) -> tuple[Any, ...]:
    files = tuple(sorted((f.name, f.content) for f in check.files))
    return ("command", files, tuple(tuple(step.args) for step in check.steps))


def _command_outcome(check: CommandCheck) -> tuple[Any, ...]:
    return tuple((s.exit_code, s.stdout.strip() if s.check_stdout else None) for s in check.steps)
