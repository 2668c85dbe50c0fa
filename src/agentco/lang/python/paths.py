"""Which files of a Python project are what: module names, test files, and the paths a design may list."""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterable
from pathlib import Path, PurePosixPath


def module_for(path: str) -> str | None:
    """The import name of a project file; the project root and ``src/`` are both on sys.path."""
    file = PurePosixPath(path)
    if file.suffix != ".py":
        return None
    parts = list(file.with_suffix("").parts)
    if parts[:1] == ["src"] and len(parts) > 1:
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) if parts and all(p.isidentifier() for p in parts) else None


def is_test_file(relative: str) -> bool:
    path = Path(relative)
    return (
        path.name.startswith("test_")
        or path.name.endswith("_test.py")
        or path.name == "conftest.py"
        or any(part in ("tests", "test") for part in path.parts[:-1])
    )


def path_problem(path: str, named: Collection[str] = ()) -> str | None:
    """Why a design may not list ``path`` as a Python source file (past the company's own path rules).

    A top-level module or package may not hide a standard module unless the requirement itself
    names it (``named``: its modules, packages and programs): the user's own name wins."""
    if why := stray_file(path):
        return f"{why}: list the project's Python source files (.py) only"
    if (hidden := hidden_module(path)) and hidden not in named:
        return f"it would hide Python's own {hidden} module; choose another name"
    return None


def stray_file(path: str) -> str | None:
    """Why a path a design lists is no Python source file of the project at all, or None: a file of
    another kind, or an ``__init__.py`` at the project root (the 1.5B model's roman design on 33ed395
    listed one, importing ``from .roman import Roman``), which no name imports."""
    p = PurePosixPath(path)
    if p.suffix != ".py":
        return "not a Python source file"
    if p.parts in (("__init__.py",), ("src", "__init__.py")):
        return "the project root is not a package"
    return None


def hidden_module(path: str) -> str | None:
    """The standard module a project file's top-level name would hide (``queue`` for ``queue.py``
    or ``queue/__init__.py``), or None."""
    top = PurePosixPath(path).parts[0].removesuffix(".py")
    return top if top in sys.stdlib_module_names else None


def shadow_warnings(named: Iterable[str]) -> list[str]:
    """A warning for each name the requirement gives its own code that is also a standard module's."""
    return [
        f"the requirement names {name}, which hides Python's own {name} module: inside the project, "
        f"`import {name}` finds the project's code, and a standard module that imports {name} may break"
        for name in dict.fromkeys(named)
        if name in sys.stdlib_module_names
    ]
