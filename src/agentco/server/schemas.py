"""The bodies the HTTP API accepts and answers, validated at the boundary."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_DATA_BYTES = 50 * 1024 * 1024
"""All the data files of one Data Interpreter request together, decoded."""


class DataFile(BaseModel):
    """A data file sent with a Data Interpreter request: the server stores it, the kernel reads a copy."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_. -]*$",
                      description="a plain file name (no folders); the analysis sees it as data/NAME")  # fmt: skip
    content_base64: str = Field(description="the file's bytes, base64-encoded")

    def content(self) -> bytes:
        try:
            return base64.b64decode(self.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"{self.name}: content_base64 is not base64") from None


class NewRun(BaseModel):
    """A run of the software company (``kind: company``), of the Data Interpreter (``kind: di``, a
    question about the data files sent with it) or a conversation (``kind: scenario``, a built-in
    scenario by name). The workspace is the server's; a client cannot choose another, nor name a
    file of the server's."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["company", "di", "scenario"] = Field(
        "company", description="company: build a project; di: analyse data; scenario: hold a conversation"
    )
    idea: str = Field(
        "", max_length=4000, description="what to build, or what to find out, in the user's words (scenario: a title)"
    )
    model: str | None = Field(None, max_length=200, description="provider:model (default: the server's)")
    investment: float | None = Field(None, ge=0, description="budget in US dollars for this run")
    review: list[Literal["prd", "design", "tasks", "plan"]] = Field(
        default_factory=list,
        description="gates a reviewer answers on the page or through the API: prd, design, tasks (company) or plan (di)",
    )
    project_name: str | None = Field(None, max_length=80, description="the project folder's name")
    data: list[DataFile] = Field(default_factory=list, max_length=20, description="di: the data files")
    max_steps: int | None = Field(None, ge=1, le=20, description="di: tasks in the plan")
    scenario: str | None = Field(None, pattern=r"^[a-z][a-z0-9_-]*$", description="scenario: a built-in's name")
    inputs: dict[str, Annotated[str, Field(max_length=8000)]] = Field(
        default_factory=dict, max_length=20, description="scenario: its inputs (GET /api/scenarios lists them)"
    )
    role_models: dict[str, Annotated[str, Field(max_length=200)]] = Field(
        default_factory=dict, max_length=20, description="scenario: a model or alias per role"
    )
    humans: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=10, description="scenario: roles a person plays (answered at /turn)"
    )
    continue_from: str | None = Field(
        None, pattern=r"^\d{8}-\d{6}-[0-9a-f]{4}$", description="scenario: an earlier conversation to go on with"
    )

    @model_validator(mode="after")
    def _fits_its_kind(self) -> NewRun:
        gates = {"company": {"prd", "design", "tasks"}, "di": {"plan"}, "scenario": set()}[self.kind]
        if wrong := [stage for stage in self.review if stage not in gates]:
            raise ValueError(
                f"a {self.kind} run has no {wrong[0]!r} gate (it has: {', '.join(sorted(gates)) or 'none'})"
            )
        if self.kind != "di" and (self.data or self.max_steps is not None):
            raise ValueError("data and max_steps belong to a di run (kind: di)")
        given = self.scenario or self.inputs or self.role_models or self.humans or self.continue_from
        if self.kind != "scenario" and given:
            raise ValueError("scenario, inputs, role_models, humans and continue_from belong to a scenario run")
        if self.kind == "scenario" and not self.scenario:
            raise ValueError("a scenario run names its scenario (GET /api/scenarios lists them)")
        if self.kind != "scenario" and not self.idea.strip():
            raise ValueError("say what the run is for: idea is empty")
        if len({f.name for f in self.data}) != len(self.data):
            raise ValueError("two data files have the same name")
        return self


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=200)


class GateAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "edit", "feedback", "abort"]
    document: str = Field("", max_length=200_000, description="with edit: the whole document (JSON for a typed one)")
    feedback: str = Field("", max_length=4000, description="with feedback: what the role must change")


class TurnAnswer(BaseModel):
    """What the person in a scenario's human role says; ``leave`` ends the conversation for now
    (the run stops where it is and resumes at the same turn)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field("", max_length=8000)
    leave: bool = False

    @model_validator(mode="after")
    def _says_something(self) -> TurnAnswer:
        if not self.leave and not self.text.strip():
            raise ValueError("say something, or leave")
        return self


class RunView(BaseModel):
    id: str
    kind: str = "company"
    """company, di, change or scenario."""
    status: str
    """``queued`` or ``running`` while this server works on it; else as the store has it."""
    stage: str
    idea: str
    created_at: str
    updated_at: str
    model: str | None
    llm_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    budget_usd: float | None
    wall_s: float
    project: str
    error: str | None
    waiting_for_review: bool = False
    waiting_for_person: str | None = None
    """A scenario's human role whose turn the run waits for."""
