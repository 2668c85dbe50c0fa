"""What each stage must produce, as pydantic models; their JSON schemas constrain the model.

The models speak of no programming language. What a language adds (which files provide an entry
point, which paths a design may list, how a field reads to the model) comes from its toolchain,
through ``prd_for``, ``design_for`` and ``task_breakdown_for``; the test plan is the toolchain's own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import PurePosixPath
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, create_model, field_validator, model_validator

from agentco.lang.base import EntryPoint

PathRule = Callable[[str], str | None]
"""A language's rule for a source file's path: why the path is refused, or None."""


class Competitor(BaseModel):
    name: str = Field(max_length=60)
    strength: str = Field(max_length=600)
    weakness: str = Field(max_length=600)


class QuadrantPoint(BaseModel):
    name: str = Field(max_length=60, description="a competitor, or our product")
    # levels, not numbers: a grammar can enforce an enum but not a numeric range
    reach: Literal["low", "medium", "high"]
    engagement: Literal["low", "medium", "high"]


class PoolItem(BaseModel):
    priority: Literal["P0", "P1", "P2"]
    requirement: str = Field(max_length=800)


class PRD(BaseModel):
    """The product requirements document."""

    project_name: str = Field(
        pattern=r"^[a-z][a-z0-9_]*$", max_length=40, description="snake_case, e.g. the package name"
    )
    entry_points: list[EntryPoint] = Field(
        max_length=4, description="modules, packages and programs the requirement names"
    )
    product_goals: list[str] = Field(min_length=1, max_length=3)
    user_stories: list[str] = Field(min_length=1, max_length=5)
    competitive_analysis: list[Competitor] = Field(min_length=1, max_length=4)
    competitive_quadrant: list[QuadrantPoint] = Field(min_length=2, max_length=5)
    requirement_analysis: str = Field(max_length=3000)
    requirement_pool: list[PoolItem] = Field(min_length=1, max_length=8)
    ui_design_draft: str = Field(
        max_length=2000, description="the user interface (a CLI's commands, pages...); empty if none"
    )
    anything_unclear: str = Field(max_length=1000)


COMPACT_WORDS = 400
"""A requirement of up to this many words (a paragraph) gets compact documents: a small model writes
about 12 tokens a second, and a full PRD cost more time than the code it led to."""


def compact(requirement: str) -> bool:
    return len(requirement.split()) <= COMPACT_WORDS


def prd_for(entry_points_hint: str, small: bool = False) -> type[PRD]:
    """A PRD whose entry points read as the language names them (its toolchain's ``entry_points_hint``);
    ``small``: with the shorter lists and texts that an idea of one paragraph needs."""
    fields: dict[str, Any] = {"entry_points": (list[EntryPoint], Field(max_length=4, description=entry_points_hint))}
    if small:
        fields |= {
            "product_goals": (list[str], Field(min_length=1, max_length=2)),
            "user_stories": (list[str], Field(min_length=1, max_length=3)),
            "competitive_analysis": (list[Competitor], Field(min_length=1, max_length=2)),
            "competitive_quadrant": (list[QuadrantPoint], Field(min_length=2, max_length=3)),
            "requirement_analysis": (str, Field(max_length=800)),
            "requirement_pool": (list[PoolItem], Field(min_length=1, max_length=5)),
            "ui_design_draft": (
                str,
                Field(max_length=800, description=PRD.model_fields["ui_design_draft"].description),
            ),
            "anything_unclear": (str, Field(max_length=400)),
        }
    return create_model("PRD", __base__=PRD, __doc__=PRD.__doc__, **fields)


class ClassSpec(BaseModel):
    file: str = Field(description="the file that defines it")
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    attributes: list[str] = Field(max_length=8, description='"name: type"')
    methods: list[str] = Field(max_length=10, description='"name(arg: type) -> type"')


class CallStep(BaseModel):
    caller: str = Field(max_length=40)
    callee: str = Field(max_length=40)
    message: str = Field(max_length=80)


class SystemDesign(BaseModel):
    path_rule: ClassVar[PathRule | None] = None
    """The language's own rule for each listed path, asked after the company's (``design_for`` sets it)."""

    implementation_approach: str = Field(max_length=3000)
    file_list: list[str] = Field(min_length=1, max_length=10, description="source files relative to the project root")
    data_structures: list[ClassSpec] = Field(max_length=8, description="classes, or modules with their functions")
    call_flow: list[CallStep] = Field(min_length=1, max_length=10)
    api_spec: str = Field(max_length=3000, description="the public API or command-line interface; empty if none")

    @field_validator("file_list")
    @classmethod
    def _source_paths(cls, files: list[str]) -> list[str]:
        problems = [f"{f!r}: {why}" for f in files if (why := _path_problem(f) or (cls.path_rule and cls.path_rule(f)))]
        if problems:
            raise ValueError("bad file paths: " + "; ".join(problems))
        if len(set(files)) != len(files):
            raise ValueError("file_list has duplicates")
        packages = {PurePosixPath(f).parts[0] for f in files if len(PurePosixPath(f).parts) > 1}
        clashes = [f for f in files if "/" not in f and PurePosixPath(f).stem in packages]
        if clashes:
            raise ValueError(
                f"{clashes[0]} and the package {PurePosixPath(clashes[0]).stem}/ would have the same "
                "import name; keep only the one the requirement asks for"
            )
        return files


def _path_problem(path: str) -> str | None:
    """The company's rules for a listed path: inside the project, plain characters, not another role's."""
    p = PurePosixPath(path)
    if p.is_absolute() or ".." in p.parts or not path.strip():
        return "must be a relative path inside the project"
    if not re.fullmatch(r"[A-Za-z0-9_./-]+", path):
        return "use letters, digits, _ - . and / only"
    if p.parts[0] in {"tests", "test", "docs"}:
        return "tests and docs are written by other roles; list source files only"
    return None


def design_for(entry_points: Sequence[EntryPoint] = (), path_rule: PathRule | None = None) -> type[SystemDesign]:
    """A SystemDesign that must provide these entry points (a toolchain's), its paths checked by ``path_rule``."""

    class Design(SystemDesign):
        @model_validator(mode="after")
        def _provides_entry_points(self) -> Design:
            files = set(self.file_list)
            for entry in entry_points:
                options = entry.files()
                if not entry.provided_by(files):
                    needed = " and ".join(options[0])
                    raise ValueError(f"the requirement uses {entry.describe()}: the file list needs {needed}")
            return self

    Design.path_rule = staticmethod(path_rule) if path_rule else None  # type: ignore[assignment]
    Design.__name__ = "SystemDesign"
    return Design


class FileTask(BaseModel):
    file: str
    description: str = Field(max_length=1500, description="what this file must contain")
    depends_on: list[str] = Field(max_length=8, description="project files this one imports")


class TaskBreakdown(BaseModel):
    required_packages: list[str] = Field(max_length=10, description="third-party packages only; [] if none")
    tasks: list[FileTask] = Field(min_length=1)
    shared_knowledge: str = Field(max_length=2000, description="conventions every engineer must follow")


def task_breakdown_for(files: list[str], packages_hint: str | None = None) -> type[TaskBreakdown]:
    """A TaskBreakdown whose file names are limited to the design's files, one task per file; its
    packages read as the language names them (its toolchain's ``packages_hint``)."""
    names = tuple(files)
    task = create_model(
        "FileTask",
        __base__=FileTask,
        file=(Literal[names], ...),
        depends_on=(list[Literal[names]], Field(max_length=8)),
    )
    packages = packages_hint or TaskBreakdown.model_fields["required_packages"].description

    class Breakdown(TaskBreakdown):
        required_packages: list[str] = Field(max_length=10, description=packages)
        tasks: list[task] = Field(min_length=len(names), max_length=len(names))  # type: ignore[valid-type]

        @model_validator(mode="after")
        def _one_task_per_file(self) -> Breakdown:
            missing = [f for f in names if f not in {t.file for t in self.tasks}]
            if missing:
                raise ValueError(f"every file needs exactly one task; missing: {', '.join(missing)}")
            return self

    Breakdown.__name__ = "TaskBreakdown"
    return Breakdown


class Review(BaseModel):
    issues: list[str] = Field(max_length=5, description="concrete defects; [] when there are none")
    verdict: Literal["approve", "rewrite"]


def triage_for(files: list[str]) -> type[BaseModel]:
    """Which file to change to make a failing test pass: a source file or the test itself."""
    return create_model(
        "Triage",
        # bounded within the local model's grammar: ini2json's triage on 86d71b7 listed one expectation
        # after another until the 250-token cap, five times, and the pick fell back each time
        reason=(str, Field(max_length=200)),
        file_to_fix=(Literal[tuple(files)], ...),
    )
