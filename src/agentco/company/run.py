"""One run of the software company: hire the team, run it, announce everything, summarise."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentco.company.pipeline import hire_company
from agentco.company.review import DocumentReview
from agentco.company.workshop import CompanyOptions, Workshop
from agentco.core.ending import announce_failure
from agentco.core.environment import Environment
from agentco.core.review import Reviewer
from agentco.core.team import Team
from agentco.events import RUN_FINISHED, RUN_STARTED, EventBus
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


def build_team(
    workshop: Workshop,
    llm: LLMClient,
    llm_for: Callable[[str], LLMClient | None],
    role_kwargs: dict[str, Any],
    reviewer: Reviewer | None = None,
) -> Team:
    env = Environment(workshop.events)
    roles = hire_company(workshop, role_kwargs)
    gate = DocumentReview(reviewer, roles) if reviewer is not None else None
    return Team(llm, env=env, llm_for=lambda role: llm_for(role.name), reviewer=gate).hire(*roles)


async def run_company(
    idea: str,
    options: CompanyOptions,
    llm: LLMClient,
    *,
    toolchain: Any = None,
    llm_for: Callable[[str], LLMClient | None] = lambda name: None,
    role_kwargs: dict[str, Any] | None = None,
    events: EventBus | None = None,
    store: Any = None,
    run_id: str | None = None,
    previous_wall_s: float = 0.0,
    n_round: int = 20,
    reviewer: Reviewer | None = None,
) -> RunOutcome:
    """Turn an idea into a project. Raises on failure after announcing it; the run can be resumed.

    ``events`` is the run's stream (made here when not given); with ``store`` and ``run_id`` the
    store's tables follow it."""
    if toolchain is None:
        from agentco.lang import get_toolchain

        toolchain = get_toolchain("python")
    from agentco.store.recorder import follow_run

    events = events or EventBus(run_id, store)
    wall_s = follow_run(events, store, run_id, llm.meter.summary, previous_wall_s)
    workshop = Workshop(idea.strip(), options, toolchain, events)
    team = build_team(workshop, llm, llm_for, role_kwargs or {}, reviewer)
    events.emit(RUN_STARTED, idea=idea.strip(), model=str(llm.ref))
    with announce_failure(events):
        await team.run(idea.strip(), n_round=n_round)
        summary = finish_project(workshop, llm, wall_s())
    project = workshop.project.root if workshop.project else None
    events.emit(RUN_FINISHED, status="completed", result=summary["status"], project=str(project) if project else "")
    return RunOutcome(run_id, summary["status"], project, summary, workshop.notes)


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
        "tests_from_requirement": _from_requirement(report, toolchain),
        "model": str(llm.ref),
        "files": sorted(workshop.code),
        "notes": workshop.notes,
    }
    project.write_json(SUMMARY_FILE, summary)
    project.commit("Add the README and the run summary", "agentco")
    return summary


def _from_requirement(report: Any, toolchain: Any) -> dict[str, int] | None:
    """How the checks the requirement states itself did (the rest came from the model's plan)."""
    if report is None:
        return None
    mine = [case for case in report.cases if toolchain.is_requirement_check(case.name)]
    return {"passed": sum(case.outcome == "passed" for case in mine), "total": len(mine)}
