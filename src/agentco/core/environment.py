"""A publish/subscribe message bus that keeps the full history."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from agentco.core.message import Message

if TYPE_CHECKING:
    from agentco.core.role import Role


class Environment:
    def __init__(self, on_publish: Callable[[Message], None] | None = None):
        self.history: list[Message] = []
        self.roles: dict[str, Role] = {}
        self._on_publish = on_publish

    def add_roles(self, *roles: Role) -> None:
        for role in roles:
            if role.name in self.roles:
                raise ValueError(f"a role named {role.name!r} is already hired")
            self.roles[role.name] = role

    def publish(self, message: Message) -> None:
        """Record the message and deliver it to every role it is addressed to or that watches its cause."""
        self.history.append(message)
        if self._on_publish is not None:
            self._on_publish(message)
        for role in self.roles.values():
            if role.wants(message):
                role.inbox.append(message)

    def is_idle(self) -> bool:
        return all(not role.inbox for role in self.roles.values())
