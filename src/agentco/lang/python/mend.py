"""Mechanical repairs of a generated Python file, made before it is linted: only what has one right answer.

Example or test code a library module ends with, which would run on every import, goes under a
main guard. A standard module used as ``sys.exit(1)`` that the file never imports and never binds
is imported at the top, and so is a type name of ``typing`` (``Optional``) that it uses and never
binds. The 1.5B model left ``import sys`` out of error paths often enough that the lint rewrite
asking for it came back unchanged (ini2json and kvstore on 841f46e and 41d2aef): the program now
adds the line itself, and only judgement goes back to the model.
"""

from __future__ import annotations

import ast
import sys
import typing
from pathlib import PurePosixPath

from agentco.lang.python.lint import is_guard, runs_on_import

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_TYPING = {name for name in typing.__all__ if name[:1].isupper()}
"""The type names ``typing`` exports (``Optional``, ``List`` ...): the 1.5B model annotated graph.py
with ``Optional`` and never imported it (the bare baseline on a23c1cd), so the module did not import."""


def mend_source(path: str, code: str) -> tuple[str, list[str]]:
    """``code`` (the file ``path``) with example code at its end guarded and its missing standard
    imports added, and a note for each; unchanged (no notes) when it does not parse or needs neither."""
    code, notes = _guard_examples(path, code)
    mended, more = _import_missing(code)
    return mended, notes + more


def _guard_examples(path: str, code: str) -> tuple[str, list[str]]:
    """A library module ending in example or test code that runs on import (``g = Graph()``,
    ``assert g.nodes() == [...]``) has that code moved under ``if __name__ == "__main__":``, when
    none of it defines what the module's functions and classes use. The 1.5B model appended such
    checks to a fix of graph.py (841f46e), and the failing assert broke the module's import."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return code, []
    if PurePosixPath(path).name == "__main__.py" or any(is_guard(node) for node in tree.body):
        return code, []
    defs = [i for i, node in enumerate(tree.body) if isinstance(node, _DEFINITIONS)]
    if not defs:
        return code, []
    block = tree.body[defs[-1] + 1 :]
    if not any(runs_on_import(node) for node in block):
        return code, []
    made = _bound_names(ast.Module(body=block, type_ignores=[]))
    used = {n.id for d in tree.body[: defs[-1] + 1] for n in ast.walk(d) if isinstance(n, ast.Name)}
    if made & used:
        return code, []  # a constant or import the definitions need: not example code
    lines = code.splitlines(keepends=True)
    start = block[0].lineno - 1
    body = "".join(f"    {line}" if line.strip() else line for line in lines[start:])
    guarded = "".join(lines[:start]) + 'if __name__ == "__main__":\n' + body
    try:
        ast.parse(guarded)
    except SyntaxError:
        return code, []
    note = f"moved the code after the last definition (line {start + 1} on), which ran on import, under a main guard"
    return guarded, [note]


def _import_missing(code: str) -> tuple[str, list[str]]:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return code, []
    bound = _bound_names(tree)
    used = [
        node.value.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and isinstance(node.value.ctx, ast.Load)
    ]
    missing = [name for name in dict.fromkeys(used) if name in sys.stdlib_module_names and name not in bound]
    loaded = [node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)]
    hints = [name for name in dict.fromkeys(loaded) if name in _TYPING and name not in bound]
    if not missing and not hints:
        return code, []
    lines = code.splitlines(keepends=True)
    at = _import_line(tree)
    added = "".join(f"import {name}\n" for name in missing)
    added += f"from typing import {', '.join(hints)}\n" if hints else ""
    head = "".join(lines[:at])
    mended = head + ("\n" if head and not head.endswith("\n") else "") + added + "".join(lines[at:])
    notes = [f"added `import {name}`: the file uses `{name}` but never imported it" for name in missing]
    return mended, notes + [
        f"added `from typing import {name}`: the file uses `{name}` but never bound it" for name in hints
    ]


def _bound_names(tree: ast.Module) -> set[str]:
    """Every name the file binds anywhere: imports, assignments, definitions, parameters, loop and
    ``with``/``except`` targets, comprehension variables, globals."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            names.update(node.names)
        elif isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
            names.add(node.name)
    return names


def _import_line(tree: ast.Module) -> int:
    """The 0-based line where new imports go: after the module docstring and ``from __future__``
    imports, before everything else."""
    at = 0
    for node in tree.body:
        docstring = (
            isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        )
        future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        if (docstring and node is tree.body[0]) or future:
            at = node.end_lineno or at
        else:
            break
    return at
