"""What the requirement says a program does, in its own sentences: exit statuses, where an error
message goes, output it prints. Two uses:

- a command check whose input needs no judgement (a path that does not exist, an empty file) and
  whose expected exit status and output are the requirement's words becomes a check of its own;
- the model's command checks are held to those sentences: an exit status the requirement never gives
  is a check that contradicts it (dropped), and an error the requirement sends to stderr is checked
  there, not against the output the model guessed.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from agentco.lang.python.entry_points import is_placeholder, most_arguments, required_words
from agentco.lang.python.examples import PREFIX
from agentco.lang.python.test_plan import CommandCheck, CommandStep, InputFile, TestPlan

_SPAN = re.compile(r"`[^`\n]*`")
_STATUS = re.compile(r"\bexit(?:s|ing)?\s+(?:with\s+)?(?:the\s+)?(?:exit\s+)?(?:status|code)\s+(\d{1,3})\b", re.I)
_STDERR = re.compile(r"\bstderr\b|\bstandard error\b", re.I)
_TRACEBACK = re.compile(r"\btraceback\b", re.I)
_PRINTS = re.compile(r"\bprints?\s+(?:only\s+)?(`[^`\n]*`|nothing)", re.I)
_EMPTY_INPUT = re.compile(r"\b(?:an?\s+)?(?:empty\s+(?:file|input)|file\s+(?:with\s+no|without)\s+\w+)", re.I)


@dataclass(frozen=True)
class Outcome:
    """One sentence (or clause) of the requirement that states how a program ends."""

    sentence: str
    status: int | None  # the exit status it gives, if any
    stderr: bool  # a message goes to stderr
    no_traceback: bool  # ... and it is not a traceback
    stdout: str | None  # the exact output it gives ("" for "prints nothing"), if any


def sentences(requirement: str) -> list[str]:
    """The requirement split into sentences and clauses (at ``.``, ``;`` and line breaks), with
    backquoted text kept whole however many full stops it holds."""
    spans: list[str] = []

    def hide(match: re.Match[str]) -> str:
        spans.append(match[0])
        return f"\x00{len(spans) - 1}\x00"

    masked = _SPAN.sub(hide, requirement)
    parts = re.split(r"(?<=[.;])\s+|\n+", masked)
    return [re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m[1])], p).strip() for p in parts if p.strip()]


def outcomes(requirement: str) -> list[Outcome]:
    """Every sentence that gives an exit status or an exact output."""
    found = []
    for sentence in sentences(requirement):
        status = _STATUS.search(sentence)
        printed = _PRINTS.search(sentence)
        if status is None and printed is None:
            continue
        stdout = None
        if printed is not None:
            stdout = "" if printed[1].lower() == "nothing" else printed[1][1:-1]
        found.append(
            Outcome(
                sentence=sentence,
                status=int(status[1]) if status else None,
                stderr=bool(_STDERR.search(sentence)),
                no_traceback=bool(_TRACEBACK.search(sentence)),
                stdout=stdout,
            )
        )
    return found


def stated_statuses(found: list[Outcome]) -> set[int]:
    return {o.status for o in found if o.status is not None}


def requirement_commands(requirement: str, usage: dict[str, str]) -> list[CommandCheck]:
    """Command checks whose input needs no judgement, for a program whose usage line takes a single
    path and nothing else required: a path that does not exist, and an empty file. Their expected
    exit status, stream and output are the requirement's words."""
    if len(usage) != 1:
        return []  # which program a sentence is about is judgement
    ((program, line),) = usage.items()
    path = _only_argument(line)
    if path is None:
        return []
    checks = []
    for outcome in outcomes(requirement):
        condition = outcome.sentence
        missing = re.search(rf"\b{path}\s+(?:does\s+not|doesn't)\s+exist\b", condition)
        if missing and outcome.status is not None:
            step = _step([f"{{tmp}}/missing-{path.lower()}"], program, outcome)
            checks.append(CommandCheck(name=f"{PREFIX}{program}_missing_{path.lower()}"[:50], files=[], steps=[step]))
        elif _EMPTY_INPUT.search(condition) and outcome.stdout is not None and outcome.status in (None, 0):
            step = _step(["{tmp}/empty-input"], program, outcome)
            empty = InputFile(name="empty-input", content="")
            checks.append(CommandCheck(name=f"{PREFIX}{program}_empty_input"[:50], files=[empty], steps=[step]))
    return list({c.name: c for c in checks}.values())


def hold_to_requirement(plan: TestPlan, found: list[Outcome], notes: list[str]) -> None:
    """The model's command checks, held to the requirement's sentences (in place): a check expecting
    an exit status the requirement never gives is dropped; a step expecting a status whose every
    sentence sends the message to stderr checks stderr (and that it is no traceback) instead of an
    output the model guessed."""
    statuses = stated_statuses(found)
    kept = []
    for check in plan.command_checks:
        wrong = sorted({s.exit_code for s in check.steps if s.exit_code and s.exit_code not in statuses})
        if statuses and wrong and not check.name.startswith(PREFIX):
            notes.append(f"test plan: dropped command check {check.name}: it expects exit status "
                         f"{', '.join(map(str, wrong))}, the requirement gives only {', '.join(map(str, sorted(statuses)))}")  # fmt: skip
            continue
        for step in check.steps:
            said = [o for o in found if o.status == step.exit_code and step.exit_code]
            if said and all(o.stderr for o in said):
                step.stderr = True
                step.no_traceback = step.no_traceback or any(o.no_traceback for o in said)
                if step.check_stdout and step.stdout.strip():
                    step.check_stdout = False  # the requirement puts the message on stderr
        kept.append(check)
    plan.command_checks = kept


