"""Prompt templates are files under ``agentco/prompts``, rendered with Jinja and StrictUndefined."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

PROMPTS_DIR = Path(__file__).parent / "prompts"


@functools.cache
def _environment(root: str):
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(root),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["pyrepr"] = repr  # Python literals in generated code
    return env


def render(name: str, /, root: Path | None = None, **variables: Any) -> str:
    """Render ``name`` (a path relative to the prompts folder, or to ``root``)."""
    return _environment(str(root or PROMPTS_DIR)).get_template(name).render(**variables).strip()
