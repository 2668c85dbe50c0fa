"""Runs from the command line: the runtime does the work; this prints it and sets the exit status."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import typer
from rich.markup import escape
from rich.text import Text

from agentco.cli.common import err_console, exit_code_for
from agentco.errors import AgentcoError, BudgetExceeded


def execute(
    start: Callable[[list[Any]], Awaitable[Any]], *, quiet: bool, resuming: bool = False, as_json: bool = False
) -> None:
    """Run ``start(subscribers)`` (a runtime call) with the live view watching, then report.

    The run id comes from the event stream, so every message can say how to continue the run."""
    from agentco.cli.live import LiveView
    from agentco.runtime import RunAlreadyCompleted

    console = err_console()
    view = LiveView(console, stream=not quiet, resuming=resuming)
    try:
        outcome = asyncio.run(start([view]))
    except RunAlreadyCompleted as exc:
        console.print(escape(str(exc)))
        raise typer.Exit(0) from None
    except KeyboardInterrupt:
        console.print(
            f"\n[yellow]Interrupted; the run is saved.[/] Continue it with: [bold]agentco resume {view.run_id}[/]"
        )
        sys.exit(130)
    except BudgetExceeded as exc:
        console.print(
            f"[bold red]stopped:[/] {escape(str(exc))}\nThe run is saved; continue it with: "
            f"[bold]agentco resume {view.run_id} --investment AMOUNT[/]"
        )
        sys.exit(exit_code_for(exc))
    except AgentcoError as exc:
        if view.run_id is None:
            raise
        console.print(
            f"[bold red]error:[/] {escape(str(exc))}\nThe run is saved; after fixing the cause, continue it "
            f"with: [bold]agentco resume {view.run_id}[/]"
        )
        sys.exit(exit_code_for(exc))
    if as_json:
        _print_json(outcome)
    else:
        _print_outcome(outcome)
    if outcome.status in ("failed", "rolled_back"):
        sys.exit(1)


def _print_json(outcome: Any) -> None:
    import json

    fields = {"run_id": outcome.run_id, "status": outcome.status, "project": str(outcome.project or ""),
              "answer": getattr(outcome, "answer", None), **outcome.summary}  # fmt: skip
    print(json.dumps(fields, indent=2, ensure_ascii=False, default=str))


def _print_outcome(outcome: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    if getattr(outcome, "answer", None):
        Console().print(Text(outcome.answer), "")
    s = outcome.summary
    table = Table(title=f"run {outcome.run_id}: {s['status']}", show_header=False)
    table.add_row("project", Text(str(outcome.project)))
    if s["tests_passed"] is not None:
        table.add_row("tests", f"{s['tests_passed']} passed, {s['tests_failed']} failed")
    table.add_row("model calls", f"{s['llm_calls']} ({s['replayed_calls']} replayed)")
    table.add_row("tokens", f"{s['prompt_tokens']} prompt + {s['completion_tokens']} completion")
    table.add_row("cost", f"${s['cost_usd']:.4f}")
    table.add_row("wall time", f"{s['wall_s']:.1f} s")
    for note in outcome.notes:
        table.add_row("note", Text(note))
    Console().print(table)
