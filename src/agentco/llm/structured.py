"""Getting output that validates: ask with a schema, parse, validate, feed errors back, bounded."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from agentco.errors import ModelOutputError
from agentco.llm.base import ChatRequest, Completion
from agentco.llm.client import LLMClient
from agentco.templates import render

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class OutputInvalid(Exception):
    """The model's output failed a check; the message is shown to the model on retry."""


class OutputSpec(Protocol[T]):
    name: str
    json_schema: dict[str, Any] | None

    def parse(self, text: str) -> T: ...


@dataclass
class JsonOutput(Generic[M]):
    """A structured result validated by a pydantic model."""

    model: type[M]
    repair: bool = True
    name: str = ""
    json_schema: dict[str, Any] | None = field(init=False)

    def __post_init__(self) -> None:
        self.name = self.name or self.model.__name__
        self.json_schema = self.model.model_json_schema()

    def parse(self, text: str) -> M:
        try:
            if self.repair:
                import json_repair

                data = json_repair.loads(text)
                return self.model.model_validate(data)
            return self.model.model_validate_json(text)
        except ValidationError as exc:
            raise OutputInvalid(_describe(exc)) from None
        except json.JSONDecodeError as exc:
            raise OutputInvalid(f"not valid JSON: {exc}") from None


@dataclass
class TextOutput:
    """Plain text (a Markdown document, a code file) with an optional light check."""

    name: str = "text"
    check: Any = None  # Callable[[str], str | None]: returns an error message or None
    allow_empty: bool = False
    json_schema: dict[str, Any] | None = None

    def parse(self, text: str) -> str:
        text = strip_fence(text)
        if not text.strip() and not self.allow_empty:
            raise OutputInvalid("the answer was empty")
        if self.check is not None and (problem := self.check(text)):
            raise OutputInvalid(problem)
        return text


def strip_fence(text: str) -> str:
    """The body of the first fenced block when the reply has one (models wrap files in ``` fences
    and often add a sentence after); otherwise the reply itself."""
    start = text.find("```")
    if start == -1:
        return text
    body_start = text.find("\n", start)
    end = text.find("```", body_start + 1) if body_start != -1 else -1
    if end == -1:
        return text
    return text[body_start + 1 : end].rstrip() + "\n"


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors()[:8]:
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"- {where}: {err['msg']}")
    return "the JSON did not match the schema:\n" + "\n".join(lines)


@dataclass
class Generation(Generic[T]):
    value: T
    completion: Completion
    attempts: int


async def generate(
    client: LLMClient,
    messages: list[dict[str, str]],
    spec: OutputSpec[T],
    *,
    attempts: int = 3,
    temperature: float = 0.2,
    max_tokens: int = 2048,
    who: str = "",
) -> Generation[T]:
    """Call the model until its output passes ``spec.parse``; each retry shows the error and warms up."""
    conversation = list(messages)
    last_error = ""
    for attempt in range(1, attempts + 1):
        request = ChatRequest(
            conversation,
            temperature=min(1.0, temperature + 0.3 * (attempt - 1)),
            max_tokens=max_tokens,
            json_schema=spec.json_schema,
            schema_name=spec.name,
        )
        completion = await client.complete(request, who=who, what=spec.name)
        try:
            if completion.finish_reason == "length" and spec.json_schema is None:
                raise OutputInvalid(f"the answer was cut off at {max_tokens} tokens; write it more concisely")
            return Generation(spec.parse(completion.text), completion, attempt)
        except OutputInvalid as exc:
            last_error = str(exc)
        feedback = render(
            "core/fix_output.j2", error=last_error, name=spec.name, structured=spec.json_schema is not None
        )
        conversation = [
            *messages,
            {"role": "assistant", "content": completion.text[-4000:]},
            {"role": "user", "content": feedback},
        ]
    raise ModelOutputError(spec.name, attempts, last_error)
