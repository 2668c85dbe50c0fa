"""``agentco run``, ``agentco resume``: the software company from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from agentco.cli.common import err_console

Investment = Annotated[float | None, typer.Option("--investment", help="budget in US dollars for this run")]
ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="provider:model, e.g. openai:gpt-4o-mini")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="don't stream what the roles write")]
WorkspaceOpt = Annotated[Path | None, typer.Option("--workspace", help="where projects are created")]
ReviewAnswers = Annotated[
    Path | None,
    typer.Option("--review-answers", help="answers to the review gates, one a line (for scripts; default: ask)"),
]


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("resume")(resume)


def run(
    idea: Annotated[str | None, typer.Argument(help="what to build, in one line")] = None,
    investment: Investment = None,
    n_round: Annotated[int, typer.Option("--n-round", help="maximum rounds of the team")] = 20,
    code_review: Annotated[
        bool | None, typer.Option("--code-review/--no-code-review", help="default: code_review in the config")
    ] = None,
    run_tests: Annotated[
        bool | None, typer.Option("--run-tests/--no-run-tests", help="default: run_tests in the config")
    ] = None,
    implement: Annotated[bool, typer.Option("--implement/--no-implement", help="stop after the documents")] = True,
    project_name: Annotated[str | None, typer.Option("--project-name")] = None,
    workspace: WorkspaceOpt = None,
    model: ModelOpt = None,
    replay: Annotated[str | None, typer.Option("--replay", help="re-run RUN_ID from its stored responses")] = None,
    human_review: Annotated[
        bool, typer.Option("--human-review", help="pause after the PRD, the design and the tasks for review")
    ] = False,
    review: Annotated[
        str | None, typer.Option("--review", help="pause after these for review: prd,design,tasks (comma-separated)")
    ] = None,
    review_answers: ReviewAnswers = None,
    inc: Annotated[bool, typer.Option("--inc", help="change the existing project at --project-path")] = False,
    project_path: Annotated[
        Path | None, typer.Option("--project-path", help="with --inc or --reqa-file: the project to work on")
    ] = None,
    allow_dirty: Annotated[
        bool, typer.Option("--allow-dirty", help="with --inc: work on a tree with uncommitted changes")
    ] = False,
    reqa_file: Annotated[
        str | None, typer.Option("--reqa-file", help="with --project-path: QA alone, tests for this file")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the outcome as JSON on stdout")] = False,
    quiet: Quiet = False,
) -> None:
    """Turn an idea into a tested project (also: agentco "IDEA"); with --inc, change an existing one."""
    from agentco.cli.common import redacted, settings_from_cli
    from agentco.cli.review import answerer
    from agentco.cli.session import execute
    from agentco.runtime import RunRequest, start_run

    if inc or reqa_file is not None or project_path is not None:
        return change(idea, inc=inc, project_path=project_path, allow_dirty=allow_dirty, reqa_file=reqa_file,
                      model=model, investment=investment, workspace=workspace, quiet=quiet, as_json=as_json)  # fmt: skip
    if idea is None and replay is None:
        err_console().print('[red]say what to build: agentco "IDEA"[/]')
        raise typer.Exit(2)
    idea = redacted(idea or "", "idea")
    settings = settings_from_cli(model=model, max_budget=investment, workspace=workspace)
    request = RunRequest.build(
        idea=idea,
        n_round=n_round,
        code_review=code_review,
        run_tests=run_tests,
        implement=implement,
        project_name=project_name,
        model=model,
        investment=investment,
        workspace=str(workspace) if workspace else None,
        replay_of=replay,
        review=["prd", "design", "tasks"]
        if human_review
        else [s.strip() for s in (review or "").split(",") if s.strip()],
    )
    reviewer = answerer(review_answers) if request.review else None
    execute(lambda events: start_run(settings, request, events=events, reviewer=reviewer), quiet=quiet or as_json,
            as_json=as_json)  # fmt: skip


def resume(
    run_id: Annotated[str | None, typer.Argument(help="the run to continue (see agentco runs list)")] = None,
    investment: Investment = None,
    recover_path: Annotated[Path | None, typer.Option("--recover-path", help="resume the run of this project")] = None,
    workspace: WorkspaceOpt = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="go on with this provider:model (default: the run's)")
    ] = None,
    review_answers: ReviewAnswers = None,
    quiet: Quiet = False,
) -> None:
    """Continue an interrupted run; completed model calls are served from the run store."""
    from agentco.cli.common import settings_from_cli
    from agentco.cli.review import answerer
    from agentco.cli.session import execute
    from agentco.runtime import resume_run

    if run_id is None and recover_path is None:
        err_console().print("[red]give a RUN_ID or --recover-path PROJECT[/]")
        raise typer.Exit(2)
    settings = settings_from_cli(workspace=workspace)
    reviewer = answerer(review_answers)  # asked only if the run is under review

    def start(events: list) -> Any:
        return resume_run(settings, run_id, recover_path=recover_path, investment=investment, model=model,
                          events=events, reviewer=reviewer)  # fmt: skip

    execute(start, quiet=quiet, resuming=True)


def change(
    idea: str | None, *, inc: bool, project_path: Path | None, allow_dirty: bool, reqa_file: str | None,
    model: str | None, investment: float | None, workspace: Path | None, quiet: bool, as_json: bool = False,
) -> None:  # fmt: skip
    """``--inc`` (a change) or ``--reqa-file`` (QA alone) on the project at ``--project-path``."""
    from agentco.cli.common import redacted, settings_from_cli
    from agentco.cli.session import execute
    from agentco.errors import ConfigError
    from agentco.runtime import ChangeRequest, start_run

    if project_path is None:
        raise ConfigError("--inc and --reqa-file work on an existing project: give --project-path P")
    if not inc and reqa_file is None:
        raise ConfigError("--project-path names the project for --inc (a change) or --reqa-file (QA alone)")
    if inc and reqa_file is not None:
        raise ConfigError("--reqa-file is QA alone, without --inc: give one of them")
    settings = settings_from_cli(model=model, max_budget=investment, workspace=workspace)
    request = ChangeRequest.build(
        idea=redacted(idea or "", "change") if inc else (idea or ""), project_path=str(project_path),
        allow_dirty=allow_dirty, reqa_file=reqa_file, model=model, investment=investment,
        workspace=str(workspace) if workspace else None,
    )  # fmt: skip
    execute(lambda events: start_run(settings, request, events=events), quiet=quiet or as_json, as_json=as_json)
