"""The bodies the HTTP API accepts and answers, validated at the boundary."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class NewRun(BaseModel):
    """A run of the software company. The workspace is the server's; a client cannot choose another."""

    model_config = ConfigDict(extra="forbid")

    idea: str = Field(min_length=1, max_length=4000, description="what to build, in the user's words")
    model: str | None = Field(None, max_length=200, description="provider:model (default: the server's)")
    investment: float | None = Field(None, ge=0, description="budget in US dollars for this run")
    review: list[Literal["prd", "design", "tasks"]] = Field(
        default_factory=list, description="documents a reviewer answers for on the page or through the API"
    )
    project_name: str | None = Field(None, max_length=80, description="the project folder's name")


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=200)


class GateAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "edit", "feedback", "abort"]
    document: str = Field("", max_length=200_000, description="with edit: the whole document (JSON for a typed one)")
    feedback: str = Field("", max_length=4000, description="with feedback: what the role must change")


class RunView(BaseModel):
    id: str
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
