"""One run of the software company: hire the team, run it, record everything, summarise."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentco.company.roles import Architect, Engineer, ProductManager, ProjectManager, QaEngineer
from agentco.company.workshop import CompanyOptions, Workshop
from agentco.core.environment import Environment
from agentco.core.message import Message
from agentco.core.role import Role
from agentco.core.team import Team
from agentco.errors import BudgetExceeded
from agentco.llm.client import LLMClient
from agentco.templates import render

SUMMARY_FILE = ".agentco/summary.json"


@dataclass
class RunOutcome:
    run_id: str | None
    status: str
    project: Path | None
    summary: dict[str, Any]
    notes: list[str]


class RunRecorder:
    """Writes a run's progress to the store as it happens (a no-op without a store)."""

    def __init__(self, store: Any, run_id: str | None, meter: Any, started_wall: float):
        self.store, self.run_id, self.meter = store, run_id, meter
        self.stage = "prd"
        self.started = time.monotonic()
        self.previous_wall = started_wall

    @property
    def wall_s(self) -> float:
        return round(self.previous_wall + time.monotonic() - self.started, 2)

    def message(self, message: Message) -> None:
        if self.store:
            record = message.to_record()
            self.store.record_message(
                self.run_id,
                id=record["id"],
                sent_from=record["sent_from"],
                cause_by=record["cause_by"],
                send_to=record["send_to"],
                content=record["content"],
                payload=record["payload"],
            )

    def artifact(self, path: str, sha256: str) -> None:
        if self.store:
            self.store.record_artifact(self.run_id, path, sha256, self.stage)

    def step(self, name: str, project: Path | None) -> None:
        self.stage = name
        if self.store:
            self.store.mark_step(self.run_id, name)
            self.update(stage=name, project_path=str(project) if project else "")

    def update(self, **fields: Any) -> None:
        if self.store:
            self.store.update_run(self.run_id, **self.meter.summary(), wall_s=self.wall_s, **fields)


def build_team(
    workshop: Workshop,
    llm: LLMClient,
    llm_for: Callable[[str], LLMClient | None],
    role_kwargs: dict[str, Any],
    on_publish: Callable[[Message], None],
) -> Team:
    team = Team(llm, env=Environment(on_publish=on_publish), llm_for=lambda role: llm_for(role.name))
    roles: list[Role] = [
        ProductManager(workshop, **role_kwargs),
        Architect(workshop, **role_kwargs),
        ProjectManager(workshop, **role_kwargs),
    ]
    if workshop.options.implement:
        roles += [Engineer(workshop, **role_kwargs), QaEngineer(workshop, **role_kwargs)]
    return team.hire(*roles)


async def run_company(
    idea: str,
    options: CompanyOptions,
    llm: LLMClient,
    *,
    toolchain: Any = None,
    llm_for: Callable[[str], LLMClient | None] = lambda name: None,
    role_kwargs: dict[str, Any] | None = None,
    store: Any = None,
    run_id: str | None = None,
    previous_wall_s: float = 0.0,
    n_round: int = 20,
) -> RunOutcome:
    """Turn an idea into a project. Raises on failure after recording it; the run can be resumed."""
    if toolchain is None:
        from agentco.lang import get_toolchain

        toolchain = get_toolchain("python")
    recorder = RunRecorder(store, run_id, llm.meter, previous_wall_s)
    workshop = Workshop(idea.strip(), options, toolchain, on_write=recorder.artifact)
    workshop.on_stage = lambda name: recorder.step(name, workshop.project.root if workshop.project else None)
    workshop.on_open = lambda root: recorder.update(project_path=str(root))
    team = build_team(workshop, llm, llm_for, role_kwargs or {}, recorder.message)
    recorder.update(status="running", error=None)
    try:
        await team.run(idea.strip(), n_round=n_round)
        summary = finish_project(workshop, llm, recorder.wall_s)
    except BudgetExceeded as exc:
        recorder.update(status="budget_exceeded", error=str(exc))
        raise
    except (KeyboardInterrupt, asyncio.CancelledError):
        recorder.update(status="interrupted", error="interrupted by the user")
        raise
    except Exception as exc:
        recorder.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        raise
    recorder.update(
        status="completed", stage="done", project_path=str(workshop.project.root) if workshop.project else None
    )
    return RunOutcome(
        run_id, summary["status"], workshop.project.root if workshop.project else None, summary, workshop.notes
    )


def finish_project(workshop: Workshop, llm: LLMClient, wall_s: float) -> dict[str, Any]:
    """Write the generated project's README and summary, and commit them."""
    project, toolchain, report = workshop.folder, workshop.toolchain, workshop.test_report
    passed = report.passed if report is not None else None
    failed = report.failed + report.errors if report is not None else None
    if workshop.design is not None:
        readme = render(
            "company/docs/readme.md.j2",
            project_name=project.root.name,
            requirement=workshop.requirement,
            design=workshop.design,
            install_command=toolchain.install_command,
            test_command=toolchain.test_command,
            tests_total=None if report is None else report.total,
            tests_passed=passed,
        )
        project.write("README.md", readme + "\n")
    if not workshop.options.implement:
        status = "documents_only"
    elif report is None:
        status = "untested"
    else:
        status = "passed" if report.ok else "failed"
    summary = {
        "status": status,
        **llm.meter.summary(),
        "wall_s": wall_s,
        "tests_passed": passed,
        "tests_failed": failed,
        "model": str(llm.ref),
        "files": sorted(workshop.code),
        "notes": workshop.notes,
    }
    project.write_json(SUMMARY_FILE, summary)
    project.commit("Add the README and the run summary", "agentco")
    return summary
