"""Minimal valid documents derived from the requirement and the earlier stages.

A document stage whose model output still fails after its attempts falls back to one of these, with
a note, and the run goes on to write and test code: a plain document beats a run that ends before
any code exists. Each is validated by the same schema the model's would have been.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from agentco.company.repairs import fit, mend_files
from agentco.company.schemas import PRD, SystemDesign, TaskBreakdown
from agentco.lang.base import EntryPoint

D = TypeVar("D", bound=BaseModel)
DERIVED = "derived by agentco from the requirement (the model's document did not validate)"


def sentences(requirement: str) -> list[str]:
    """The requirement's sentences, in order, without repeats."""
    parts = re.split(r"(?<=[.!?])\s+|\n+", requirement.strip())
    return list(dict.fromkeys(" ".join(p.split()) for p in parts if p.strip()))


def project_name_for(requirement: str, entry_points: Sequence[EntryPoint]) -> str:
    """The first entry point's name, else the requirement's first word that makes a valid name."""
    for entry in entry_points:
        name = entry.name.lower()
        if re.fullmatch(r"[a-z][a-z0-9_]*", name):
            return name[:40]
    skip = {"a", "an", "the", "write", "build", "create", "make", "python", "simple", "small", "with", "that"}
    for word in re.findall(r"[A-Za-z][A-Za-z0-9_]*", requirement):
        if word.lower() not in skip and len(word) > 2:
            return word.lower()[:40]
    return "project"


def minimal_prd(schema: type[PRD], requirement: str, entry_points: Sequence[EntryPoint]) -> PRD:
    said = sentences(requirement) or [requirement.strip()[:700] or "the requirement"]
    name = project_name_for(requirement, entry_points)
    return _valid(
        schema,
        {
            "project_name": name,
            "entry_points": [{"kind": e.kind, "name": e.name} for e in entry_points][:4],
            "product_goals": [said[0][:700]],
            "user_stories": [f"As a user, I want this: {s}"[:700] for s in said[:5]],
            "competitive_analysis": [{"name": "existing tools", "strength": "", "weakness": "not analysed"}],
            "competitive_quadrant": [
                {"name": name[:60], "reach": "low", "engagement": "medium"},
                {"name": "existing tools", "reach": "high", "engagement": "medium"},
            ],
            "requirement_analysis": requirement.strip()[:3000],
            "requirement_pool": [{"priority": "P0", "requirement": s[:800]} for s in said[:8]],
            "ui_design_draft": "",
            "anything_unclear": DERIVED,
        },
    )


def minimal_design(
    schema: type[SystemDesign], requirement: str, project_name: str, entry_points: Sequence[EntryPoint]
) -> SystemDesign:
    """The files of each entry point (its first set of files, mended like the model's: a module and a
    package of one name would clash, so the package stays); give at least one entry point."""
    files = mend_files(list(dict.fromkeys(f for e in entry_points for f in e.files()[0])), entry_points, [])
    first = files[0]
    return _valid(
        schema,
        {
            "implementation_approach": f"{DERIVED}: {requirement.strip()}"[:3000],
            "file_list": files[:10],
            "data_structures": [],
            "call_flow": [
                {"caller": "user", "callee": project_name[:40], "message": "uses it as the requirement says"}
            ],
            "api_spec": f"as the requirement states; the code starts in {first}",
        },
    )


def minimal_tasks(schema: type[TaskBreakdown], requirement: str, design: SystemDesign) -> TaskBreakdown:
    """One task per file of the design, each told the whole requirement."""
    tasks: list[dict[str, Any]] = [
        {"file": f, "description": f"Implement the part of the requirement that belongs in {f}: {requirement}"[:1500],
         "depends_on": []}
        for f in design.file_list
    ]  # fmt: skip
    return _valid(schema, {"required_packages": [], "tasks": tasks, "shared_knowledge": ""})


def _valid(schema: type[D], data: dict[str, Any]) -> D:
    """``data`` cut to the schema's bounds (a compact schema has shorter lists), validated."""
    return schema.model_validate(fit(schema, data, []))
