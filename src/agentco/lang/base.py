"""The seam between the company and one programming language: check, set up, test, import.

A toolchain owns everything language-specific about a generated project; roles only see the
plain results below, so Node.js or Go can follow by adding one module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple, Protocol

Outcome = Literal["passed", "failed", "error", "skipped"]


class Dropped(NamedTuple):
    """A requirement line left out, or rewritten, and why."""

    line: str
    reason: str


@dataclass(frozen=True)
class EnvResult:
    """The project's own environment. ``failed`` maps a requirement to the installer's complaint."""

    ok: bool
    installed: list[str]
    failed: dict[str, str]
    dropped: list[Dropped]
    duration_s: float
    log_tail: str = ""


@dataclass(frozen=True)
class TestCase:
    __test__ = False  # not a pytest class

    name: str
    outcome: Outcome
    message: str = ""
    text: str = ""  # the failure's traceback
    files: tuple[str, ...] = ()  # project files its traceback points at, relative, in order
    where: str = ""  # the source line of the project where it failed, e.g. "roman.py:33: total += x[s]"


@dataclass(frozen=True)
class TestReport:
    __test__ = False

    cases: list[TestCase]
    output_tail: str
    returncode: int
    duration_s: float
    timed_out: bool = False
    killed_reason: str | None = None
    problem: str | None = None  # why there are no per-test results, when there are none
    source_files: list[str] = field(default_factory=list)  # non-test files the failures point at

    def count(self, outcome: Outcome) -> int:
        return sum(case.outcome == outcome for case in self.cases)

    @property
    def passed(self) -> int:
        return self.count("passed")

    @property
    def failed(self) -> int:
        return self.count("failed")

    @property
    def errors(self) -> int:
        return self.count("error")

    @property
    def total(self) -> int:
        return len(self.cases)

    @property
    def ok(self) -> bool:
        return self.problem is None and self.total > 0 and self.failed == self.errors == 0

    @property
    def failures(self) -> list[TestCase]:
        return [case for case in self.cases if case.outcome in ("failed", "error")]

    def summary(self) -> str:
        if self.problem:
            return self.problem
        counts = [f"{n} {label}" for n, label in ((self.passed, "passed"), (self.failed, "failed"),
                  (self.errors, "errors"), (self.count("skipped"), "skipped")) if n]  # fmt: skip
        return f"{', '.join(counts)} in {self.duration_s:.1f}s"


class LanguageToolchain(Protocol):
    name: str
    file_extensions: tuple[str, ...]
    requirements_file: str  # where the project lists its dependencies, relative to its root
    install_command: str  # for the generated README, run from the project root
    test_command: str

    def run_command(self, entry: str) -> str:
        """How the README tells a user to run ``entry`` (a file or a module)."""
        ...

    def test_file_for(self, project_name: str) -> str:
        """Where the QA engineer's test file goes, relative to the project root."""
        ...

    def module_for(self, path: str) -> str | None:
        """The name a project file is imported by, or None for a file that is not a module."""
        ...

    def programs(self, files: Mapping[str, str]) -> list[str]:
        """The modules of a project (path → text) that run as programs."""
        ...

    def public_names(self, files: Mapping[str, str]) -> dict[str, str]:
        """The functions and classes a project (path → text) defines at the top level of its modules,
        each with the module that defines it (name → module)."""
        ...

    def import_hint(self, files: Sequence[str]) -> str:
        """Tells whoever writes the tests how to import the project's files."""
        ...

    def outline(self, source: str) -> str:
        """The interface of a source file without its bodies, for prompts."""
        ...

    def fallback(self, path: str) -> str | None:
        """The smallest valid content of ``path`` when the language has one (or None), kept when a
        file cannot be fixed; the import check and the tests then say whether the project needs more."""
        ...

    def lint(self, project: Path, files: Sequence[str]) -> dict[str, list[str]]:
        """Defects found in ``files`` (relative to ``project``) without running them: path → problems."""
        ...

    def check_syntax(self, source: str | Path, filename: str = "<generated>") -> str | None:
        """The syntax error with its line number, or None. A Path is read; a str is the code."""
        ...

    def filter_requirements(self, lines: Iterable[str]) -> tuple[list[str], list[Dropped]]: ...

    def prepare_env(self, project: Path, requirements: Sequence[str] | None = None) -> EnvResult:
        """Creates the project's environment; ``None`` reads the project's own requirements file."""
        ...

    def run_tests(self, project: Path, test_paths: Sequence[str] = ()) -> TestReport: ...

    def import_check(self, project: Path, modules: Sequence[str]) -> dict[str, list[str]]:
        """Imports each module (a module name or a source file's path) in the sandbox.

        Maps each one that failed, under the name it was given, to its problems; files that are
        not importable code (data, docs) are skipped.
        """
        ...
