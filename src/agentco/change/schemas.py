"""What the team writes for a change to an existing project, validated: the PRD delta, the files the
change adds or modifies, and one task per file."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator


class ChangePrd(BaseModel):
    """The change as a PRD delta: what is new or different, and what must keep working."""

    model_config = ConfigDict(extra="ignore")

    summary: str = Field(min_length=3, max_length=400, description="the change in one or two sentences")
    changes: list[str] = Field(min_length=1, max_length=10, description="each new or changed behaviour, one sentence")
    keep: list[str] = Field(default_factory=list, max_length=6, description="behaviour that must stay as it is")


class FileChange(BaseModel):
    model_config = ConfigDict(extra="ignore")

    path: str = Field(min_length=1, max_length=120, description="relative to the project root")
    action: Literal["add", "modify"]
    why: str = Field(min_length=3, max_length=400, description="what changes in this file, and why")


class ChangeDesign(BaseModel):
    """The files the change adds or modifies: no other file is touched."""

    model_config = ConfigDict(extra="ignore")

    files: list[FileChange] = Field(min_length=1, max_length=6)


class ChangeTask(BaseModel):
    model_config = ConfigDict(extra="ignore")

    file: str
    description: str = Field(min_length=3, max_length=800, description="exactly what to add or change in the file")


class ChangeTasks(BaseModel):
    model_config = ConfigDict(extra="ignore")

    tasks: list[ChangeTask] = Field(min_length=1, max_length=6)


def design_for(sources: Collection[str], path_problem: Callable[[str], str | None]) -> type[ChangeDesign]:
    """The design schema for one project: a modified file exists among its sources, an added one
    does not and is a valid source path, no file twice, no test file (QA writes those)."""

    def check(files: list[FileChange]) -> list[FileChange]:
        problems = []
        for f in files:
            if f.action == "modify" and f.path not in sources:
                problems.append(
                    f"{f.path!r} is not a source file of the project (its files: {', '.join(sorted(sources))})"
                )
            elif f.action == "add" and (why := path_problem(f.path)):
                problems.append(f"{f.path!r}: {why}")
        if len({f.path for f in files}) != len(files):
            problems.append("a file is listed twice")
        if problems:
            raise ValueError("; ".join(problems))
        return files

    validator = field_validator("files")(classmethod(lambda cls, files: check(files)))
    return create_model("ChangeDesign", __base__=ChangeDesign, __validators__={"_project_files": validator})


def tidy_design(data: Any, sources: Collection[str], is_test: Callable[[str], bool], notes: list[str]) -> Any:
    """Mechanical repairs with one right answer: ``./`` dropped from a path, ``add`` of a file that
    exists is ``modify`` and ``modify`` of one that does not is ``add``, test files left to QA."""
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        return data
    kept = []
    for item in data["files"]:
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            kept.append(item)
            continue
        path = item["path"].strip().removeprefix("./")
        item["path"] = path
        if is_test(path):
            notes.append(f"the design listed the test file {path}; QA writes the change's tests")
            continue
        action = "modify" if path in sources else "add"
        if item.get("action") != action:
            notes.append(f"{path}: {action} (the design said {item.get('action')!r})")
            item["action"] = action
        kept.append(item)
    return {**data, "files": kept}


def tasks_for(files: list[str]) -> type[ChangeTasks]:
    """One task for each of the design's files, and only those."""
    task = create_model("ChangeTask", __base__=ChangeTask, file=(Literal[tuple(files)], ...))  # type: ignore[valid-type]

    def one_each(tasks: list[Any]) -> list[Any]:
        if len({t.file for t in tasks}) != len(tasks):
            raise ValueError("one task per file")
        return tasks

    validator = field_validator("tasks")(classmethod(lambda cls, tasks: one_each(tasks)))
    return create_model(
        "ChangeTasks", __base__=ChangeTasks, tasks=(list[task], Field(min_length=1, max_length=len(files))),  # type: ignore[valid-type]
        __validators__={"_one_each": validator},
    )  # fmt: skip
