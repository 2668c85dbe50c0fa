"""``agentco batch IDEAS [--ray [ADDRESS]]``: many runs, on this machine or on a Ray cluster, resumable as a whole."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agentco.cli.common import err_console


def register(app: typer.Typer) -> None:
    app.command("batch")(batch)


def batch(
    ideas: Annotated[
        Path,
        typer.Argument(
            help="a text file (one idea a line) or JSON lines (idea, project, model, "
            "budget, n_round, code_review, run_tests, implement)"
        ),
    ],
    address: Annotated[
        str | None, typer.Argument(help="with --ray: an existing cluster (HOST:PORT, ray://HOST:PORT or auto)")
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, help="runs at once")] = 1,
    repeat: Annotated[
        int, typer.Option("--repeat", min=1, help="runs of each idea (projects NAME-r1, NAME-r2...)")
    ] = 1,
    workspace: Annotated[
        Path | None, typer.Option("--workspace", help="where the projects and the run store go")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="provider:model for runs that name none")] = None,
    budget: Annotated[
        float | None, typer.Option("--budget", min=0, help="US dollars for the whole batch, checked before each call")
    ] = None,
    rate_limit: Annotated[
        float | None, typer.Option("--rate-limit", min=0.1, help="model calls a minute across the batch (hosted APIs)")
    ] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", min=1, help="seconds a run may take here")] = None,
    ray: Annotated[
        bool, typer.Option("--ray", help="run on Ray: a cluster started here, or the one at ADDRESS")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print batch.json on stdout")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Run the company on every idea of a file, each in its own project; run it again to resume the batch."""
    import json
    import os
    from contextlib import nullcontext

    from agentco.batch.cluster import LOCAL, cluster_for
    from agentco.batch.items import plan_jobs, read_items
    from agentco.batch.report import BATCH_FILE, BatchProgress, batch_table
    from agentco.batch.run import BatchOptions, run_batch
    from agentco.cli.common import settings_from_cli
    from agentco.errors import ConfigError
    from agentco.runtime.clients import check_model

    if ray and address is not None and not ideas.exists() and Path(address).is_file():
        ideas, address = Path(address), str(ideas)  # --ray ADDRESS IDEAS: the words came in the other order
    if address is not None and not ray:
        raise ConfigError(f"{address!r} after the ideas file is a Ray cluster's address: give it as --ray {address}")
    settings = settings_from_cli(model=model, workspace=workspace)
    root = settings.workspace.expanduser().resolve()  # workers elsewhere read it: never relative
    settings = settings.model_copy(update={"workspace": root})
    jobs = plan_jobs(read_items(ideas), repeat=repeat, model=model, workspace=root)
    for request in {job.request.model: job.request for job in jobs}.values():  # a bad model fails now, once
        check_model(request.settings(settings))
    root.mkdir(parents=True, exist_ok=True)
    options = BatchOptions(concurrency, budget, rate_limit, timeout)
    about = {"ideas": str(ideas.resolve()), "repeat": repeat, "model": model}
    console = err_console()
    try:
        with cluster_for((address or LOCAL) if ray else None, concurrency) as cluster:
            progress = None if quiet or as_json else BatchProgress(len(jobs), console)
            with progress or nullcontext():
                report = run_batch(settings, jobs, options, cluster=cluster, view=progress, about=about)
    except KeyboardInterrupt:
        console.print("\n[yellow]Interrupted; every run is saved.[/] Run the same command again to finish the batch.")
        os._exit(130)  # the runs' threads stop with the process, as if it were killed: each resumes later
    if as_json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        import sys

        from rich.console import Console

        Console(width=None if sys.stdout.isatty() else 160).print(batch_table(report))
        console.print(f"wrote {root / BATCH_FILE}")
    totals = report["totals"]
    if totals["completed"] < totals["runs"]:
        raise typer.Exit(1)


def batch_scaling(
    levels: Annotated[str, typer.Option("--levels", help="comma-separated concurrencies")] = "1,2,4,8",
    runs: Annotated[int, typer.Option("--runs", min=1, help="scripted runs at each concurrency")] = 8,
    delay: Annotated[float, typer.Option("--delay", min=0, help="seconds the fake model waits per call")] = 0.5,
    ray: Annotated[bool, typer.Option("--ray/--no-ray", help="also on a local Ray cluster")] = True,
    out: Annotated[Path | None, typer.Option("--out", help="where to write the JSON results")] = None,
) -> None:
    """Batch runs per minute at each concurrency, on threads and on a local Ray cluster (a waiting fake model)."""
    import sys

    from rich.console import Console

    from agentco.bench.batch_scaling import run_batch_scaling, scaling_table
    from agentco.bench.report import envelope, results_dir, write_json
    from agentco.cli.common import settings_from_cli

    report = run_batch_scaling(settings_from_cli(), levels, runs=runs, delay=delay, ray=ray, say=err_console().print)
    Console(width=None if sys.stdout.isatty() else 160).print(scaling_table(report))
    path = write_json(out or results_dir() / "batch_scaling.json", envelope("batch_scaling", report["model"], report))
    err_console().print(f"wrote {path}")
