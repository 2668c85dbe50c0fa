"""The seam between the company and one programming language: its prompts, its path rules, its
test-plan language, and checking, setting up, testing and importing a project.

A toolchain owns everything language-specific about a generated project; roles only see the
plain results below, so Node.js or Go can follow by adding one module (see README.md here).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple, Protocol

from pydantic import BaseModel, Field

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


# no docstring: it would become the description of every schema that holds an entry point
class EntryPoint(BaseModel):
    # how the requirement says the code is used: a module used by name, a package, or a program;
    # a toolchain's subclass says which files provide each kind and how the kind reads

    kind: Literal["module", "package", "command"]
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=40)

    def files(self) -> list[list[str]]:
        """Each alternative set of source files that provides this entry point."""
        raise NotImplementedError

    def provided_by(self, files: Collection[str]) -> bool:
        """Whether a design's file list provides this entry point."""
        return any(set(option) <= set(files) for option in self.files())

    def describe(self) -> str:
        """How the entry point reads in a prompt or an error, e.g. "`python -m tool`"."""
        raise NotImplementedError


@dataclass(frozen=True)
class TestScope:
    """What a test plan may use and must check, worked out from the requirement and the code as written."""

    __test__ = False  # not a pytest class

    modules: list[str]  # what the checks may import
    commands: list[str]  # the programs they may run
    must_check: list[str]  # the names the requirement gives, each of which needs a group of checks
    provided: dict[str, str]  # the project's public names, each with the module that defines it
    usage: dict[str, str]  # each program's command line as the requirement writes it
    max_checks: int
    procedures: frozenset[str] = frozenset()  # the functions and methods whose code returns no value


class TestPlanLike(Protocol):
    """A plan validated by a toolchain's ``test_plan_schema``: QA's checks as data, which the toolchain
    renders into a test file (``render_tests``)."""

    def expectations(self) -> dict[str, str]:
        """Each rendered test's name → what it expects, for the model that must act on a failure."""
        ...

    def prompt_json(self) -> str:
        """The plan as the model that corrects it reads it."""
        ...

    def model_dump(self, *, mode: str = "python") -> dict[str, Any]: ...


class LanguageToolchain(Protocol):
    name: str
    requirements_file: str  # where the project lists its dependencies, relative to its root
    install_command: str  # for the generated README, run from the project root
    test_command: str
    entry_points_hint: str  # the PRD's entry_points field, as the model reads it
    packages_hint: str  # the task breakdown's required_packages field, as the model reads it
    source_suffix: str  # how the project's source files end, e.g. ".py"

    def is_test_file(self, path: str) -> bool:
        """Whether ``path`` (relative) is one of the project's tests, not its code."""
        ...

    def prompt(self, name: str) -> str:
        """The template of this language's prompt ``name`` (e.g. "write_code.j2"), relative to
        ``agentco/prompts``; it may include the company's shared parts (``company/_requirement.j2``)."""
        ...

    def path_problem(self, path: str, named: Collection[str] = ()) -> str | None:
        """Why a design may not list ``path`` as a source file, past the company's own rules, or None.
        ``named``: the names the requirement gives its own code, which win over the language's naming rules."""
        ...

    def stray_file(self, path: str) -> str | None:
        """Why ``path``, listed by a design, is no source file of the project at all (Python: another
        kind of file, the project root's ``__init__.py``), or None; the design drops such a file."""
        ...

    def name_warnings(self, named: Iterable[str]) -> list[str]:
        """What the requirement's own names risk in this language (Python: hiding a standard module), for the notes."""
        ...

    def entry_points_in(self, requirement: str, listed: Sequence[EntryPoint] = ()) -> list[EntryPoint]:
        """``listed`` (the PRD's) and those the requirement's own words name, as this language's kind."""
        ...

    def imported_in(self, requirement: str, name: str) -> bool:
        """Whether the requirement imports from the module or package ``name`` (Python: ``from name import x``)."""
        ...

    def special_method(self, entry: str, owner: str = "") -> str | None:
        """A design's method entry of class ``owner`` written as the expression that calls it (Python:
        ``len(cache)``) as the language's special method (``__len__(self)``); None for anything else."""
        ...

    def special_methods(self, text: str) -> list[tuple[str, str]]:
        """``(expression, method)`` for the code in ``text`` that uses a special method on an object
        (Python: ``len(cache)`` → ``__len__``), for the engineer's prompt."""
        ...

    def test_file_for(self, project_name: str) -> str:
        """Where the QA engineer's test file goes, relative to the project root."""
        ...

    def test_scope(self, requirement: str, files: Mapping[str, str], max_checks: int) -> TestScope:
        """What a test plan of the project (path → text) may use and must check."""
        ...

    def test_plan_schema(self, scope: TestScope, previous: TestPlanLike | None = None) -> type[BaseModel]:
        """The pydantic model of a test plan that fits ``scope`` and, when it corrects ``previous``, differs from it."""
        ...

    def render_tests(self, plan: TestPlanLike) -> str:
        """The test file that runs ``plan``'s checks."""
        ...

    def with_requirement_checks(
        self, plan: TestPlanLike, requirement: str, scope: TestScope, notes: list[str]
    ) -> TestPlanLike:
        """``plan`` plus the checks the requirement states itself, expected values from its own words,
        with the model's checks that contradict its words dropped or corrected (each noted)."""
        ...

    def called_functions(self, requirement: str) -> list[str]:
        """The functions the requirement's examples call by bare name: module-level functions, never
        a class's methods (none when the requirement speaks of a class)."""
        ...

    def missing_functions(self, requirement: str, files: Mapping[str, str]) -> dict[str, list[str]]:
        """The functions the requirement's examples call by bare name that the code (path → text) does
        not define where a bare call reaches them: path → problems, for the engineer; empty when none is."""
        ...

    def requirement_plan(self, requirement: str, scope: TestScope, notes: list[str]) -> TestPlanLike | None:
        """A plan of the requirement's own checks alone (None when it states none): what is tested
        when the model writes no usable plan."""
        ...

    def repair_test_plan(self, data: Any, notes: list[str]) -> Any:
        """The model's parsed plan, mended where that has one right answer (each repair noted)."""
        ...

    def valid_part(self, data: Any, scope: TestScope, notes: list[str]) -> TestPlanLike | None:
        """The checks of a refused plan that are valid on their own, as a plan that need not cover
        every name (None when none is): fewer tests beat none when the attempts run out."""
        ...

    def is_requirement_check(self, test_name: str) -> bool:
        """Whether a test of the report is one of those checks."""
        ...

    def outline(self, source: str) -> str:
        """The interface of a source file without its bodies, for prompts."""
        ...

    def mend(self, path: str, code: str) -> tuple[str, list[str]]:
        """The generated source file ``path`` with what has one right answer repaired (Python: example
        code that would run on import guarded, a standard module it uses but never imports imported),
        and a note for each repair."""
        ...

    def mend_imports(self, files: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
        """The project's files (path → text) whose imports of the project's own names are mended where
        there is one right answer (Python: ``from pkg import f`` where only ``pkg.mod`` defines ``f``
        becomes ``from pkg.mod import f``): the changed files, and a note for each repair."""
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
