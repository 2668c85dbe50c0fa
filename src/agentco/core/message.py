"""The unit of communication between roles."""

from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

EVERYONE = frozenset({"<all>"})
USER_REQUIREMENT = "UserRequirement"


@dataclass
class Message:
    content: str
    sent_from: str = "user"
    cause_by: str = USER_REQUIREMENT
    send_to: frozenset[str] = EVERYONE
    payload: Any = None
    """An optional validated structured result (a pydantic model instance)."""
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    created_at: float = field(default_factory=time.time)

    def with_content(self, content: str, payload: Any) -> Message:
        """The same message from the same sender and stage, with other content (a reviewer's edit)."""
        return dataclasses.replace(
            self, content=content, payload=payload, id=uuid.uuid4().hex[:12], created_at=time.time()
        )

    @property
    def broadcast(self) -> bool:
        return self.send_to == EVERYONE

    def to_record(self) -> dict[str, Any]:
        payload = self.payload
        if hasattr(payload, "model_dump"):
            payload = payload.model_dump(mode="json")
        elif dataclasses.is_dataclass(payload) and not isinstance(payload, type):
            payload = dataclasses.asdict(payload)
        return {
            "id": self.id,
            "sent_from": self.sent_from,
            "cause_by": self.cause_by,
            "send_to": sorted(self.send_to),
            "content": self.content,
            "payload": payload,
            "created_at": self.created_at,
        }
