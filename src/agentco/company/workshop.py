"""What the team of one run shares: the requirement, the options, the project and its documents."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentco.company.project import ProjectFolder
from agentco.company.schemas import PRD, SystemDesign, TaskBreakdown
from agentco.events import NOTE, PROJECT_OPENED, STAGE_FINISHED, TEST_REPORT, EventBus


@dataclass
class CompanyOptions:
    workspace: Path = Path("workspace")
    project_name: str | None = None
    code_review: bool = True
    run_tests: bool = True
    implement: bool = True
    fix_rounds: int = 2
    max_parallel_files: int = 1
    one_reply_files: int = 6
    """A project of 2 to this many files to write (empty ones aside) is written in one reply: the
    1.5B model writing file by file, shown only the outlines of the files before, redefined their
    classes and called functions they did not have (ledger on 33ed395)."""
    max_tests: int = 8
    replace_project: Path | None = None
    """The one folder this run may replace: its own project, rebuilt from the store on resume."""


@dataclass
class Workshop:
    requirement: str
    options: CompanyOptions
    toolchain: Any
    events: EventBus = field(default_factory=EventBus)
    """Where the run's stages, notes, files and test reports are announced."""
    project: ProjectFolder | None = None
    prd: PRD | None = None
    design: SystemDesign | None = None
    tasks: TaskBreakdown | None = None
    code: dict[str, str] = field(default_factory=dict)
    test_file: str | None = None
    test_plan: Any = None
    notes: list[str] = field(default_factory=list)
    _test_report: Any = None

    def open_project(self, name: str) -> ProjectFolder:
        root = (self.options.workspace / name).resolve()
        if not (root.exists() and any(root.iterdir())):
            # announced first, so a run killed while creating it can resume and replace its own folder
            self.events.emit(PROJECT_OPENED, path=str(root))
        replace = self.options.replace_project is not None and root == self.options.replace_project.resolve()
        self.project = ProjectFolder.create(root, events=self.events, replace=replace)
        if self.project.set_aside is not None:  # said to the user, not part of the project's summary
            text = (
                f"{root.name}/ held files this run had not committed; they were moved to {self.project.set_aside.name}/"
            )
            self.events.emit(NOTE, text=text, source="runtime")
        return self.project

    def note(self, text: str) -> None:
        """Something the run should tell the user (kept in the summary)."""
        self.notes.append(text)
        self.events.emit(NOTE, text=text)

    def stage(self, name: str) -> None:
        """A stage is done and committed."""
        self.events.emit(STAGE_FINISHED, name=name, project=str(self.project.root) if self.project else "")

    @property
    def test_report(self) -> Any:
        return self._test_report

    @test_report.setter
    def test_report(self, report: Any) -> None:
        self._test_report = report
        if report is not None:
            self.events.emit(
                TEST_REPORT, passed=report.passed, failed=report.failed, errors=report.errors, summary=report.summary()
            )

    @property
    def folder(self) -> ProjectFolder:
        if self.project is None:
            raise RuntimeError("the project folder is created with the PRD")
        return self.project
