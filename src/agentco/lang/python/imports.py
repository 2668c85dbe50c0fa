"""What a Python project's modules define, which of them run as programs, and whether they import."""

from __future__ import annotations

import ast
import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from agentco.lang.python.env import ProjectEnv, tail
from agentco.lang.python.paths import module_for

_MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_CANNOT_IMPORT = re.compile(r"cannot import name '(\w+)' from (?:partially initialized module )?'([\w.]+)'")
_IMPORT_SCRIPT = """
import importlib, json, sys, traceback
with open(sys.argv[1], "a") as out:
    for name in sys.argv[2:]:
        error = None
        try:
            importlib.import_module(name)
        except BaseException as exc:
            report = traceback.TracebackException.from_exception(exc)
            report.stack = traceback.StackSummary.from_list(
                [f for f in report.stack[2:] if not f.filename.startswith("<frozen ")]
            )  # [2:]: this script's frame and import_module's
            error = "".join(report.format())
        out.write(json.dumps({"module": name, "error": error}) + "\\n")
        out.flush()
"""


def programs(files: Mapping[str, str]) -> list[str]:
    """What runs as ``python -m NAME``: packages with a ``__main__.py``, modules with a main guard."""
    names = set()
    for path, text in files.items():
        module = module_for(path)
        if module and module.endswith(".__main__"):
            names.add(module.removesuffix(".__main__"))
        elif module and re.search(r"""__name__\s*==\s*['"]__main__['"]""", text):
            names.add(module)
    return sorted(names)


def public_names(files: Mapping[str, str]) -> dict[str, str]:
    """The functions and classes the project's modules define at their top level: name → module."""
    names: dict[str, str] = {}
    for name, module, _ in definitions(files):
        if not module.endswith("__main__"):
            names.setdefault(name, module)
    return {name: module for name, module in names.items() if not name.startswith("_")}


def procedures(files: Mapping[str, str]) -> frozenset[str]:
    """The names of the functions and methods (of top-level classes) whose every definition in the
    project returns no value: no ``return`` with a value other than ``None`` and no ``yield`` in their
    own body."""
    gives: dict[str, bool] = {}
    for text in files.values():
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        members = [n for c in tree.body if isinstance(c, ast.ClassDef) for n in c.body]
        for node in [*tree.body, *members]:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                gives[node.name] = gives.get(node.name, False) or _gives_a_value(node)
    return frozenset(name for name, value in gives.items() if not value)


def _gives_a_value(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether a function's own body (not a nested function's) returns a value or yields."""
    todo: list[ast.AST] = list(function.body)
    while todo:
        node = todo.pop()
        returned = node.value if isinstance(node, ast.Return) else None
        if returned is not None and not (isinstance(returned, ast.Constant) and returned.value is None):
            return True
        if isinstance(node, ast.Yield | ast.YieldFrom):
            return True
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            todo.extend(ast.iter_child_nodes(node))
    return False


def definitions(files: Mapping[str, str]) -> Iterator[tuple[str, str, str]]:
    """(name, module, path) of each function and class the project's modules (path → text) define
    at their top level; files that do not parse are skipped (the syntax check reports them)."""
    for path, text in files.items():
        module = module_for(path)
        try:
            tree = ast.parse(text) if module else None
        except (SyntaxError, ValueError):
            continue
        for node in tree.body if tree else []:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                yield node.name, module, path


def import_check(
    env: ProjectEnv, python: Callable[[], Path], project: Path, modules: Sequence[str], timeout: float
) -> dict[str, list[str]]:
    """Imports each module (a module name or a source file's path) in the sandbox, with the
    interpreter ``python()`` gives (asked for only when there is something to import)."""
    wanted: dict[str, str] = {}  # as given -> module name
    errors: dict[str, list[str]] = {}
    for given in modules:
        if (project / given).is_file():  # a file: data, docs and scripts with odd names are skipped
            module = module_for(given)
            # a package's __main__ may run its program on import (and exit): the command tests cover it
            if module and not module.endswith("__main__"):
                wanted[given] = module
        elif _MODULE_NAME.match(given):
            wanted[given] = given
        else:
            errors[given] = ["not a valid module name"]
    if not wanted:
        return errors
    results = project / f".agentco-imports-{uuid.uuid4().hex[:8]}.jsonl"
    try:
        argv = [str(python()), "-c", _IMPORT_SCRIPT, str(results), *dict.fromkeys(wanted.values())]
        done = env.run(project, argv, timeout)
        lines = results.read_text().splitlines() if results.is_file() else []
    finally:
        results.unlink(missing_ok=True)
    outcome = {record["module"]: record["error"] for record in map(json.loads, lines)}
    for given, module in wanted.items():
        if module not in outcome:
            errors[given] = [f"the import did not finish ({done.describe()}): {tail(done.stderr, 1000)}"]
        elif outcome[module]:
            hint = where_to_import(outcome[module], project, [m for m in modules if (project / m).is_file()])
            errors[given] = [tail(outcome[module], 3000), *([hint] if hint else [])]
    return errors


def where_to_import(error: str, project: Path, paths: Sequence[str]) -> str | None:
    """For "cannot import name X from M": where the project does define X (a small model, shown the
    bare error, returned ``from . import main`` unchanged twice; ``main`` was in ``__main__.py``)."""
    found = _CANNOT_IMPORT.search(error)
    if found is None:
        return None
    name, module = found.groups()
    texts = {path: (project / path).read_text(encoding="utf-8", errors="replace") for path in paths}
    for defined, where, path in definitions(texts):
        if defined == name and where != module:
            return f"`{name}` is defined in `{where}` ({path}), not in `{module}`: import it from there, or not at all"
    return f"no file of the project defines `{name}` at its top level: define it in `{module}`, or do not import it"
