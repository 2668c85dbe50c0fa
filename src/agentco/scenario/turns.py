"""One speaker's turn: the prompt it is given (persona, inputs, what it may see, passages, the
stage's instruction) and its answer, plain text or the validated fields its role declares."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from agentco.core.message import Message
from agentco.llm.client import LLMClient
from agentco.llm.structured import JsonOutput, TextOutput, generate
from agentco.scenario.knowledge import Passage
from agentco.scenario.schema import OutputField, RoleSpec, Scenario
from agentco.templates import render

TYPES: dict[str, type] = {"str": str, "int": int, "float": float, "bool": bool}


@dataclass(frozen=True)
class Sampling:
    """How a role's calls are made when its role does not say: the run's settings."""

    temperature: float = 0.2
    max_tokens: int = 512
    attempts: int = 3


def output_model(role_name: str, fields: dict[str, OutputField]) -> type[BaseModel]:
    """The pydantic model of a role's structured answer (named after the role: the schema name)."""
    definitions: dict[str, Any] = {}
    for name, spec in fields.items():
        kind: Any = Literal[tuple(spec.values)] if spec.values else TYPES[spec.type]
        definitions[name] = (kind, Field(description=spec.description or name))
    return create_model(role_name.replace("-", "_"), **definitions)


def prompt(
    scenario: Scenario, role_name: str, stage: str, instruction: str, visible: list[Message],
    inputs: dict[str, str], passages: list[Passage], round_no: tuple[int, int],
) -> list[dict[str, str]]:  # fmt: skip
    """The chat a role is sent: its persona and the inputs, then the conversation it may see, its
    own earlier answers as its replies and the others' as lines given to it, then what to do now."""
    role = scenario.roles[role_name]
    others = [name for name in scenario.roles if name != role_name]
    system = render("scenario/system.j2", scenario=scenario, role=role, role_name=role_name, others=others,
                    inputs=inputs)  # fmt: skip
    chat = [{"role": "system", "content": system}]
    for own, group in itertools.groupby(visible, key=lambda m: m.sent_from == role_name):
        said = list(group)
        if own:
            if len(chat) == 1:  # a chat opens with a user's message (some providers insist)
                chat.append({"role": "user", "content": render("scenario/others.j2", lines=[])})
            chat += [{"role": "assistant", "content": m.content} for m in said]
        else:
            lines = [{"stage": m.cause_by, "speaker": m.sent_from, "content": m.content} for m in said]
            chat.append({"role": "user", "content": render("scenario/others.j2", lines=lines)})
    now = render(
        "scenario/turn.j2", spoken=bool(visible), passages=passages, stage=stage, round=round_no[0],
        rounds=round_no[1], instruction=instruction, fields=role.output or {}, role_name=role_name,
        persona=" ".join(role.persona.split()),
    )  # fmt: skip
    if chat[-1]["role"] == "user":
        chat[-1] = {"role": "user", "content": f"{chat[-1]['content']}\n\n{now}"}
    else:
        chat.append({"role": "user", "content": now})
    return chat


async def answer(
    llm: LLMClient, role_name: str, role: RoleSpec, messages: list[dict[str, str]], sampling: Sampling
) -> tuple[str, dict[str, Any] | None]:
    """The role's answer as the text of its message and, for a structured role, its fields."""
    spec: Any = TextOutput(name=role_name)
    if role.output:
        spec = JsonOutput(output_model(role_name, role.output), name=role_name)
    result = await generate(
        llm,
        messages,
        spec,
        attempts=sampling.attempts,
        temperature=role.temperature if role.temperature is not None else sampling.temperature,
        max_tokens=role.max_tokens or sampling.max_tokens,
        who=role_name,
    )
    if not role.output:
        return result.value.strip(), None
    fields = result.value.model_dump(mode="json")
    return "\n".join(f"{name}: {value}" for name, value in fields.items()), fields
