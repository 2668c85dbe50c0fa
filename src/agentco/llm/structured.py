"""Getting output that validates: ask with a schema, parse, validate, feed errors back, bounded."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from agentco.errors import ModelOutputError
from agentco.llm.base import ChatRequest, Completion
from agentco.llm.client import LLMClient
from agentco.llm.repetition import REPETITION
from agentco.templates import render

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class OutputInvalid(Exception):
    """The model's output failed a check; the message is shown to the model on retry."""


class OutputTruncated(OutputInvalid):
    """The reply stopped at the token limit and failed its check: the retry asks for a shorter answer."""


class OutputLooped(OutputInvalid):
    """The reply repeated one passage back to back and was stopped: the retry asks for each thing once."""


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
    normalise: Callable[[Any], Any] | None = None
    """A mechanical repair of the parsed data before it is validated."""
    json_schema: dict[str, Any] | None = field(init=False)

    def __post_init__(self) -> None:
        self.name = self.name or self.model.__name__
        self.json_schema = self.model.model_json_schema()

    def parse(self, text: str) -> M:
        try:
            if self.repair:
                import json_repair

                data = json_repair.loads(text)
            elif self.normalise is not None:
                data = json.loads(text)
            else:
                return self.model.model_validate_json(text)
            if self.normalise is not None:
                data = self.normalise(data)
            return self.model.model_validate(data)
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
    salvage: Any = None
    """Callable[[str], str | None]: what of a reply cut off at the token limit is still usable (then
    parsed and checked as a whole reply), or None; without it a cut-off text is always refused."""

    def parse(self, text: str) -> str:
        text = strip_fence(text)
        if not text.strip() and not self.allow_empty:
            raise OutputInvalid("the answer was empty")
        if self.check is not None and (problem := self.check(text)):
            raise OutputInvalid(problem)
        return text


def strip_fence(text: str) -> str:
    """The body of the first fenced block when the reply has one (models wrap files in ``` fences
    and often add a sentence after); otherwise the reply itself. Fences open and close on lines of
    their own, so code that holds three backticks (a Markdown tool's ``startswith("```")``) stays
    whole; a fence never closed (a reply cut off) gives everything after its opening line."""
    opening = _OPENING_FENCE.search(text)
    if opening is None:
        return text
    closing = re.compile(rf"^ {{0,3}}{opening[1]}`*[ \t]*$", re.M).search(text, opening.end())
    return text[opening.end() + 1 : closing.start() if closing else len(text)].rstrip() + "\n"


_OPENING_FENCE = re.compile(r"^ {0,3}(`{3,})[^`\n]*$", re.M)


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
    reask_repeats: bool = True,
) -> Generation[T]:
    """Call the model until its output passes ``spec.parse``, for at most ``attempts`` answers.

    The first call is sent as it always was, with no seed (so its replay-cache key is unchanged).
    Each retry shows what was wrong, runs warmer and has a seed of its own. A reply cut off at
    ``max_tokens`` that fails is asked for again, shorter, instead of being shown the errors of a
    truncated document. A retry that repeats an earlier answer word for word is not an attempt: it
    is asked once more, with another seed and a note that it repeated itself, and what that one
    extra call returns counts; so an attempt costs at most two calls, however stuck the model is.
    With ``reask_repeats`` off (a caller that has its own next step for a stuck model), a repeat
    ends the attempts at once, failing with the reason the earlier answer was refused.
    """
    seeds = itertools.count()  # 0 (no seed) for the first call, then 1, 2, ... for every later call

    async def ask(conversation: list[dict[str, str]], warmth: float) -> Completion:
        request = ChatRequest(
            conversation,
            temperature=warmth,
            max_tokens=max_tokens,
            json_schema=spec.json_schema,
            schema_name=spec.name,
            seed=next(seeds) or None,
        )
        return await client.complete(request, who=who, what=spec.name)

    conversation, problem = list(messages), OutputInvalid("")
    refused: dict[str, OutputInvalid] = {}  # each answer given so far, and why it was refused
    for attempt in range(1, attempts + 1):
        warmth = min(1.0, temperature + 0.3 * (attempt - 1))
        completion = await ask(conversation, warmth)
        if (earlier := refused.get(completion.text.strip())) is not None:
            if not reask_repeats:
                raise ModelOutputError(spec.name, attempt, str(earlier))
            completion = await ask(_with_feedback(messages, completion, spec, earlier, max_tokens, True), warmth)
        try:
            return Generation(_parse(spec, completion, max_tokens), completion, attempt)
        except OutputInvalid as exc:
            problem = refused[completion.text.strip()] = exc
        conversation = _with_feedback(messages, completion, spec, problem, max_tokens, False)
    raise ModelOutputError(spec.name, attempts, str(problem))


def _parse(spec: OutputSpec[T], completion: Completion, max_tokens: int) -> T:
    """``spec.parse`` of the reply; one cut off at the token limit is ``OutputTruncated`` instead of
    its parse errors (a text always is; a JSON reply is kept when it still validates once repaired),
    and one stopped in a loop (see ``agentco.llm.repetition``) is ``OutputLooped``."""
    if completion.finish_reason == REPETITION:
        raise OutputLooped("the answer repeated one passage over and over, and was stopped")
    cut = completion.finish_reason == "length"
    try:
        if cut and spec.json_schema is None:
            rescued = spec.salvage(completion.text) if getattr(spec, "salvage", None) else None
            if rescued is None:
                raise OutputInvalid("cut off")
            return spec.parse(rescued)
        return spec.parse(completion.text)
    except OutputInvalid:
        if cut:
            raise OutputTruncated(f"the answer was cut off at {max_tokens} tokens") from None
        raise


def _with_feedback(
    messages: list[dict[str, str]],
    completion: Completion,
    spec: OutputSpec[Any],
    problem: OutputInvalid,
    max_tokens: int,
    repeated: bool,
) -> list[dict[str, str]]:
    """The original messages, the refused answer, and what to change."""
    feedback = render(
        "core/fix_output.j2",
        error=str(problem),
        name=spec.name,
        structured=spec.json_schema is not None,
        truncated=isinstance(problem, OutputTruncated),
        looped=isinstance(problem, OutputLooped),
        max_tokens=max_tokens,
        repeated=repeated,
    )
    return [
        *messages,
        {"role": "assistant", "content": completion.text[-4000:]},
        {"role": "user", "content": feedback},
    ]
