"""``agentco scenarios list|show``, ``agentco scenario run|resume``, ``agentco chat``: conversations
of roles declared in YAML, run through the runtime like every other run."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from agentco.cli.common import err_console
from agentco.errors import ConfigError

Inputs = Annotated[list[str] | None, typer.Option("--input", "-i", help="an input of the scenario: KEY=VALUE")]
ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="the run's model (and the `default` alias)")]
RoleModels = Annotated[
    list[str] | None, typer.Option("--role-model", help="ROLE=MODEL: a model or alias for one role (repeatable)")
]
Humans = Annotated[list[str] | None, typer.Option("--human", help="a role you play yourself (repeatable)")]
Answers = Annotated[
    Path | None, typer.Option("--answers", help="the human roles' answers, one a line (for scripts; default: ask)")
]
Continue = Annotated[
    str | None, typer.Option("--continue", help="go on with the conversation of an earlier run (RUN_ID)")
]
WorkspaceOpt = Annotated[Path | None, typer.Option("--workspace", help="where runs and transcripts are kept")]
Investment = Annotated[float | None, typer.Option("--investment", help="budget in US dollars for this run")]
AsJson = Annotated[bool, typer.Option("--json", help="print the outcome and transcript as JSON on stdout")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="don't stream what the roles write")]


def register(app: typer.Typer) -> None:
    listing = typer.Typer(help="What agentco can run: the scenarios and the software company.", no_args_is_help=True)
    listing.command("list")(list_scenarios)
    listing.command("show")(show_scenario)
    app.add_typer(listing, name="scenarios")
    running = typer.Typer(help="Run a scenario: roles talking in declared stages.", no_args_is_help=True)
    running.command("run")(run_scenario)
    running.command("resume")(resume_scenario)
    app.add_typer(running, name="scenario")
    app.command("chat")(chat)


def list_scenarios() -> None:
    """List the built-in scenarios and the software company."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from agentco.scenario.registry import entries

    table = Table(show_header=True, box=None)
    for column in ("name", "kind", "description"):
        table.add_column(column)
    for entry in entries():
        table.add_row(entry.name, entry.kind, Text(" ".join(entry.description.split())))
    Console().print(table)


def show_scenario(name: Annotated[str, typer.Argument(help="a built-in scenario's name or a scenario file")]) -> None:
    """Show a scenario: its description, inputs, roles, stages and limits, and its file."""
    from agentco.scenario.registry import PYTHON_PIPELINES, load, source

    if name in PYTHON_PIPELINES:
        print(f"{name}: {PYTHON_PIPELINES[name]}")
        return
    scenario = load(name)
    print(f"{scenario.name}: {' '.join(scenario.description.split())}\nfile: {source(name)}\n")
    print("inputs:")
    for key, spec in scenario.inputs.items():
        print(f"  {key}: {spec.description}" + (f" (default: {spec.default})" if spec.default is not None else ""))
    print("roles:")
    for role, spec in scenario.roles.items():
        extras = [f"model {spec.model}" if spec.model else "", "human" if spec.human else "",
                  f"knowledge {', '.join(spec.knowledge)}" if spec.knowledge else "",
                  f"answers {', '.join(spec.output)}" if spec.output else ""]  # fmt: skip
        print(f"  {role}: {' '.join(spec.persona.split())}" + "".join(f"; {e}" for e in extras if e))
    print("stages:")
    for stage in scenario.stages:
        how = f"{stage.mode}, {stage.rounds} round(s)" + (", private" if stage.private else "")
        routes = ", ".join(f"{'if ' + _condition(r.when) + ' ' if r.when else ''}-> {r.to}" for r in stage.routes)
        print(f"  {stage.name}: {', '.join(stage.speakers)} ({how})" + (f"; {routes}" if routes else ""))
    print(f"limits: {scenario.limits.messages} messages", end="")
    print(f", {scenario.limits.tokens} tokens" if scenario.limits.tokens else "", end="")
    print(f", ${scenario.limits.budget}" if scenario.limits.budget is not None else "")


def run_scenario(
    name: Annotated[str, typer.Argument(help="a built-in scenario (agentco scenarios list) or a .yaml file")],
    inputs: Inputs = None,
    model: ModelOpt = None,
    role_model: RoleModels = None,
    human: Humans = None,
    answers: Answers = None,
    continue_from: Continue = None,
    workspace: WorkspaceOpt = None,
    investment: Investment = None,
    as_json: AsJson = False,
    quiet: Quiet = False,
) -> None:
    """Run a scenario and print its transcript (speaker, stage, citations); --json for scripts."""
    _start(name, inputs, model, role_model, human, answers, continue_from, workspace, investment, as_json, quiet)


