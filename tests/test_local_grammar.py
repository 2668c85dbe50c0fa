"""The schema handed to llama.cpp's grammar keeps its shape but drops what it cannot afford."""

import json

import pytest

from agentco.company.schemas import PRD, SystemDesign, TestPlan
from agentco.llm.local import grammar_schema


@pytest.mark.parametrize("model", [PRD, SystemDesign, TestPlan])
def test_no_length_bounds_or_bounded_repeats_reach_the_grammar(model):
    full = model.model_json_schema()
    text = json.dumps(full)
    assert "maxLength" in text  # the pydantic model still validates lengths
    safe = json.dumps(grammar_schema(full))
    assert "maxLength" not in safe and "minLength" not in safe
    assert "maxItems" in safe and "required" in safe


def test_nesting_of_the_generated_grammar_stays_shallow():
    llama_grammar = pytest.importorskip("llama_cpp.llama_grammar")
    for model in (PRD, SystemDesign, TestPlan):
        grammar = llama_grammar.json_schema_to_gbnf(json.dumps(grammar_schema(model.model_json_schema())))
        assert max(line.count("(") for line in grammar.splitlines()) <= 20


def test_unbounded_patterns_are_kept():
    schema = {"properties": {"a": {"type": "string", "pattern": "^[a-z]+$"}, "b": {"pattern": "^x{2,9}$"}}}
    assert grammar_schema(schema) == {"properties": {"a": {"type": "string", "pattern": "^[a-z]+$"}, "b": {}}}
