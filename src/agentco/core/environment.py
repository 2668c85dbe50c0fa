"""A publish/subscribe message bus that keeps the full history."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentco.core.message import Message
from agentco.events import MESSAGE

if TYPE_CHECKING:
    from agentco.core.role import Role
    from agentco.events import EventBus


class Environment:
    def __init__(self, events: EventBus | None = None):
        self.history: list[Message] = []
        self.roles: dict[str, Role] = {}
        self.events = events

    def add_roles(self, *roles: Role) -> None:
        for role in roles:
            if role.name in self.roles:
                raise ValueError(f"a role named {role.name!r} is already hired")
            self.roles[role.name] = role

    def publish(self, message: Message) -> None:
        """Record the message and deliver it to every role it is addressed to or that watches its cause."""
        self.history.append(message)
        if self.events is not None:
            self.events.emit(MESSAGE, **message.to_record())
        for role in self.roles.values():
            if role.wants(message):
                role.inbox.append(message)

    def is_idle(self) -> bool:
        return all(not role.inbox for role in self.roles.values())
