"""What a scenario file says: inputs, roles, stages and limits, validated by pydantic.

The shapes are checked here, field by field; how the parts refer to each other (a speaker that is
a role, a route to a stage that exists, a loop with a bound) is checked in ``checks.py``, so that
every problem can be reported with the file, the line and the key it is about.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

END = "END"
"""A route's target that ends the conversation."""
FieldType = Literal["str", "int", "float", "bool"]
NAME = r"^[a-z][a-z0-9_-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputSpec(_Strict):
    description: str = ""
    default: str | None = None
    """None: the input must be given (``--input key=value``)."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"description": value} if isinstance(value, str) else value


class OutputField(_Strict):
    """One field of a role's structured answer: a type, or a choice among ``values``."""

    type: FieldType = "str"
    values: list[str] | None = Field(None, min_length=2, description="the allowed values (a choice)")
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """``answer: str`` is a type; ``verdict: [agree, disagree]`` is a choice."""
        if isinstance(value, str):
            return {"type": value}
        if isinstance(value, list):
            return {"values": value}
        return value


class RoleSpec(_Strict):
    persona: str = Field(min_length=1, description="who the role is, in the second person")
    goal: str = ""
    model: str | None = Field(None, description="a model alias (default, small, strong, coder) or provider:model")
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, gt=0)
    knowledge: list[str] = Field(default_factory=list, description="knowledge bases it answers from")
    human: bool = False
    output: dict[str, OutputField] | None = Field(None, description="fields of a structured answer")

    @field_validator("output")
    @classmethod
    def _some_fields(cls, output: dict[str, OutputField] | None) -> dict[str, OutputField] | None:
        if output is not None and not output:
            raise ValueError("give at least one field, or leave output out for a plain answer")
        return output


class Condition(_Strict):
    """A test of a stage's last round: a field's value (the majority's, when the stage aggregates,
    else its last speaker's), whether every speaker gave the same value of a field, or a text one of
    its answers contains."""

    field: str | None = None
    equals: str | int | float | bool | None = None
    agree: bool = Field(False, description="every speaker of the round gave the same value of `field`")
    contains: str | None = Field(None, description="an answer of the round contains this text (any case)")

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        if self.contains is None and self.field is None:
            raise ValueError("say what to test: `field` (with `equals` or `agree: true`) or `contains`")
        if self.field is not None and self.equals is None and not self.agree:
            raise ValueError(f"say what `{self.field}` must be: `equals: VALUE` or `agree: true`")
        return self


class Route(_Strict):
    to: str = Field(description=f"a stage's name, or {END}")
    when: Condition | None = None
    """None: always taken (the default route, last in the list)."""


class Aggregate(_Strict):
    majority: str = Field(description="the output field whose most common value is the stage's answer")


class StageSpec(_Strict):
    name: str = Field(pattern=NAME)
    speakers: list[str] = Field(min_length=1)
    mode: Literal["round_robin", "parallel"] = "round_robin"
    rounds: int = Field(1, ge=1, le=20)
    instruction: str = Field("", description="what the speakers do here (a Jinja template of the inputs)")
    until: Condition | None = None
    routes: list[Route] = Field(default_factory=list)
    max_visits: int = Field(1, ge=1, le=20, description="how often the conversation may enter this stage")
    sees: Literal["all", "own", "none"] | list[str] = Field(
        "all", description="earlier messages shown: all, own (this stage's), none, or the named stages'"
    )
    private: bool = Field(False, description="only this stage's speakers see what is said here")
    aggregate: Aggregate | None = None


class Limits(_Strict):
    messages: int = Field(40, ge=1, description="answers in the whole conversation")
    tokens: int | None = Field(None, ge=1, description="prompt + completion tokens of the run")
    budget: float | None = Field(None, ge=0, description="US dollars of the run")


class Scenario(_Strict):
    name: str = Field(pattern=NAME)
    description: str = ""
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    roles: dict[str, RoleSpec] = Field(min_length=1)
    stages: list[StageSpec] = Field(min_length=1)
    limits: Limits = Field(default_factory=Limits)

    def stage(self, name: str) -> StageSpec:
        return next(s for s in self.stages if s.name == name)

    def humans(self) -> list[str]:
        return [name for name, role in self.roles.items() if role.human]

    def knowledge(self) -> list[str]:
        return sorted({kb for role in self.roles.values() for kb in role.knowledge})
