"""What a batch is asked to do: an ideas file read into one typed run request per run.

The file is untrusted input: a plain line is an idea, a line that starts with ``{`` is a JSON object
(``BatchItem``), and anything else is an error naming the line. Each run gets a project name that
the same file always gives it again, which is how a re-run batch finds its runs in the store.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from agentco.errors import ConfigError
from agentco.runtime.request import RunRequest

MAX_NAME = 48


class BatchItem(BaseModel):
    """One line of a JSONL ideas file. Unset options take the batch's (``--model``) or the settings'."""

    model_config = ConfigDict(extra="forbid")

    idea: str = Field(min_length=1, description="what to build, in one line")
    project: str | None = Field(None, description="the project folder's name (default: from the idea)")
    model: str | None = Field(None, description="provider:model for this run")
    budget: float | None = Field(None, ge=0, description="US dollars for this run (its --investment)")
    n_round: int | None = Field(None, ge=1, description="maximum rounds of the team")
    code_review: bool | None = None
    run_tests: bool | None = None
    implement: bool | None = None

    _where: str = PrivateAttr("")
    """The file and line it came from, for the errors of its request."""


@dataclass(frozen=True)
class Job:
    """One run of the batch: its key (the project folder's name) and the request it runs."""

    key: str
    request: RunRequest

    @property
    def idea(self) -> str:
        return self.request.idea


def read_items(path: Path) -> list[BatchItem]:
    """The items of an ideas file: text (one idea a line, ``#`` comments) or JSON lines, mixed freely."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the ideas file {path}: {exc}") from None
    items = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path} line {number}"
        try:
            item = BatchItem.model_validate(json.loads(line)) if line.startswith("{") else BatchItem(idea=line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"not a JSON object: {exc.msg}", source=where) from None
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ConfigError(err["msg"], source=where, key=".".join(str(p) for p in err["loc"]) or None) from None
        item._where = where
        items.append(item)
    if not items:
        raise ConfigError(f"{path} holds no ideas: write one idea a line, or JSON lines with an 'idea'")
    return items


def plan_jobs(items: list[BatchItem], *, repeat: int = 1, model: str | None = None, workspace: Path) -> list[Job]:
    """One job per item and repeat, each with its own project name (``NAME``, or ``NAME-r1``,
    ``NAME-r2``... when repeated), validated now, before any run starts."""
    names = _project_names(items)
    jobs = []
    for k in range(1, repeat + 1):
        for item, name in zip(items, names, strict=True):
            key = name if repeat == 1 else f"{name}-r{k}"
            options = {"n_round": item.n_round, "implement": item.implement}
            try:
                request = RunRequest.build(
                    idea=item.idea, project_name=key, model=item.model or model, investment=item.budget,
                    code_review=item.code_review, run_tests=item.run_tests, workspace=str(workspace),
                    **{field: value for field, value in options.items() if value is not None},
                )  # fmt: skip
            except ConfigError as exc:  # said of the line it came from
                raise ConfigError(exc.problem, source=item._where or exc.source, key=exc.key) from None
            jobs.append(Job(key, request))
    if len({job.key for job in jobs}) < len(jobs):
        raise ConfigError("two runs of the batch would share a project folder; give the lines their own 'project'")
    return jobs


def _project_names(items: list[BatchItem]) -> list[str]:
    """The names given, else a slug of the idea; a name taken by an earlier line gets ``-2``, ``-3``..."""
    taken = {item.project for item in items if item.project}
    if len(taken) < sum(1 for item in items if item.project):
        raise ConfigError("two lines of the ideas file name the same project; give each its own 'project'")
    names = []
    for item in items:
        if item.project:
            names.append(item.project)
            continue
        base = slug(item.idea)
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}-{n}"
        taken.add(name)
        names.append(name)
    return names


def slug(idea: str) -> str:
    """``Write roman.py, with tests!`` -> ``write-roman-py-with-tests``: a folder name from an idea."""
    words = re.findall(r"[a-z0-9]+", idea.lower())
    name = ""
    for word in words:
        if len(name) + len(word) + 1 > MAX_NAME:
            name = name or word[:MAX_NAME]
            break
        name = f"{name}-{word}" if name else word
    return name or "project"
