"""Shows what each role is writing while it writes (rich), or nothing with --quiet: a subscriber
of the run's event stream."""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from agentco import events as ev
from agentco.events import Event


class LiveView:
    """Prints to stderr. Tokens are streamed while one call is active; with several calls at once
    (hosted models in parallel) only their start and end are shown."""

    def __init__(self, console: Any, *, stream: bool = True, resuming: bool = False):
        self.console, self.stream, self.resuming = console, stream, resuming
        self.active: dict[str, str] = {}
        self.run_id: str | None = None

    def __call__(self, event: Event) -> None:
        self.run_id = event.run_id or self.run_id
        data = event.data
        if event.kind == ev.RUN_STARTED:
            self.console.print(
                f"[bold]run {self.run_id}[/] with {escape(str(data['model']))}"
                + (" (resuming)" if self.resuming else "")
            )
        elif event.kind == ev.NOTE and data.get("source") == "runtime":
            self.console.print(f"[yellow]{escape(data['text'])}[/]")
        elif event.kind == ev.CALL_STARTED:
            self.active[data["role"]] = data["what"]
            if self.stream:
                self.console.print(
                    f"[bold cyan]{escape(data['role'])}[/] [dim]is writing {escape(data['what'] or 'a reply')}…[/]"
                )
        elif event.kind == ev.CALL_TOKEN:
            if self.stream and len(self.active) == 1:
                self.console.out(data["text"], end="", style="dim", highlight=False)
        elif event.kind == ev.CALL_FINISHED:
            self.active.pop(data["role"], None)
            if self.stream:
                self.console.out("")
                self.console.print(
                    f"[dim]  {data['prompt_tokens']} prompt + {data['completion_tokens']} completion tokens[/]"
                )
        elif event.kind == ev.PLAN:
            self.console.print("[bold]plan:[/]")
            for task in data["tasks"]:
                self.console.print(f"  {escape(str(task['id']))}. {escape(str(task['instruction']))}")
        elif event.kind == ev.CELL:
            style = "green" if data["status"] == "ok" else "red"
            self.console.print(
                f"[{style}]cell[/] task {escape(str(data['task']))} attempt {data['attempt']}: "
                f"{escape(str(data['status']))} in {data['seconds']} s"
            )
