"""The ``agentco`` command. Heavy modules are imported inside the commands, never here."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from agentco.cli.common import err_console, exit_code_for, hide_flag_types

hide_flag_types()
app = typer.Typer(
    name="agentco",
    help="A team of LLM agents that turns a one-line idea into a tested project.\n\n"
    'Usage: agentco "IDEA" (short for agentco run "IDEA"), or one of the commands below.',
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.command()
def version() -> None:
    """Print the agentco version."""
    from agentco import __version__

    print(f"agentco {__version__}")


@app.command("init-config")
def init_config(
    path: Annotated[Path | None, typer.Option(help="where to write (default ~/.agentco/config.yaml)")] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing file")] = False,
) -> None:
    """Write a commented configuration template."""
    from agentco.config import CONFIG_TEMPLATE, user_config_path

    target = path or user_config_path()
    if target.exists() and not force:
        err_console().print(f"[yellow]{target} already exists; not overwriting it (use --force).[/]")
        raise typer.Exit(1)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(CONFIG_TEMPLATE, encoding="utf-8")
    print(f"wrote {target}")


def _register_optional_commands() -> None:
    """Commands living in their own modules (each module imports only typer/rich at load)."""
    import importlib

    for module in ("agentco.cli.run", "agentco.cli.models", "agentco.cli.runs", "agentco.cli.bench"):
        try:
            importlib.import_module(module).register(app)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


_register_optional_commands()

COMMANDS = {"run", "resume", "version", "init-config", "ask", "models", "runs", "bench", "--help", "-h"}


def unknown_command(word: str) -> str:
    """What to say of a single word that is neither a command nor an idea of several words."""
    import difflib

    known = sorted(c for c in COMMANDS if not c.startswith("-")) + ["runs list", "runs show"]
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    close += [c for c in known if " " in c and difflib.get_close_matches(word, [c.split()[1]], cutoff=0.6)]
    hint = f"Did you mean `agentco {close[0]}`? " if close else ""
    return (
        f"{word!r} is not an agentco command. {hint}To build something, describe it in a few words: "
        f'agentco "{word} ..." (or agentco run {word!r} for a one-word idea)'
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point. ``agentco "IDEA"`` is short for ``agentco run "IDEA"``."""
    args = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in args if not a.startswith("-")), None)
    if first is not None and first not in COMMANDS and not (args and args[0] in {"--help", "-h"}):
        if len(first.split()) == 1:  # one bare word is a mistyped command far more often than an idea
            err_console().print(f"[bold red]error:[/] {escape(unknown_command(first))}")
            sys.exit(2)
        args.insert(0, "run")
    from agentco.errors import AgentcoError

    try:
        app(args=args, prog_name="agentco")
    except AgentcoError as exc:
        err_console().print(f"[bold red]error:[/] {escape(str(exc))}")
        sys.exit(exit_code_for(exc))


if __name__ == "__main__":
    main()
