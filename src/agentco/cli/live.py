"""Shows what each role is writing while it writes (rich), or nothing with --quiet."""

from __future__ import annotations

from typing import Any


class LiveView:
    """A CallObserver printing to stderr. Tokens are streamed while one call is active;
    with several calls at once (hosted models in parallel) only their start and end are shown."""

    def __init__(self, console: Any, *, stream: bool = True):
        self.console, self.stream = console, stream
        self.active: dict[str, str] = {}
        self.replayed = 0

    def call_started(self, who: str, what: str) -> None:
        self.active[who] = what
        if self.stream:
            self.console.print(f"[bold cyan]{who}[/] [dim]is writing {what or 'a reply'}…[/]")

    def token(self, who: str, text: str) -> None:
        if self.stream and len(self.active) == 1:
            self.console.out(text, end="", style="dim", highlight=False)

    def call_finished(self, who: str, completion: Any) -> None:
        self.active.pop(who, None)
        if not self.stream:
            return
        self.console.out("")
        usage = completion.usage
        self.console.print(f"[dim]  {usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens[/]")
