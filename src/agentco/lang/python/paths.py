"""Which files of a Python project are what: module names, test files, and the paths a design may list."""

from __future__ import annotations

import sys
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


def path_problem(path: str) -> str | None:
    """Why a design may not list ``path`` as a Python source file (past the company's own path rules)."""
    p = PurePosixPath(path)
    if p.suffix != ".py":
        return "list Python source files (.py) only"
    if p.parts[0].removesuffix(".py") in sys.stdlib_module_names:
        return f"it would hide Python's own {p.parts[0].removesuffix('.py')} module; choose another name"
    return None