def hold_to_usage(plan: TestPlan, usage: dict[str, str], notes: list[str]) -> None:
    """The model's command checks, held to the programs' usage lines (in place): a check that passes a
    program more arguments than its line takes is dropped (csvstats on 841f46e ran
    `-m csvstats input.csv Age Salary` against `python -m csvstats FILE COLUMN`)."""
    kept = []
    for check in plan.command_checks:
        over = [step for step in check.steps if _extra_arguments(step.args, usage)]
        if over and not check.name.startswith(PREFIX):
            program = over[0].args[1]
            notes.append(f"test plan: dropped command check {check.name}: it passes "
                         f"{' '.join(over[0].args[2:])!r}, more arguments than `{usage[program]}` takes")  # fmt: skip
            continue
        kept.append(check)
    plan.command_checks = kept


def hold_values_to_requirement(
    plan: TestPlan, requirement: str, procedures: AbstractSet[str], notes: list[str]
) -> None:
    """The model's value checks, held to what the requirement and the code say a call gives (in
    place): a check expecting a value of a call the requirement describes without a result and the
    code returns nothing from (`account.deposit(10)` should give 10.0, where the requirement writes only
    that `deposit(amount)` exists) contradicts both; failing, it sends the code back to match a guess:
    bank, graph and lru on 86d71b7 spent their fixes on such checks. Dropped with a note; a check
    expecting `None` stays, and so does one of a call whose code returns a value ("computes")."""
    unstated = _calls_without_result(requirement) & set(procedures)
    for group, checks in list(plan.value_checks.items()):
        kept = []
        for check in checks:
            called = _called_name(check.expression)
            guess = called in unstated and check.expected is not None and not check.raises.strip()
            if guess and not check.name.startswith(PREFIX):
                notes.append(f"test plan: dropped {check.name}: it expects {check.expected!r} of `{called}(...)`, "
                             "which returns nothing, and the requirement says nothing of what it returns")  # fmt: skip
                continue
            kept.append(check)
        if kept:
            plan.value_checks[group] = kept
        else:
            del plan.value_checks[group]


_BUILTINS = frozenset(dir(builtins))
_CALL_SPAN = re.compile(r"`([A-Za-z_]\w*)\(")
_RESULT_WORDS = re.compile(
    r"\breturn|->|→|=>|==|\bgives?\b|\byields?\b|\bevaluates?\b|\bproduces?\b|\bis\s+(?:the|an?|`)", re.I
)


def _calls_without_result(requirement: str) -> set[str]:
    """The functions and methods the requirement writes as calls (`name(...)`) in sentences of which
    none says what they return; class names (capitalised) and Python's own functions are left out."""
    named: dict[str, bool] = {}
    for sentence in sentences(requirement):
        for name in _CALL_SPAN.findall(sentence):
            named[name] = named.get(name, False) or bool(_RESULT_WORDS.search(sentence))
    return {name for name, returns in named.items() if not returns and not name[0].isupper() and name not in _BUILTINS}


def _called_name(expression: str) -> str | None:
    """``f`` of a last line that is a call ``f(...)`` or ``obj.f(...)``."""
    try:
        (node,) = ast.parse(expression).body
    except (SyntaxError, ValueError):
        return None
    call = node.value if isinstance(node, ast.Expr) else None
    if isinstance(call, ast.Call):
        func = call.func
        return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    return None


def _extra_arguments(args: list[str], usage: dict[str, str]) -> int:
    """How many more positional arguments a step passes than its program's usage line takes (0 when
    the line takes a varying number or is not known)."""
    if len(args) < 2 or args[0] != "-m" or args[1] not in usage or (most := most_arguments(usage[args[1]])) is None:
        return 0
    limit, valued = most
    count, rest = 0, iter(args[2:])
    for arg in rest:
        if arg.startswith("-") and not re.fullmatch(r"-\d+(\.\d+)?", arg):
            if arg in valued:
                next(rest, None)  # its value
            continue
        count += 1
    return max(0, count - limit)


def _only_argument(line: str) -> str | None:
    """The one placeholder a usage line requires, when it requires nothing else."""
    words = required_words(line)
    return words[0] if len(words) == 1 and is_placeholder(words[0]) and words[0].isupper() else None


def _step(arguments: list[str], program: str, outcome: Outcome) -> CommandStep:
    return CommandStep(
        args=["-m", program, *arguments],
        exit_code=outcome.status or 0,
        stdout=outcome.stdout or "",
        check_stdout=outcome.stdout is not None,
        stderr=outcome.stderr,
        no_traceback=outcome.no_traceback,
    )