def chat(
    name: Annotated[str, typer.Argument(help="a built-in scenario or a .yaml file")],
    human: Humans = None,
    inputs: Inputs = None,
    model: ModelOpt = None,
    role_model: RoleModels = None,
    answers: Answers = None,
    continue_from: Continue = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Take part in a scenario yourself: you speak for its human roles (--human ROLE), typing each turn
    (an empty line asks again; /quit leaves, and `agentco scenario resume RUN_ID` goes on)."""
    from agentco.scenario.registry import load

    scenario = load(name)
    if not human and not scenario.humans():
        roles = ", ".join(scenario.roles)
        raise ConfigError(f"say which role you play: agentco chat {name} --human ROLE (roles: {roles})")
    _start(name, inputs, model, role_model, human, answers, continue_from, workspace, None, False, True)


def resume_scenario(
    run_id: Annotated[str, typer.Argument(help="the scenario run to continue (see agentco runs list)")],
    answers: Answers = None,
    workspace: WorkspaceOpt = None,
    quiet: Quiet = False,
) -> None:
    """Continue an interrupted scenario run; its answers so far are served from the run store."""
    from agentco.cli.common import settings_from_cli
    from agentco.cli.session import execute
    from agentco.runtime import resume_run

    settings = settings_from_cli(workspace=workspace)
    seat = _seat(answers, needed=True, required=False)
    execute(lambda events: resume_run(settings, run_id, events=[*events, _Printer(quiet)], human=seat),
            quiet=True, resuming=True)  # fmt: skip


def _start(
    name: str, inputs: list[str] | None, model: str | None, role_model: list[str] | None, human: list[str] | None,
    answers: Path | None, continue_from: str | None, workspace: Path | None, investment: float | None,
    as_json: bool, quiet: bool,
) -> None:  # fmt: skip
    from agentco.cli.common import settings_from_cli
    from agentco.cli.session import execute
    from agentco.runtime import ScenarioRequest, start_run
    from agentco.scenario.registry import load

    settings = settings_from_cli(model=model, max_budget=investment, workspace=workspace)
    request = ScenarioRequest.build(
        scenario=name, inputs=_pairs(inputs, "--input"), role_models=_pairs(role_model, "--role-model"),
        humans=human or [], continue_from=continue_from, model=model, investment=investment,
        workspace=str(workspace) if workspace else None,
    )  # fmt: skip
    seat = _seat(answers, needed=bool(request.humans or load(request.scenario).humans()), required=True)
    live = not (quiet or as_json or seat is not None)  # else the transcript is printed at the end

    async def start(events: list[Any]) -> Any:
        outcome = await start_run(settings, request, events=[*events, _Printer(not live)], human=seat)
        if live:
            outcome.answer = ""  # it was printed as it was said
        return outcome

    execute(start, quiet=True, as_json=as_json)


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    pairs = {}
    for value in values or []:
        key, equals, rest = value.partition("=")
        if not equals or not key.strip():
            raise ConfigError(f"{value!r} is not KEY=VALUE", key=option)
        pairs[key.strip()] = rest
    return pairs


def _seat(answers: Path | None, *, needed: bool, required: bool) -> Any:
    """Who answers for the human roles: the answers file, else the terminal; None when none is needed
    (or, resuming, none is at hand: a run whose people have answered already needs none)."""
    if not needed and answers is None:
        return None
    if answers is not None:
        return AnswersSeat.load(answers)
    if sys.stdin.isatty():
        return TerminalSeat()
    if required:
        raise ConfigError("this scenario has a human role and stdin is not a terminal: give --answers FILE")
    return None


class TerminalSeat:
    """The person at the terminal: shown what they have not seen yet, asked for their turn."""

    async def speak(self, turn: Any) -> str:
        from agentco.scenario.human import HumanLeft

        console = err_console()
        for message in turn.new:
            if message.sent_from != turn.role:
                console.print(f"[bold]{escape(message.sent_from)}[/] [dim]({escape(message.cause_by)})[/]: "
                              f"{escape(message.content)}")  # fmt: skip
        if turn.instruction:
            console.print(f"[dim]{escape(turn.instruction)}[/]")
        while True:
            console.print(f"[bold cyan]{escape(turn.role)}>[/] ", end="")
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line or line.strip() == "/quit":
                raise HumanLeft(f"{turn.role} left the conversation")
            if line.strip():
                return line.strip()


class AnswersSeat:
    """The human roles' answers from a file, one a line, in order (blank lines and # comments skipped)."""

    def __init__(self, path: Path, lines: list[str]):
        self.path, self.lines = path, lines

    @classmethod
    def load(cls, path: Path) -> AnswersSeat:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}", key="--answers") from None
        return cls(path, [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")])

    async def speak(self, turn: Any) -> str:
        if not self.lines:
            raise ConfigError(f"{self.path} has no answer left for {turn.role} in stage {turn.stage}")
        return self.lines.pop(0)


class _Printer:
    """Each message of the conversation as it is said (stderr), unless quiet."""

    def __init__(self, quiet: bool):
        self.quiet = quiet

    def __call__(self, event: Any) -> None:
        from agentco import events as ev

        if event.kind == ev.NOTE and event.data.get("source") == "scenario":
            err_console().print(f"[yellow]{escape(event.data['text'])}[/]")
        elif event.kind == ev.MESSAGE and not self.quiet:
            data = event.data
            err_console().print(f"[bold]{escape(data['sent_from'])}[/] [dim]({escape(data['cause_by'])})[/]: "
                                f"{escape(data['content'])}")  # fmt: skip
            for cited in (data.get("payload") or {}).get("citations") or []:
                err_console().print(f"    [dim]\\[{cited['n']}] {escape(cited['source'])} (chunk {cited['chunk']})[/]")


def _condition(condition: Any) -> str:
    if condition.contains is not None:
        return f"says {condition.contains!r}"
    return f"{condition.field} agrees" if condition.agree else f"{condition.field} = {condition.equals}"
