"""An action: a prompt template plus, where the result is structured, a pydantic output model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from agentco.core.message import Message
from agentco.templates import render

if TYPE_CHECKING:
    from agentco.core.role import Role


@dataclass
class Action:
    name: str
    template: str
    """Path of the prompt template under ``agentco/prompts`` (or ``template_root``)."""
    output: type[BaseModel] | None = None
    system_template: str | None = "core/system.j2"
    max_tokens: int | None = None
    template_root: Any = None

    def prompt(self, role: Role, **variables: Any) -> list[dict[str, str]]:
        messages = []
        if self.system_template:
            messages.append({"role": "system", "content": render(self.system_template, self.template_root, role=role)})
        messages.append({"role": "user", "content": render(self.template, self.template_root, role=role, **variables)})
        return messages

    async def run(self, role: Role, news: list[Message], **variables: Any) -> Message:
        """Render the prompt from what the role has seen, ask the model, wrap the result in a message."""
        variables.setdefault("news", news)
        variables.setdefault("history", role.memory)
        result = await role.ask(self.prompt(role, **variables), self.output, max_tokens=self.max_tokens, what=self.name)
        if isinstance(result, BaseModel):
            return Message(result.model_dump_json(indent=2), sent_from=role.name, cause_by=self.name, payload=result)
        return Message(result, sent_from=role.name, cause_by=self.name)
