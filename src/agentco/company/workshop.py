"""What the team of one run shares: the requirement, the options, the project and its documents."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentco.company.project import ProjectFolder
from agentco.company.schemas import PRD, SystemDesign, TaskBreakdown


@dataclass
class CompanyOptions:
    workspace: Path = Path("workspace")
    project_name: str | None = None
    code_review: bool = True
    run_tests: bool = True
    implement: bool = True
    fix_rounds: int = 2
    max_parallel_files: int = 1
    max_tests: int = 8
    replace_project: Path | None = None
    """The one folder this run may replace: its own project, rebuilt from the store on resume."""
    resuming: bool = False


@dataclass
class Workshop:
    requirement: str
    options: CompanyOptions
    toolchain: Any
    on_write: Callable[[str, str], None] | None = None
    on_stage: Callable[[str], None] | None = None
    on_open: Callable[[Path], None] | None = None
    """Called with the project folder before it is created, unless it exists already (not ours)."""
    project: ProjectFolder | None = None
    prd: PRD | None = None
    design: SystemDesign | None = None
    tasks: TaskBreakdown | None = None
    code: dict[str, str] = field(default_factory=dict)
    test_file: str | None = None
    test_plan: Any = None
    test_report: Any = None
    notes: list[str] = field(default_factory=list)

    def open_project(self, name: str) -> ProjectFolder:
        root = (self.options.workspace / name).resolve()
        if self.on_open is not None and not (root.exists() and any(root.iterdir())):
            # recorded first, so a run killed while creating it can resume and replace its own folder
            self.on_open(root)
        replace = self.options.replace_project is not None and root == self.options.replace_project.resolve()
        self.project = ProjectFolder.create(root, on_write=self.on_write, replace=replace)
        return self.project

    def stage(self, name: str) -> None:
        if self.on_stage is not None:
            self.on_stage(name)

    @property
    def folder(self) -> ProjectFolder:
        if self.project is None:
            raise RuntimeError("the project folder is created with the PRD")
        return self.project
