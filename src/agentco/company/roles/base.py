"""What every role of the software company shares: the workshop, its prompts, and saving a stage."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel

from agentco.company.repairs import Normaliser, bounded
from agentco.company.workshop import Workshop
from agentco.core.action import Action
from agentco.core.message import Message
from agentco.core.review import FEEDBACK
from agentco.core.role import Role
from agentco.errors import ModelOutputError
from agentco.templates import render

D = TypeVar("D", bound=BaseModel)

DOCUMENTS = (
    *(f"docs/{name}.{ext}" for name in ("prd", "design", "tasks") for ext in ("md", "json")),
    *(f"docs/diagrams/{name}.mmd" for name in ("competitive_quadrant", "class_diagram", "sequence_diagram")),
)
"""What the three document stages write into every project."""


class Stage(Action):
    """One stage of the company: an action whose work is code (it asks the model, writes and commits
    files) and whose messages are caused by ``stage``, a name from ``agentco.company.stages``."""

    stage: ClassVar[str]

    def __init__(self) -> None:
        super().__init__(self.stage, template="", system_template=None)

    async def run(self, role: Role, news: list[Message], **variables: Any) -> Message:
        raise NotImplementedError


class DocumentStage(Stage):
    """A stage whose work is a document (the PRD, the design, the tasks), which a reviewer may edit."""

    def keep(self, role: Any, document: Any, commit: str, author: str | None = None) -> Message:
        """Make ``document`` the run's own: written, committed, announced; the message to publish."""
        raise NotImplementedError


class CompanyRole(Role):
    """A member of the company: its stages are its actions; what it watches is the pipeline's to say."""

    role_name: ClassVar[str]
    role_profile: ClassVar[str]
    stages: ClassVar[tuple[type[Stage], ...]]

    def __init__(self, workshop: Workshop, *, watch: Iterable[str], **kwargs: Any):
        actions = [stage() for stage in self.stages]
        super().__init__(self.role_name, self.role_profile, actions=actions, watch=watch, **kwargs)
        self.workshop = workshop
        self.feedback: list[Message] = []
        """A reviewer's feedback on this role's last document, with the document (this step's news)."""

    def observe(self) -> list[Message]:
        news = super().observe()
        self.feedback = [m for m in news if m.cause_by == FEEDBACK]
        return news

    def prompt(self, template: str, **variables: Any) -> list[dict[str, str]]:
        """Stable parts first (system prompt, then the requirement) so a local model reuses its KV cache."""
        ws = self.workshop
        return [
            {"role": "system", "content": render("company/system.j2", role=self)},
            {
                "role": "user",
                "content": render(template, requirement=ws.requirement, design=ws.design, tasks=ws.tasks, **variables)
                + self.revision(),
            },
        ]

    def revision(self) -> str:
        """What a reviewer said of this role's last document, and that document, when it asked for changes."""
        if not self.feedback:
            return ""
        last = self.feedback[-1]
        previous = last.payload.model_dump_json(indent=1) if isinstance(last.payload, BaseModel) else ""
        return "\n\n" + render("company/revision.j2", feedback=last.content, previous=previous)

    def lang_prompt(self, name: str, **variables: Any) -> list[dict[str, str]]:
        """The prompt ``name`` of the project's language (its toolchain's template)."""
        return self.prompt(self.workshop.toolchain.prompt(name), **variables)

    async def document(
        self,
        messages: list[dict[str, str]],
        schema: type[D],
        fallback: Callable[[], D],
        *,
        max_tokens: int,
        what: str,
        repair: Callable[[list[str]], Normaliser] | None = None,
    ) -> D:
        """A document from the model, its mechanical defects repaired (``repair`` makes the normaliser;
        default: fit to the schema's bounds), each repair a note. When its answers still do not
        validate, ``fallback()`` (a minimal document from the requirement), with a note: the run goes on."""
        make = repair or (lambda into: bounded(schema, into))
        try:
            result, notes = await self.ask_mended(messages, schema, make, max_tokens=max_tokens, what=what)
        except ModelOutputError as exc:
            self.workshop.note(f"{what}: derived from the requirement, the model's did not validate: "
                               f"{' '.join(str(exc).split())[:300]}")  # fmt: skip
            return fallback()
        for note in notes:
            self.workshop.note(f"{what}: {note}")
        return result

    async def ask_mended(
        self, messages: list[dict[str, str]], schema: type[D], make: Callable[[list[str]], Normaliser], **ask: Any
    ) -> tuple[D, list[str]]:
        """The model's answer, its parsed data first mended by ``make(notes)``; with the notes of the
        repairs made to the answer that was kept (not those of refused attempts)."""
        notes: list[str] = []

        def normalise(data: Any) -> Any:
            notes.clear()
            return make(notes)(data)

        return await self.ask(messages, schema, normalise=normalise, **ask), notes

    def save_stage(
        self, name: str, document: str, data: Any, files: dict[str, str], commit: str, stage: str,
        author: str | None = None,
    ) -> Message:  # fmt: skip
        """Write a stage's document with its JSON and extra files, commit it as this role (or
        ``author``: a reviewer's edit), mark the stage."""
        folder = self.workshop.folder
        folder.write(f"docs/{name}.md", document + "\n")
        folder.write_json(f"docs/{name}.json", data.model_dump(mode="json"))
        for path, text in files.items():
            folder.write(path, text)
        folder.commit(commit, author or self.name)
        self.workshop.stage(name)
        return Message(document, sent_from=self.name, cause_by=stage, payload=data)
