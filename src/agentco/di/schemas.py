"""What the model writes for the interpreter, validated: the plan. Code comes back as a fenced
Python block, checked by ``code_problem``."""

from __future__ import annotations

import ast
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

TaskType = Literal["load", "clean", "analyse", "plot", "model", "answer"]
WHOLE_REQUEST = "Do what the request asks, and print the results"
"""The one task of the plan a model could not write (the request itself is in every prompt)."""
PLAN_MESSAGE = "Plan"
"""What the plan's message to the review gate is caused by."""
REVIEWABLE = {PLAN_MESSAGE: "plan"}


class PlanTask(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(description="short id, e.g. '1'")
    instruction: str = Field(min_length=3, max_length=300, description="what this step's code does, in one sentence")
    type: TaskType = Field("analyse", description="load, clean, analyse, plot, model or answer")
    depends_on: list[str] = Field(default_factory=list, description="ids of earlier tasks it needs")

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value


class Plan(BaseModel):
    model_config = ConfigDict(extra="ignore")

    tasks: list[PlanTask] = Field(min_length=1, max_length=20, description="the steps, in the order they run")


def tidy_plan(data: object, max_tasks: int) -> object:
    """Mechanical repairs with one right answer, before validation: a bare list of tasks is the
    plan; ids are made unique and numbered when missing; dependencies on unknown or later tasks
    are dropped; tasks past ``max_tasks`` are cut (the last kept one answers)."""
    if isinstance(data, list):
        data = {"tasks": data}
    if not isinstance(data, dict) or not isinstance(data.get("tasks"), list):
        return data
    tasks = [t for t in data["tasks"] if isinstance(t, dict)][:max_tasks]
    seen: list[str] = []
    for number, task in enumerate(tasks, 1):
        task_id = str(task.get("id") or number)
        if task_id in seen:
            task_id = str(number)
        deps = task.get("depends_on") or []
        task["depends_on"] = [str(d) for d in deps if str(d) in seen] if isinstance(deps, list) else []
        task["id"] = task_id
        kind = str(task.get("type", "analyse")).lower()
        task["type"] = {"analyze": "analyse", "visualize": "plot", "visualise": "plot", "chart": "plot"}.get(kind, kind)
        if task["type"] not in TaskType.__args__:  # type: ignore[attr-defined]
            task["type"] = "analyse"
        seen.append(task_id)
    return {**data, "tasks": tasks}


def tidy_code(code: str) -> tuple[str, int]:
    """The cell without notebook magics and shell escapes (``%matplotlib inline``, ``!pip install``):
    the kernel has no network and plots inline already. Returns the code and how many lines went."""
    kept, removed = [], 0
    for line in code.splitlines():
        if line.lstrip().startswith(("%", "!")):
            removed += 1
            continue
        kept.append(line)
    return "\n".join(kept).strip("\n") + "\n", removed


def code_problem(code: str, tried: set[str]) -> str | None:
    """Why the code of a cell cannot be run as it is, or None."""
    try:
        ast.parse(code)
    except SyntaxError as exc:
        return f"the code does not parse: {exc.msg} (line {exc.lineno}); send the whole corrected cell"
    if normalise(code) in tried:
        return "this is exactly the code that already failed; change it so that the error cannot happen again"
    return None


def normalise(code: str) -> str:
    return "\n".join(line.rstrip() for line in code.strip().splitlines() if line.strip())
