"""The Python toolchain: what the company asks of Python, answered by this package's modules."""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel

from agentco.lang import base
from agentco.lang.base import Dropped, EnvResult, TestPlanLike, TestReport, TestScope
from agentco.lang.python.entry_points import DESCRIPTION, EntryPoint, entry_points_in, imported_in, usage_lines
from agentco.lang.python.env import ProjectEnv, default_cache_dir, filter_requirements
from agentco.lang.python.imports import import_check, procedures, programs, public_names
from agentco.lang.python.paths import is_test_file, module_for, path_problem, shadow_warnings
from agentco.lang.python.protocols import special_method, special_methods
from agentco.lang.python.test_plan import names_to_check, test_plan_for
from agentco.lang.python.testing import run_tests
from agentco.templates import render

PROMPTS = "lang/python"
"""This language's prompts, under ``agentco/prompts``."""


class PythonToolchain:
    name = "python"
    requirements_file = "requirements.txt"
    install_command = "python -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt pytest"
    test_command = "python -m pytest -q"
    entry_points_hint = DESCRIPTION
    packages_hint = "third-party PyPI packages only; [] if none"

    def __init__(
        self,
        *,
        cache_dir: Path | None = None,
        test_timeout: float = 300,
        install_timeout: float = 600,
        cpu_seconds: int = 300,
        memory_mb: int = 4096,
    ):
        self.cache_dir = cache_dir or default_cache_dir()
        self.test_timeout = test_timeout
        self.env = ProjectEnv(self.cache_dir, install_timeout, cpu_seconds, memory_mb)

    # -- what the company's documents and prompts say of Python -----------------------------------

    def prompt(self, name: str) -> str:
        return f"{PROMPTS}/{name}"

    source_suffix = ".py"
    path_problem = staticmethod(path_problem)
    module_for = staticmethod(module_for)
    is_test_file = staticmethod(is_test_file)
    special_method = staticmethod(special_method)
    imported_in = staticmethod(imported_in)
    special_methods = staticmethod(special_methods)

    def name_warnings(self, named: Iterable[str]) -> list[str]:
        return shadow_warnings(named)

    def entry_points_in(self, requirement: str, listed: Sequence[base.EntryPoint] = ()) -> list[EntryPoint]:
        return entry_points_in(requirement, listed)

    def test_file_for(self, project_name: str) -> str:
        slug = re.sub(r"\W+", "_", project_name).strip("_").lower() or "project"
        return f"tests/test_{slug}.py"

    def programs(self, files: Mapping[str, str]) -> list[str]:
        return programs(files)

    def public_names(self, files: Mapping[str, str]) -> dict[str, str]:
        return public_names(files)

    def test_scope(self, requirement: str, files: Mapping[str, str], max_checks: int) -> TestScope:
        runnable, provided = self.programs(files), self.public_names(files)
        return TestScope(
            modules=[m for m in map(self.module_for, files) if m and "__" not in m],
            commands=runnable,
            must_check=names_to_check(requirement, {*provided, *runnable}),
            provided=provided,
            usage={name: line for name, line in usage_lines(requirement).items() if name in runnable},
            max_checks=max_checks,
            procedures=procedures(files),
        )

    def test_plan_schema(self, scope: TestScope, previous: TestPlanLike | None = None) -> type[BaseModel]:
        shape = {field: value for field, value in vars(scope).items() if field != "procedures"}
        return test_plan_for(**shape, previous=previous)

    def render_tests(self, plan: TestPlanLike) -> str:
        return render(self.prompt("test_file.py.j2"), plan=plan)

    def with_requirement_checks(
        self, plan: TestPlanLike, requirement: str, scope: TestScope, notes: list[str]
    ) -> TestPlanLike:
        """``plan`` with the checks the requirement states itself as one more group (``examples.py``)
        and command checks (``stated.py``), its checks held to the requirement's words (a value the
        requirement never says a call returns is a guess), and checks that run none of the project's
        code or contradict each other dropped (``plan_repair.py``)."""
        from agentco.lang.python import examples, stated
        from agentco.lang.python.plan_repair import drop_contradictions, drop_idle_checks

        checks = examples.requirement_checks(requirement, scope.provided)
        groups = {name: group for name, group in plan.value_checks.items() if name != examples.GROUP}
        plan.value_checks = {**groups, examples.GROUP: checks} if checks else groups
        plan.command_checks = [c for c in plan.command_checks if not c.name.startswith(examples.PREFIX)]
        stated.hold_to_requirement(plan, stated.outcomes(requirement), notes)
        stated.hold_to_usage(plan, scope.usage, notes)
        stated.hold_values_to_requirement(plan, requirement, scope.procedures, notes)
        modules = {part for module in scope.modules for part in module.split(".")}
        drop_idle_checks(plan, {*scope.provided, *modules}, notes)
        plan.command_checks = [*stated.requirement_commands(requirement, scope.usage), *plan.command_checks]
        drop_contradictions(plan, notes)
        plan.complete()  # the imports of the names the new checks use
        return plan

    def called_functions(self, requirement: str) -> list[str]:
        from agentco.lang.python.examples import called_functions

        return list(called_functions(requirement))

    def missing_functions(self, requirement: str, files: Mapping[str, str]) -> dict[str, list[str]]:
        from agentco.lang.python.examples import missing_functions

        return missing_functions(requirement, files)

    def requirement_plan(self, requirement: str, scope: TestScope, notes: list[str]) -> TestPlanLike | None:
        schema = test_plan_for(scope.modules, scope.commands, provided=scope.provided, usage=scope.usage)
        plan = self.with_requirement_checks(
            schema.model_construct(imports=[], value_checks={}, command_checks=[]), requirement, scope, notes
        )
        return plan if plan.checks() or plan.command_checks else None

    def repair_test_plan(self, data: Any, notes: list[str]) -> Any:
        from agentco.lang.python.plan_repair import drop_broken_checks

        return drop_broken_checks(data, notes)

    def valid_part(self, data: Any, scope: TestScope, notes: list[str]) -> TestPlanLike | None:
        from agentco.lang.python.plan_repair import valid_part

        relaxed = test_plan_for(scope.modules, scope.commands, max_checks=scope.max_checks, provided=scope.provided,
                                usage=scope.usage)  # fmt: skip
        return valid_part(data, relaxed, notes)

    def is_requirement_check(self, test_name: str) -> bool:
        from agentco.lang.python import examples

        return f"::test_{examples.PREFIX}" in test_name or test_name.startswith(f"test_{examples.PREFIX}")

    def outline(self, source: str) -> str:
        from agentco.lang.python.outline import outline

        return outline(source)

    def mend(self, path: str, code: str) -> tuple[str, list[str]]:
        from agentco.lang.python.mend import mend_source

        return mend_source(path, code)

    def stray_file(self, path: str) -> str | None:
        from agentco.lang.python.paths import stray_file

        return stray_file(path)

    def mend_imports(self, files: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
        from agentco.lang.python.project_imports import mend_project_imports

        return mend_project_imports(files)

    def fallback(self, path: str) -> str | None:
        """A package's ``__init__.py`` may be empty: the package still imports and runs."""
        return "" if PurePosixPath(path).name == "__init__.py" else None

    # -- checks that need no environment ---------------------------------------------------------

    def lint(self, project: Path, files: Sequence[str]) -> dict[str, list[str]]:
        from agentco.lang.python.lint import lint

        return lint(project, [f for f in files if not is_test_file(f)])

    def check_syntax(self, source: str | Path, filename: str = "<generated>") -> str | None:
        if isinstance(source, Path):
            filename, source = (str(source) if filename == "<generated>" else filename), source.read_bytes()
        try:
            ast.parse(source, filename=filename)
        except SyntaxError as exc:
            where = f"{exc.filename}:{exc.lineno}" + (f":{exc.offset}" if exc.offset else "")
            line = (exc.text or "").strip()
            return f"{where}: {type(exc).__name__}: {exc.msg}" + (f"\n    {line}" if line else "")
        except (ValueError, RecursionError, MemoryError) as exc:
            return f"{filename}: {type(exc).__name__}: {exc}"
        return None

    def filter_requirements(self, lines: Iterable[str]) -> tuple[list[str], list[Dropped]]:
        return filter_requirements(lines)

    # -- the project's environment, and running its code -----------------------------------------

    def prepare_env(self, project: Path, requirements: Sequence[str] | None = None) -> EnvResult:
        if requirements is None:
            req_file = Path(os.path.realpath(project)) / self.requirements_file
            requirements = req_file.read_text(errors="replace").splitlines() if req_file.is_file() else []
        return self.env.prepare(project, requirements)

    def _ready(self, project: Path) -> Path:
        """The project's interpreter, preparing the environment first when there is none."""
        python = self.env.python(project)
        if not python.exists():
            self.prepare_env(project)
        return python

    def run_tests(self, project: Path, test_paths: Sequence[str] = ()) -> TestReport:
        project = Path(os.path.realpath(project))
        python = self._ready(project)
        return run_tests(self.env, python, project, test_paths, self.test_timeout)

    def import_check(self, project: Path, modules: Sequence[str]) -> dict[str, list[str]]:
        project = Path(os.path.realpath(project))
        timeout = min(self.test_timeout, 60)
        return import_check(self.env, lambda: self._ready(project), project, modules, timeout)
