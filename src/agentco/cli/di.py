"""``agentco di``: the Data Interpreter from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("di")(di)


def di(
    request: Annotated[str, typer.Argument(help="what to find out, e.g. 'Which region grew fastest? Plot it.'")],
    data: Annotated[
        list[Path] | None, typer.Option("--data", help="a data file (repeatable); copied read-only")
    ] = None,
    workspace: Annotated[Path | None, typer.Option("--workspace", help="where the output folder goes")] = None,
    project_name: Annotated[str | None, typer.Option("--project-name", help="the output folder's name")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="provider:model")] = None,
    max_steps: Annotated[int | None, typer.Option("--max-steps", min=1, max=20, help="tasks in the plan")] = None,
    investment: Annotated[float | None, typer.Option("--investment", help="budget in US dollars")] = None,
    confirm: Annotated[bool, typer.Option("--confirm", help="show the plan and wait for approval")] = False,
    review_answers: Annotated[
        Path | None, typer.Option("--review-answers", help="with --confirm: the answer as a file, not typed")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the outcome as JSON on stdout")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="don't stream what the model writes")] = False,
) -> None:
    """Answer a question about data: plan, run code in a sandboxed Jupyter kernel, report with charts."""
    from agentco.cli.common import redacted, settings_from_cli
    from agentco.cli.review import answerer
    from agentco.cli.session import execute
    from agentco.runtime import DiRequest, start_run

    request = redacted(request, "request")
    settings = settings_from_cli(model=model, max_budget=investment, workspace=workspace)
    run = DiRequest.build(
        idea=request, data=[str(p) for p in data or []], model=model, investment=investment, max_steps=max_steps,
        project_name=project_name, workspace=str(workspace) if workspace else None, review=["plan"] if confirm else [],
    )  # fmt: skip
    reviewer = answerer(review_answers) if confirm else None
    execute(
        lambda events: start_run(settings, run, events=events, reviewer=reviewer),
        quiet=quiet or as_json,
        as_json=as_json,
    )
