"""Who answers a run's review gates from the command line: the person at the terminal, or a file of
answers (for scripts and tests). The gate itself, with its record for resume, is the runtime's."""

from __future__ import annotations

import asyncio
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentco.cli.common import err_console
from agentco.core.review import document_text, edited_verdict
from agentco.errors import ConfigError

ANSWER = re.compile(r"(approve|abort)|(feedback|edit):\s*(\S.*)", re.IGNORECASE)
ANSWERS_HELP = "one answer a line: approve, feedback: TEXT, edit: FILE.json, abort"


def answerer(answers_file: Path | None) -> Any:
    """The answers file when given; else the terminal when stdin is one; else None (the runtime
    refuses a run under review with nobody to answer, before it spends anything)."""
    if answers_file is not None:
        return AnswersFile.load(answers_file)
    return TerminalReviewer() if sys.stdin.isatty() else None


def _stage(message: Any) -> str:
    from agentco.company.stages import REVIEWABLE

    return REVIEWABLE.get(message.cause_by, str(message.cause_by).lower())


class TerminalReviewer:
    """Shows the document (rendered, diagrams as their Mermaid source) and asks: approve, edit (in
    ``$EDITOR``, as JSON, validated like the model's answer; an invalid edit comes back with its
    errors), feedback (the role revises), or abort (the run stops; ``agentco resume`` asks again)."""

    async def review(self, message: Any) -> Any:
        import typer
        from rich.markdown import Markdown

        from agentco.core.review import ReviewAborted, Verdict

        console = err_console()
        stage = _stage(message)
        console.rule(f"review: the {stage}, by {message.sent_from}")
        console.print(Markdown(message.content, code_theme="ansi_dark"))
        while True:
            choice = await asyncio.to_thread(
                typer.prompt, f"{stage}: approve / edit / feedback / abort", default="approve", err=True
            )
            choice = choice.strip().lower()
            if choice.startswith("ab"):
                raise ReviewAborted(f"stopped by the reviewer at the {stage}")
            if choice.startswith("ap"):
                return Verdict.approve()
            if choice.startswith("f"):
                feedback = await asyncio.to_thread(typer.prompt, "what should change", err=True)
                if feedback.strip():
                    return Verdict.reject(feedback.strip())
            elif choice.startswith("e") and (verdict := await self.edit(message)) is not None:
                return verdict

    async def edit(self, message: Any) -> Any:
        """The edited document's verdict; None when the editor was left empty (back to the question)."""
        import click

        console, text = err_console(), document_text(message)
        while True:
            text = await asyncio.to_thread(click.edit, text, extension=".json", require_save=False)
            if text is None or not text.strip():
                console.print("the edit was empty; nothing changed")
                return None
            try:
                return edited_verdict(message, text)
            except ValueError as exc:
                console.print("[red]the edited document is not valid:[/]")
                console.print(str(exc), markup=False)
                console.print("opening it again; save it empty to leave it as it was")


@dataclass
class AnswersFile:
    """Answers to a run's gates in order, one a line (``approve``, ``feedback: TEXT``, ``edit: FILE``
    with the whole document as JSON, ``abort``); blank lines and ``#`` comments are skipped. A resumed
    run goes on from the answer after those its gates already used."""

    path: Path
    answers: list[tuple[str, str]]
    position: int = field(default=0)

    @classmethod
    def load(cls, path: Path) -> AnswersFile:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the answers file {path}: {exc}", key="--review-answers") from None
        answers = []
        for number, line in enumerate(lines, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            found = ANSWER.fullmatch(line.strip())
            if found is None:
                raise ConfigError(f"{path}:{number}: {line.strip()[:60]!r} is not an answer ({ANSWERS_HELP})")
            kind = (found[1] or found[2]).lower()
            value = (found[3] or "").strip()
            if kind == "edit":
                edit = (path.parent / value).resolve()
                if not edit.is_file():
                    raise ConfigError(f"{path}:{number}: no file {edit} to take the edit from")
                value = str(edit)
            answers.append((kind, value))
        return cls(path, answers)

    def resume_at(self, gates_answered: int) -> None:
        self.position = gates_answered

    async def review(self, message: Any) -> Any:
        from agentco.core.review import ReviewAborted, Verdict

        stage = _stage(message)
        if self.position >= len(self.answers):
            raise ConfigError(f"{self.path} has no answer for review gate {self.position + 1} (the {stage})")
        kind, value = self.answers[self.position]
        self.position += 1
        err_console().print(f"review of the {stage}: {kind}{': ' + value if value else ''}", markup=False)
        if kind == "abort":
            raise ReviewAborted(f"stopped by the answers file at the {stage}")
        if kind == "feedback":
            return Verdict.reject(value)
        if kind == "edit":
            try:
                return edited_verdict(message, Path(value).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ConfigError(f"the edit {value} is not a valid {stage}: {exc}", key="--review-answers") from None
        return Verdict.approve()
