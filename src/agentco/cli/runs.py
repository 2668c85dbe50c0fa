"""``agentco runs list`` and ``agentco runs show``: what the run store holds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from agentco.store import RunRecord, RunStore

WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="workspace folder holding .agentco/runs.db (default: this folder if it has one, else from config)",
    ),
]


def register(app: typer.Typer) -> None:
    runs = typer.Typer(help="Inspect the runs stored in a workspace.", no_args_is_help=True)
    runs.command("list")(list_runs)
    runs.command("show")(show_run)
    app.add_typer(runs, name="runs")


def list_runs(workspace: WorkspaceOption = None) -> None:
    """List the runs of a workspace, newest first."""
    found = next((w for w in _workspaces(workspace) if _has_store(w)), None)
    store = None if found is None else _open_existing(found)
    if store is None:
        typer.echo("no runs yet")
        return
    with store:
        records = [_as_seen(store, r) for r in store.list_runs()]
    if not records:
        typer.echo("no runs yet")
        return
    table = Table(box=box.SIMPLE_HEAD, collapse_padding=True)
    for name in ("id", "status", "stage", "calls", "cost", "wall"):
        table.add_column(name, no_wrap=True)
    table.add_column("project", overflow="ellipsis", min_width=8)
    for r in records:
        cells = (r.id, r.status, r.stage, str(r.llm_calls), f"${r.cost_usd:.4f}", _duration(r.wall_s))
        table.add_row(*(Text(str(c)) for c in (*cells, _short(r.project_path))))  # text, never markup
    Console().print(table)


def show_run(
    run_id: Annotated[str, typer.Argument(help="the run id, as `agentco runs list` prints it")],
    workspace: WorkspaceOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the fields as JSON")] = False,
) -> None:
    """Show one run: status, usage, cost, finished steps and the last error."""
    record = None
    steps: list[str] = []
    searched = []
    for place in _workspaces(workspace):
        searched.append(str(place))
        store = _open_existing(place)
        if store is None:
            continue
        with store:
            record = store.get_run(run_id)
            if record is not None:
                record = _as_seen(store, record)
                steps = [s.name for s in store.steps(run_id)]
                break
    if record is None:
        typer.echo(f"no run {run_id} in {' or '.join(searched)}", err=True)
        raise typer.Exit(1)
    fields = _show_fields(record, steps)
    if as_json:
        typer.echo(json.dumps(fields, indent=2, ensure_ascii=False))
        return
    table = Table(show_header=False, box=None, title=f"run {record.id}", title_justify="left")
    for name, value in fields.items():
        if name == "steps":
            value = ", ".join(steps) or "-"
        elif name == "cost_usd":
            value = f"${value:.4f}"
        elif name == "wall_s":
            value = _duration(value)
        table.add_row(name, Text("-" if value is None else str(value)))
    Console().print(table)


def _as_seen(store: RunStore, record: RunRecord) -> RunRecord:
    from agentco.store.records import as_seen

    return as_seen(record, store.is_live(record.id))


def _show_fields(record: RunRecord, steps: list[str]) -> dict[str, object]:
    return {
        "status": record.status,
        "stage": record.stage,
        "llm_calls": record.llm_calls,
        "replayed_calls": record.replayed_calls,
        "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens,
        "cost_usd": record.cost_usd,
        "wall_s": record.wall_s,
        "project_path": record.project_path,
        "steps": steps,
        "error": record.error,
    }


def _workspaces(option: Path | None) -> Iterator[Path]:
    """Where runs are looked for: the given folder; else this folder when it has a run store, then the
    configured workspace. Lazy, so that a folder with a store needs no valid config to be read."""
    if option is not None:
        if not option.is_dir():
            from agentco.errors import ConfigError

            raise ConfigError(f"no folder {option}", key="--workspace")
        yield option
        return
    here = Path.cwd()
    store_here = _has_store(here)
    if store_here:
        yield here
    configured = _configured_workspace()
    if not store_here or configured.resolve() != here.resolve():
        yield configured


def _configured_workspace() -> Path:
    from agentco.config import load_settings

    return load_settings().workspace  # a ConfigError ends the command with its one line


def _open_existing(workspace: Path) -> RunStore | None:
    """The workspace's store, or None when it has none; reading never creates a database."""
    import sqlite3

    from agentco.errors import ConfigError
    from agentco.store import RunStore, db_path

    if not _has_store(workspace):
        return None
    try:
        return RunStore.open(workspace)
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"cannot read {db_path(workspace)}: {exc}") from None


def _has_store(workspace: Path) -> bool:
    from agentco.store import db_path

    return db_path(workspace).is_file()


def _short(path: str) -> str:
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
