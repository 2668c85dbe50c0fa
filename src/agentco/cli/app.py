"""The ``agentco`` command. Heavy modules are imported inside the commands, never here."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

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
    from agentco.errors import ConfigError

    target = path or user_config_path()
    if target.exists() and not force:
        err_console().print(f"[yellow]{target} already exists; not overwriting it (use --force).[/]")
        raise typer.Exit(1)
    if target.is_dir():
        raise ConfigError(f"{target} is a folder; give the file to write, such as {target / 'agentco.yaml'}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(CONFIG_TEMPLATE, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {target}: {exc.strerror}") from None
    print(f"wrote {target}")


def _register_optional_commands() -> None:
    """Commands living in their own modules (each module imports only typer/rich at load)."""
    import importlib

    for module in (
        "agentco.cli.run",
        "agentco.cli.batch",
        "agentco.cli.di",
        "agentco.cli.models",
        "agentco.cli.runs",
        "agentco.cli.bench",
        "agentco.cli.serve",
        "agentco.cli.kb",
        "agentco.cli.scenario",
    ):
        try:
            importlib.import_module(module).register(app)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


_register_optional_commands()

COMMANDS = {
    "run",
    "resume",
    "batch",
    "di",
    "version",
    "init-config",
    "ask",
    "models",
    "runs",
    "bench",
    "serve",
    "tokens",
    "kb",
    "scenario",
    "scenarios",
    "chat",
    "--help",
    "-h",
}


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


def blank_argument(args: list[str]) -> str | None:
    """What to say of an empty or blank argument: an explicit empty value is never a silent default.
    (The flags are looked up only when there is a blank argument: building the command tree twice on
    every start would cost the CLI's start-up time.)"""
    for i, arg in enumerate(args):
        option, equals, value = arg.partition("=") if arg.startswith("--") else ("", "", arg)
        if not equals:
            option, value = "", arg
        if value.strip():
            continue
        before = args[i - 1] if i else ""
        option = option or (before if before.startswith("-") and "=" not in before and before not in _flags() else "")
        if option:
            return f"{option} was given an empty value: leave the option out to use the configured one, or give a value"
        commands = [a for a in args[:i] if a in COMMANDS]
        if commands in ([], ["run"]):
            return 'say what to build: agentco "IDEA"'
        if commands == ["di"]:
            return 'say what to find out: agentco di "REQUEST"'
        return f"`agentco {' '.join(commands)}` was given an empty argument: give a value (see --help)"
    return None


def _flags() -> set[str]:
    """Every option of every command that takes no value (--quiet, --force, ...)."""
    found: set[str] = set()
    todo = [typer.main.get_command(app)]
    while todo:
        command = todo.pop()
        todo += list(getattr(command, "commands", {}).values())
        for param in command.params:
            if getattr(param, "is_flag", False) or getattr(param, "count", False):
                found.update(param.opts + getattr(param, "secondary_opts", []))
    return found


def main(argv: list[str] | None = None) -> None:
    """Entry point. ``agentco "IDEA"`` is short for ``agentco run "IDEA"``. Every error the user can fix
    ends with one line on stderr: usage errors exit 2, configuration errors 2, a spent budget 3."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] in (["--version"], ["-V"]):
        args[0] = "version"
    if problem := blank_argument(args):
        _error(problem, 2)
    first = next((a for a in args if not a.startswith("-")), None)
    if args and args[0].startswith("-") and args[0] not in {"--help", "-h"}:
        args.insert(0, "run")  # options first (agentco --reqa-file F --project-path P): the run's
    elif first is not None and first not in COMMANDS and not (args and args[0] in {"--help", "-h"}):
        if len(first.split()) == 1:  # one bare word is a mistyped command far more often than an idea
            _error(unknown_command(first), 2)
        args.insert(0, "run")
    from agentco.errors import AgentcoError

    try:
        code = app(args=args, prog_name="agentco", standalone_mode=False)
    except typer.TyperException as exc:  # click's usage errors, as typer vendors them
        if type(exc).__name__ == "NoArgsIsHelpError":  # a command group given no command: its help
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        ctx = getattr(exc, "ctx", None)
        hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
        _error(exc.format_message() + hint, exc.exit_code)  # type: ignore[attr-defined]
    except typer.Abort:
        _error("stopped", 130)
    except AgentcoError as exc:
        _error(str(exc), exit_code_for(exc))
    sys.exit(code if isinstance(code, int) else 0)


def _error(message: str, code: int) -> NoReturn:
    err_console().print(f"[bold red]error:[/] {escape(message)}")
    sys.exit(code)


if __name__ == "__main__":
    main()
