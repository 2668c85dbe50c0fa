"""A project's own imports pointed at the module that defines what they import: only where there is
one right answer.

``from csvstats import read_csv`` in ``csvstats/__main__.py``, while ``csvstats/__init__.py`` is
empty and ``read_csv`` is defined in ``csvstats/csvstats.py`` alone, fails on every run; the 1.5B
model, shown the failure (cut off before the error's own line), returned the file unchanged twice
(csvstats on 33ed395). The program rewrites such an import to ``from csvstats.csvstats import
read_csv``: the name is not in the module the import names, exactly one other module of the project
defines it at its top level, and nothing else changes.
"""

from __future__ import annotations

import ast
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
    changed: dict[str, str] = {}
    notes: list[str] = []
    for module, path in modules.items():
        mended, moved = _mend_file(path, module, files[path], modules, bound, definers)
        if moved:
            changed[path] = mended
            notes += [f"{path}: imports `{name}` from `{target}`, which defines it ({was} does not)"
                      for name, target, was in moved]  # fmt: skip
    return changed, notes


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
