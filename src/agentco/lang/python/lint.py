"""Defects found in generated Python without running it: pylint's error checks, and code that runs
on import.

Why: a small model's files often parse and import and still hold bugs that only show when a line
runs: a missing ``import sys`` on the error path, ``self.history = []`` hiding the method
``history()``, example calls left at the top of a module (which then run, and may raise, on every
import). Tests written by the same model rarely reach those lines with the right expectation, and
pylint finds them in well under a second, with a line number the engineer can act on.

pylint reads the code (astroid does not execute it), so it runs outside the sandbox, with
agentco's own interpreter in isolated mode (``-I``: the project folder is never on its module
path, so a project file named ``pylint.py`` or ``typing.py`` is not imported in place of the real
one), an empty configuration (a project's ``pylintrc`` could name an ``init-hook`` to run), no
saved state, and none of agentco's environment (API keys).
"""

from __future__ import annotations

import ast
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from agentco.errors import ConfigError

log = logging.getLogger(__name__)

# pylint's error category, less what the project's own packages (not installed in agentco's venv)
# would trip; a missing project module or name is the import check's to report
_PYLINT = ["--disable=all", "--enable=E", "--disable=import-error,no-name-in-module"]
_PYLINT_TIMEOUT = 60
_ALLOWED_AT_TOP = (
    ast.Import,
    ast.ImportFrom,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Assign,
    ast.AnnAssign,
    ast.AugAssign,
    ast.Pass,
)


def lint(project: Path, files: Sequence[str], limit: int = 6) -> dict[str, list[str]]:
    """Each file of ``files`` (paths relative to ``project``) with the defects found in it, the
    same defect on several lines said once with its lines."""
    found: dict[str, dict[str, list[int]]] = {}  # path → problem → lines
    for path in files:
        try:
            tree = ast.parse((project / path).read_text(encoding="utf-8", errors="replace"))
        except (OSError, SyntaxError, ValueError):
            continue  # the syntax check reports these
        if PurePosixPath(path).name != "__main__.py":
            for line, problem in _runs_on_import(tree):
                found.setdefault(path, {}).setdefault(problem, []).append(line)
    for path, line, problem in _pylint(project, files):
        found.setdefault(path, {}).setdefault(problem, []).append(line)
    return {
        path: [f"line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines))}: {problem}"
               for problem, lines in list(problems.items())[:limit]]
        for path, problems in found.items()
    }  # fmt: skip


def _runs_on_import(tree: ast.Module) -> list[tuple[int, str]]:
    """Top-level statements of a library module that do work when it is imported."""
    problem = (
        "example or test code runs whenever the module is imported (by the tests too): delete it, "
        'or move it under `if __name__ == "__main__":`'
    )
    return [(node.lineno, problem) for node in tree.body if runs_on_import(node)]


def runs_on_import(node: ast.stmt) -> bool:
    """Whether a top-level statement of a library module does work when the module is imported."""
    return not (isinstance(node, _ALLOWED_AT_TOP) or _is_docstring(node) or is_guard(node) or _imports_only(node))


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)


def is_guard(node: ast.stmt) -> bool:
    """``if __name__ == "__main__":`` or ``if TYPE_CHECKING:``."""
    return isinstance(node, ast.If) and (
        "__name__" in ast.unparse(node.test) or "TYPE_CHECKING" in ast.unparse(node.test)
    )


def _imports_only(node: ast.stmt) -> bool:
    """``try: import x`` / ``except ImportError: ...``, a common optional-import idiom."""
    return isinstance(node, ast.Try) and all(isinstance(n, ast.Import | ast.ImportFrom) for n in node.body)


def _pylint(project: Path, files: Sequence[str]) -> list[tuple[str, int, str]]:
    """(path, line, problem) for each error pylint reports."""
    targets = [f for f in files if f.endswith(".py") and (project / f).is_file()]
    if not targets:
        return []
    argv = [sys.executable, "-I", "-m", "pylint", *_PYLINT, f"--rcfile={os.devnull}"]
    argv += ["--output-format=json", "--score=n", "--persistent=n", "--jobs=1", *targets]
    try:
        with tempfile.TemporaryDirectory(prefix="agentco-pylint-") as home:  # not in the project: no planted links
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": home, "PYLINTHOME": home}
            # its own session: a Ctrl-C is agentco's to handle, not a pylint failure to report
            done = subprocess.run(
                argv,
                cwd=project,
                capture_output=True,
                text=True,
                timeout=_PYLINT_TIMEOUT,
                env=env,
                start_new_session=True,
            )
    except subprocess.TimeoutExpired:
        log.warning("pylint took over %s s on %s; its findings are left out", _PYLINT_TIMEOUT, project)
        return []  # findings are an aid: the tests still run
    try:
        messages = json.loads(done.stdout or "[]")
    except json.JSONDecodeError:
        log.warning("pylint failed on %s (exit %s): %s", project, done.returncode, done.stderr[-500:])
        return []
    if done.returncode & 1 and not messages:  # pylint's "fatal" bit: it could not run at all
        raise ConfigError(f"pylint cannot run ({done.stderr.strip()[-300:]}); reinstall agentco: pip install -e .")
    return [(m["path"], m["line"], _explain(m)) for m in messages]


def _explain(message: dict) -> str:
    """pylint's message, with what to do for the ones small models trip on most."""
    symbol, text = message["symbol"], message["message"]
    if symbol == "method-hidden":
        method = message["obj"].rsplit(".", 1)[-1]
        return (
            f"an attribute `self.{method}` hides the method `{method}()` ({text}): "
            f"keep the data in another attribute, e.g. `self._{method}`"
        )
    if symbol == "undefined-variable":
        name = text.split("'")[1] if "'" in text else ""
        if name in sys.stdlib_module_names:
            return f"`{name}` is used but never imported: add `import {name}` at the top"
    return f"{text} ({symbol})"
