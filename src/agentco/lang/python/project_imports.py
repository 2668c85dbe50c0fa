"""A project's own imports pointed at the module that defines what they import: only where there is
one right answer.

``from csvstats import read_csv`` in ``csvstats/__main__.py``, while ``csvstats/__init__.py`` is
empty and ``read_csv`` is defined in ``csvstats/csvstats.py`` alone, fails on every run; the 1.5B
model, shown the failure (cut off before the error's own line), returned the file unchanged twice
(csvstats on 33ed395). The program rewrites such an import to ``from csvstats.csvstats import
read_csv``: the name is not in the module the import names, exactly one other module of the project
defines it at its top level, and nothing else changes.

A name a module uses but binds nowhere (``parse_args()`` in ``ledger/__main__.py``, defined in
``ledger/cli.py`` alone: ledger on 86d71b7) gets an import from the one module that defines it, or
from the one such module the file already imports from; a name several modules define otherwise is
left to the linter and the model.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Mapping

from agentco.lang.python.imports import definitions
from agentco.lang.python.paths import module_for


def mend_project_imports(files: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The project's files (path → text) whose imports from a project module name something that
    module does not have, but exactly one other module defines: the files rewritten, and a note each."""
    modules = {m: path for path in files if (m := module_for(path))}
    bound = {m: _bound_names(files[path]) for m, path in modules.items()}
    definers: dict[str, list[str]] = {}
    for name, module, _ in definitions(files):
        if not module.endswith("__main__"):
            definers.setdefault(name, []).append(module)
    imports = {m: _imported_modules(files[path], m, path) for m, path in modules.items()}
    changed: dict[str, str] = {}
    notes: list[str] = []
    for module, path in modules.items():
        mended, moved = _mend_file(path, module, files[path], modules, bound, definers)
        if moved:
            changed[path] = mended
            notes += [f"{path}: imports `{name}` from `{target}`, which defines it ({was} does not)"
                      for name, target, was in moved]  # fmt: skip
        cyclic = {m for m in modules if module in imports[m]}  # an import from these would be circular
        mended, added = _add_missing(
            mended, module, {n: [m for m in ms if m not in cyclic] for n, ms in definers.items()}
        )
        if added:
            changed[path] = mended
            notes += [f"{path}: uses `{name}` without defining it; imported from `{target}`, which defines it"
                      for name, target in added]  # fmt: skip
    return changed, notes


def _add_missing(text: str, module: str, definers: Mapping[str, list[str]]) -> tuple[str, list[tuple[str, str]]]:
    """``text`` with an import for each name it reads but binds nowhere (not even in a function)
    that exactly one other project module defines, or exactly one it already imports from."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return text, []
    bound = set(dir(builtins)) | {"__file__", "__name__", "__doc__", "__spec__", "__package__"}
    read: list[str] = []
    imported_from: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read.append if isinstance(node.ctx, ast.Load) else bound.add)(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg | ast.ExceptHandler | ast.MatchAs | ast.MatchStar):
            bound.add(getattr(node, "arg", None) or getattr(node, "name", None) or "")
        elif isinstance(node, ast.Global | ast.Nonlocal):
            bound.update(node.names)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            if any(alias.name == "*" for alias in node.names):
                return text, []
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported_from.add(node.module)
    added: list[tuple[str, str]] = []
    for name in dict.fromkeys(n for n in read if n not in bound):
        others = [m for m in dict.fromkeys(definers.get(name, [])) if m != module]
        if len(others) > 1:
            others = [m for m in others if m in imported_from]
        if len(others) == 1:
            added.append((name, others[0]))
    if not added:
        return text, []
    lines = text.splitlines(keepends=True)
    at = max((n.end_lineno or n.lineno for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)), default=0)
    if not at and tree.body and isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Constant):
        at = tree.body[0].end_lineno or 0  # after the docstring
    new = "".join(f"from {target} import {name}\n" for name, target in added)
    if at and not lines[at - 1].endswith("\n"):
        new = "\n" + new
    return "".join([*lines[:at], new, *lines[at:]]), added


def _imported_modules(text: str, module: str, path: str) -> set[str]:
    """The modules a module's text imports (``from . import x`` resolved); empty when it does not parse."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    found = {alias.name for n in ast.walk(tree) if isinstance(n, ast.Import) for alias in n.names}
    return found | {t for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) if (t := _resolve(n, module, path))}


def _bound_names(text: str) -> set[str] | None:
    """The names a module binds at its top level (definitions, assignments, imports); None when that
    cannot be known (it does not parse, or it imports ``*``)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    bound: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            if any(alias.name == "*" for alias in node.names):
                return None
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        else:  # assignments, also under a top-level if, for, with or try
            bound.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return bound


def _resolve(node: ast.ImportFrom, module: str, path: str) -> str | None:
    if node.level == 0:
        return node.module
    package = module.split(".") if path.endswith("__init__.py") else module.split(".")[:-1]
    if node.level - 1 > len(package):
        return None
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])]) or None


def _mend_file(path: str, module: str, text: str, modules: Mapping[str, str],
               bound: Mapping[str, set[str] | None], definers: Mapping[str, list[str]]) -> tuple[str, list[tuple[str, str, str]]]:  # fmt: skip
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return text, []
    lines = text.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []  # (first line, last line, replacement), 0-based
    moved: list[tuple[str, str, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or node.end_lineno is None:
            continue
        target = _resolve(node, module, path)
        has = bound.get(target) if target else None
        if has is None:
            continue
        first, last = node.lineno - 1, node.end_lineno - 1
        if lines[first][: node.col_offset].strip() or lines[last][node.end_col_offset :].strip():
            continue  # shares its lines with other code or a comment: left alone
        keep, away = [], []
        for alias in node.names:
            name = alias.name
            elsewhere = [m for m in definers.get(name, []) if m != target and m != module]
            missing = name not in has and f"{target}.{name}" not in modules
            if missing and len(elsewhere) == 1:
                away.append((alias, elsewhere[0]))
            else:
                keep.append(alias)
        if not away:
            continue
        indent = lines[first][: node.col_offset]
        new = []
        if keep:
            names = ", ".join(ast.unparse(a) for a in keep)
            new.append(f"{indent}from {'.' * node.level}{node.module or ''} import {names}\n")
        for definer in dict.fromkeys(d for _, d in away):
            names = ", ".join(ast.unparse(a) for a, d in away if d == definer)
            new.append(f"{indent}from {definer} import {names}\n")
        moved += [(alias.name, definer, f"`{target}`") for alias, definer in away]
        edits.append((first, last, "".join(new)))
    for first, last, replacement in sorted(edits, reverse=True):
        lines[first : last + 1] = [replacement]
    mended = "".join(lines)
    try:
        ast.parse(mended)
    except SyntaxError:
        return text, []
    return mended, moved
