"""Checks the requirement spells out itself, with the expected value taken from its own words.

A requirement that writes `f(2) == 4`, `f(2)` returns `4`, or `f(-1)` raises `ValueError` has
already said what the code must do; such a check is more trustworthy than one whose expected value
came from a small model's arithmetic. Only calls of names the project defines, with literal
arguments, and literal results, are taken: anything symbolic (`shortest_path(a, a)`) is left to
the model's plan.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Collection, Mapping
from typing import Any

from agentco.lang.python.imports import definitions
from agentco.lang.python.paths import is_test_file, module_for
from agentco.lang.python.test_plan import ValueCheck

GROUP = "from_requirement"
"""The group of a test plan holding these checks; their test functions start with ``test_req_``."""
PREFIX = "req_"
LIMIT = 8
_SPAN = re.compile(r"`([^`\n]+)`")
_RESULT = re.compile(r"\s*(?:returns|gives|is|evaluates to|->|→|=>)\s*", re.IGNORECASE)
_RAISES = re.compile(r"\s*raises\s*", re.IGNORECASE)
_ERRORS = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}


def requirement_checks(requirement: str, provided: Collection[str]) -> list[ValueCheck]:
    """The value checks the requirement states, in its order, at most ``LIMIT``."""
    spans = list(_SPAN.finditer(requirement))
    found: dict[str, ValueCheck] = {}
    for i, span in enumerate(spans):
        text = span[1].strip()
        following = spans[i + 1] if i + 1 < len(spans) else None
        between = requirement[span.end() : following.start()] if following else ""
        check = _equality(text, provided)
        if check is None and following is not None and _RESULT.fullmatch(between):
            check = _returns(text, following[1].strip(), provided)
        if check is None and following is not None and _RAISES.fullmatch(between):
            check = _raises(text, following[1].strip(), provided)
        if check is not None and check[0] not in found:
            code, expected, raises = check
            name = f"{PREFIX}{_function(code)}"[:50].lower()
            found[code] = ValueCheck(name=name, code=[code], expected=expected, raises=raises)
    for code, error in _invalid_examples(requirement, provided):
        name = f"{PREFIX}{_function(code)}"[:50].lower()
        found.setdefault(code, ValueCheck(name=name, code=[code], expected=None, raises=error))
    return list(found.values())[:LIMIT]


_EXAMPLES = re.compile(r"\b(?:for example|for instance|e\.g\.|such as)[,:]?\s+", re.IGNORECASE)
_RAISE = re.compile(r"\braises?\s+`?([A-Za-z_]\w*)`?")
_SENTENCE_END = re.compile(r"[.!?](?=\s+[A-Z`(-])|\n")
_LITERAL = re.compile(r'`([^`\n]+)`|"([^"\\\n]*)"')


def _invalid_examples(requirement: str, provided: Collection[str]) -> list[tuple[str, str]]:
    """``(call, error)`` for each example input a sentence gives of an error it states: "Both raise
    `ValueError` for input that is not a valid numeral (for example "IIII" or "")". The inputs go to
    the one function that takes a single parameter of their type, as the requirement declares it
    (`from_roman(s: str)`), among those the sentence names before its examples (all, when it names
    none); with no such function, or several, the sentence gives no check."""
    declared = _single_parameter_functions(requirement, provided)
    checks: list[tuple[str, str]] = []
    for marker in _EXAMPLES.finditer(requirement):
        start = max((m.end() for m in _SENTENCE_END.finditer(requirement, 0, marker.start())), default=0)
        closing = requirement.find(")", marker.end())
        ending = _SENTENCE_END.search(requirement, marker.end())
        end = min(i for i in (closing, ending.start() if ending else -1, len(requirement)) if i >= 0)
        clause, listed = requirement[start : marker.start()], requirement[marker.end() : end]
        errors = [e for e in _RAISE.findall(clause) if e in _ERRORS or e in provided]
        values = _literals(listed)
        kinds = {type(v).__name__ for v in values}
        if not errors or not values or len(kinds) != 1:
            continue
        kind = kinds.pop()
        named = [f for f in declared if re.search(rf"\b{f}\b", clause)] or list(declared)
        takers = [f for f in named if declared[f] == kind]
        if len(takers) == 1:
            calls = [f"{takers[0]}({value!r})" for value in values]
            checks += [(call, errors[-1]) for call in calls if len(call) <= 120]
    return checks


def _single_parameter_functions(requirement: str, provided: Collection[str]) -> dict[str, str]:
    """Each function whose signature the requirement writes → the annotated type of its parameter
    when it takes exactly one ("" otherwise)."""
    found: dict[str, str] = {}
    for match in _SIGNATURE.finditer(requirement):
        params = [p.strip() for p in match[2].split(",") if p.strip()]
        one = len(params) == 1 and ":" in params[0]
        if match[1] in provided:
            found.setdefault(match[1], params[0].split(":", 1)[1].split("=")[0].strip() if one else "")
    return found


def _literals(text: str) -> list[Any]:
    """The literal values a list of examples writes, in its order: in backticks (`"1.2"`, `0`) or in
    plain quotes ("IIII")."""
    values: list[Any] = []
    for match in _LITERAL.finditer(text):
        if match[2] is not None:
            values.append(match[2])
            continue
        try:
            value = ast.literal_eval(match[1].strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            values.append(value)
    return values


def _equality(text: str, provided: Collection[str]) -> tuple[str, Any, str] | None:
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    if not (isinstance(tree, ast.Compare) and len(tree.ops) == 1 and isinstance(tree.ops[0], ast.Eq)):
        return None
    return _returns(ast.unparse(tree.left), ast.unparse(tree.comparators[0]), provided)


def _returns(call: str, result: str, provided: Collection[str]) -> tuple[str, Any, str] | None:
    if not _is_project_call(call, provided):
        return None
    call = ast.unparse(ast.parse(call, mode="eval"))  # one spelling, so a check stated twice is one
    try:
        value = _plain(ast.literal_eval(result))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return (call, value, "") if len(call) <= 120 else None


def _raises(call: str, error: str, provided: Collection[str]) -> tuple[str, Any, str] | None:
    if not _is_project_call(call, provided) or not (error in _ERRORS or error in provided):
        return None
    call = ast.unparse(ast.parse(call, mode="eval"))
    return (call, None, error) if len(call) <= 120 else None


def _is_project_call(text: str, provided: Collection[str]) -> bool:
    """A call of a project function whose arguments are literals: nothing else to define first."""
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        return False
    if not isinstance(tree, ast.Call) or not isinstance(tree.func, ast.Name) or tree.func.id not in provided:
        return False
    arguments = [*tree.args, *(k.value for k in tree.keywords)]
    try:
        for argument in arguments:
            ast.literal_eval(argument)
    except (ValueError, SyntaxError, TypeError):
        return False
    return True


def _plain(value: Any) -> Any:
    """A literal as JSON has it (tuples as lists); sets and bytes have no JSON form."""
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    raise ValueError("no JSON form")


def _function(code: str) -> str:
    return re.match(r"\w+", code)[0]  # type: ignore[index]


class _AnyName:
    """Every name but Python's own: what a requirement's example may call before any code exists."""

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and not hasattr(builtins, name)


_SIGNATURE = re.compile(r"`([A-Za-z_]\w*)\(([^`()]*)\)(?:\s*->\s*[^`]+)?`")


def called_functions(requirement: str) -> dict[str, str]:
    """The functions the requirement's examples call by bare name, each with one such call, and,
    where it speaks of functions (or of what a module defines) and not of methods, those whose
    signatures it writes (`to_roman(n: int) -> str`); none when it speaks of a class: then a bare
    call in its prose (`peek()` returns `3`) may be a method's. The 1.5B model's design for roman (33ed395) put the two functions the
    requirement declares in a class `Roman`, and no acceptance test could call them."""
    if re.search(r"\bclass(es)?\b", requirement, re.I):
        return {}
    calls = {_function(check.code[0]): check.code[0] for check in requirement_checks(requirement, _AnyName())}
    speaks_of_functions = re.search(r"\b(functions?|defines)\b", requirement, re.I)
    if speaks_of_functions and not re.search(r"\bmethods?\b", requirement, re.I):
        for match in _SIGNATURE.finditer(requirement):
            if match[1] in _AnyName():
                calls.setdefault(match[1], match[0].strip("`"))
    return calls


def missing_functions(requirement: str, files: Mapping[str, str]) -> dict[str, list[str]]:
    """The functions the requirement's examples call by bare name (``merge([(5, 7)]) == [...]``) that
    no module of ``files`` (path → text) defines at its top level: path → problems, each given to the
    file that defines the name as a method (the model wrapped the functions in a class: intervals on
    841f46e) or else to the first module. Empty when nothing is missing (see ``called_functions``)."""
    calls = called_functions(requirement)
    defined = {name for name, _, _ in definitions(files)}
    missing = {name: call for name, call in calls.items() if name not in defined}
    modules = [path for path in files if module_for(path) and not is_test_file(path)]
    if not missing or not modules:
        return {}
    found: dict[str, list[str]] = {}
    for name, call in missing.items():
        owner = next((p for p in modules if re.search(rf"^\s+def {name}\(", files[p], re.M)), modules[0])
        found.setdefault(owner, []).append(
            f"the requirement uses `{name}` as a module-level function (`{call}`), but no module defines "
            f"`{name}` at its top level: define it with `def {name}(...)` at the top level, not as a method"
        )
    return found
