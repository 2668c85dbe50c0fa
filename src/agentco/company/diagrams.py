"""Mermaid diagrams drawn from validated design data, so they are always well-formed."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from agentco.company.schemas import PRD, SystemDesign

LEVELS = {"low": 0.15, "medium": 0.45, "high": 0.75}


def _label(text: str) -> str:
    return re.sub(r"[\"`\n\r]+", " ", text).strip() or "?"


def _ident(text: str) -> str:
    ident = re.sub(r"\W+", "_", text).strip("_")
    return ident if ident and not ident[0].isdigit() else f"n_{ident}"


def quadrant_chart(prd: PRD) -> str:
    lines = [
        "quadrantChart",
        f"    title Reach and engagement of {_label(prd.project_name)} and alternatives",
        "    x-axis Low Reach --> High Reach",
        "    y-axis Low Engagement --> High Engagement",
        "    quadrant-1 We should expand",
        "    quadrant-2 Need to promote",
        "    quadrant-3 Re-evaluate",
        "    quadrant-4 May be improved",
    ]
    for index, point in enumerate(prd.competitive_quadrant):
        name = re.sub(r"[^\w .-]+", "", point.name).strip() or "product"
        spread = 0.04 * (index % 5)  # products on the same level stay apart
        x, y = LEVELS[point.reach] + spread, LEVELS[point.engagement] + spread
        lines.append(f"    {name}: [{x:.2f}, {y:.2f}]")
    return "\n".join(lines) + "\n"


def class_diagram(design: SystemDesign) -> str:
    lines = ["classDiagram"]
    for spec in design.data_structures:
        lines.append(f"    class {_ident(spec.name)} {{")
        lines.extend(f"        {_member(a)}" for a in spec.attributes)
        lines.extend(f"        {_member(m)}" for m in spec.methods)
        lines.append("    }")
    if not design.data_structures:
        for path in design.file_list:
            module = _ident(str(PurePosixPath(path).with_suffix("")))
            lines.append(f"    class {module}")
            lines.append(f"    <<module>> {module}")
    return "\n".join(lines) + "\n"


def _member(text: str) -> str:
    """Keep a member on one line, without characters that end a Mermaid class body."""
    return re.sub(r"[{}\n\r`\"]", "", text).strip() or "member"


def sequence_diagram(design: SystemDesign) -> str:
    lines = ["sequenceDiagram"]
    for name in dict.fromkeys(p for step in design.call_flow for p in (step.caller, step.callee)):
        lines.append(f"    participant {_ident(name)} as {_label(name)}")
    for step in design.call_flow:
        message = re.sub(r"[;#\n\r]+", " ", step.message).strip() or "call"
        lines.append(f"    {_ident(step.caller)}->>{_ident(step.callee)}: {message}")
    return "\n".join(lines) + "\n"
