"""Reading an existing project before changing it: its files, their public names, its entry points
and its tests, from the files themselves (no model call: what the code says is exact).

A project agentco made has its documents under ``docs/``; the design's approach and API are read
from ``docs/design.json`` as well. A project agentco did not make gets ``docs/design.md`` and
``docs/design.json`` written from this reading, committed with the change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_FILE_CHARS = 60_000
"""A source file longer than this is listed by name only (it is not read into a prompt)."""
SKIPPED = {".venv", "venv", ".git", "__pycache__", "node_modules", "build", "dist", ".tox", ".eggs"}


@dataclass
class ProjectMap:
    sources: dict[str, str]
    """Each source file (relative path) and its text."""
    tests: list[str]
    entry_points: list[str]
    outlines: dict[str, str]
    made_by_agentco: bool = False
    design: dict[str, Any] = field(default_factory=dict)
    """``docs/design.json`` of a project agentco made (approach, API), else empty."""

    def to_json(self) -> dict[str, Any]:
        return {"file_list": sorted(self.sources), "tests": self.tests, "entry_points": self.entry_points,
                "outlines": self.outlines, "implementation_approach": "", "api_spec": ""}  # fmt: skip


def read_project(root: Path, files: list[str], toolchain: Any) -> ProjectMap:
    """The map of the project at ``root`` from its ``files`` (relative paths, those git knows of)."""
    sources, tests, entry_points = {}, [], []
    for path in sorted(files):
        parts = Path(path).parts
        if not path.endswith(toolchain.source_suffix) or SKIPPED & set(parts):
            continue
        full = root / path
        if full.is_symlink() or not full.is_file():
            continue
        if toolchain.is_test_file(path):
            tests.append(path)
            continue
        text = full.read_text(encoding="utf-8", errors="replace")
        sources[path] = text if len(text) <= MAX_FILE_CHARS else ""
    for program in toolchain.programs(sources):
        entry_points.append(f"python -m {program}")
    outlines = {path: toolchain.outline(text) for path, text in sources.items() if text}
    design = _agentco_design(root)
    return ProjectMap(sources, tests, entry_points, outlines, bool(design), design)


def _agentco_design(root: Path) -> dict[str, Any]:
    path = root / "docs" / "design.json"
    if path.is_symlink() or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or "file_list" not in data:
        return {}
    return {key: str(data.get(key, ""))[:1500] for key in ("implementation_approach", "api_spec")}
