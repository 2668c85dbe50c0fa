"""A fake model that plays any scenario: it answers by the role asking (the request's schema name),
never by the prompt's wording. Text turns say who speaks and how often it has; a structured turn
fills its schema with each choice's first value, ``false``, ``1`` or a short text."""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

from agentco.llm.base import ChatRequest
from agentco.llm.fake import FunctionModel


def scenario_model(name: str = "scenario", delay: float = 0.0) -> FunctionModel:
    """``fake:scenario``; ``AGENTCO_FAKE_CALL_LOG`` names a file that gets one line per call made."""
    spoken: Counter[str] = Counter()
    log = os.environ.get("AGENTCO_FAKE_CALL_LOG")

    def answer(request: ChatRequest) -> str:
        role = request.schema_name
        spoken[role] += 1
        if log:
            with open(log, "a", encoding="utf-8") as out:
                out.write(f"{role}\n")
        if request.json_schema is None:
            return f"{role} speaks ({spoken[role]})."
        return json.dumps(filled(request.json_schema, f"{role} {spoken[role]}"))

    return FunctionModel(answer, model=name, delay=delay)


def filled(schema: dict[str, Any], text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, prop in schema.get("properties", {}).items():
        if "enum" in prop:
            out[key] = prop["enum"][0]
        else:
            out[key] = {"boolean": False, "integer": 1, "number": 1.0}.get(prop.get("type", ""), f"{text}: {key}")
    return out
