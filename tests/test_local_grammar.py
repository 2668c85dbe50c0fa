"""The schema handed to llama.cpp's grammar keeps its shape but drops what it cannot afford."""

import json

import pytest

from agentco.company.schemas import PRD, SystemDesign, triage_for
from agentco.lang.python.test_plan import TestPlan
from agentco.llm.local.provider import GRAMMAR_MAX_LENGTH, grammar_schema


def _max_lengths(node):
    if isinstance(node, dict):
        yield from ([node["maxLength"]] if "maxLength" in node else [])
        for value in node.values():
            yield from _max_lengths(value)
    elif isinstance(node, list):
        for value in node:
            yield from _max_lengths(value)


@pytest.mark.parametrize("model", [PRD, SystemDesign, TestPlan])
def test_only_short_length_bounds_reach_the_grammar(model):
    full = model.model_json_schema()
    assert max(_max_lengths(full)) > GRAMMAR_MAX_LENGTH  # the pydantic model still validates long ones
    safe = grammar_schema(full)
    assert all(bound <= GRAMMAR_MAX_LENGTH for bound in _max_lengths(safe))
    assert "minLength" not in json.dumps(safe)
    assert "maxItems" in json.dumps(safe) and "required" in json.dumps(safe)


def test_code_fields_keep_a_short_bound_against_runaway_strings():
    safe = grammar_schema(TestPlan.model_json_schema())
    assert safe["properties"]["value_checks"]["additionalProperties"]["maxItems"] == 4  # and runaway groups
    check = safe["$defs"]["ValueCheck"]["properties"]
    assert check["expected"]["anyOf"][0] == {"type": "string", "maxLength": 200}
    assert check["code"]["items"]["maxLength"] == 120


def test_a_triage_reason_is_bounded_in_the_grammar_so_the_pick_always_comes():
    safe = grammar_schema(triage_for(["ini2json/cli.py", "tests/test_ini2json.py"]).model_json_schema())
    assert safe["properties"]["reason"]["maxLength"] <= GRAMMAR_MAX_LENGTH
    assert safe["required"] == ["reason", "file_to_fix"]


def test_nesting_of_the_generated_grammar_stays_bounded():
    from agentco.lang.python.test_plan import test_plan_for

    llama_grammar = pytest.importorskip("llama_cpp.llama_grammar")
    grouped = test_plan_for(["bank"], [], must_check=["Account", "ValueError"], provided={"Account": "bank"})
    cli_only = test_plan_for(["tool"], ["tool"], must_check=["tool"], provided={})
    for model in (PRD, SystemDesign, TestPlan, grouped, cli_only):
        grammar = llama_grammar.json_schema_to_gbnf(json.dumps(grammar_schema(model.model_json_schema())))
        assert max(line.count("(") for line in grammar.splitlines()) <= GRAMMAR_MAX_LENGTH + 5


def test_unbounded_patterns_are_kept():
    schema = {"properties": {"a": {"type": "string", "pattern": "^[a-z]+$"}, "b": {"pattern": "^x{2,9}$"}}}
    expected_b = {"type": ["string", "number", "boolean", "null", "array", "object"]}  # nothing left: any value
    assert grammar_schema(schema) == {"properties": {"a": {"type": "string", "pattern": "^[a-z]+$"}, "b": expected_b}}


def test_any_value_allows_strings_and_numbers_in_the_grammar():
    """llama-cpp-python reads ``{}`` as "an object"; the schema passed on must allow every JSON value."""
    llama_grammar = pytest.importorskip("llama_cpp.llama_grammar")
    schema = {"type": "object", "properties": {"v": {}, "w": {"description": "anything"}}, "required": ["v", "w"]}
    grammar = llama_grammar.json_schema_to_gbnf(json.dumps(grammar_schema(schema)))
    rules = dict(line.split(" ::= ", 1) for line in grammar.splitlines() if " ::= " in line)
    for name in ("v", "w"):
        alternatives = rules[name]
        assert all(kind in alternatives for kind in ("string", "number", "boolean", "null", "array")), alternatives
