"""Scenario files: every built-in loads, and each kind of mistake is reported with the file, the line
and the key it is about."""

import textwrap

import pytest

from agentco.errors import ConfigError
from agentco.scenario.loading import ScenarioError, parse_scenario
from agentco.scenario.registry import RUNNABLE, entries, load

GOOD = """\
name: tiny
inputs:
  topic: what to talk about
roles:
  a:
    persona: You are A.
  b:
    persona: You are B.
    output:
      verdict: [pass, fail]
stages:
  - name: talk
    speakers: [a, b]
    instruction: "Talk about {{ topic }}."
  - name: decide
    speakers: [b]
    routes:
      - when: {field: verdict, equals: pass}
        to: END
      - to: talk
"""


def problem(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(textwrap.dedent(text), "s.yaml")
    return caught.value


def edited(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


def test_every_built_in_scenario_loads_and_the_company_is_listed_beside_them():
    names = [e.name for e in entries()]
    assert names[0] == "company" and {"debate", "service-desk", "interview", "question-bank", "news-desk"} <= set(names)
    for name in RUNNABLE:
        if name != "company":
            assert load(name).name == name
    with pytest.raises(ConfigError, match="not a scenario"):
        load("company")
    with pytest.raises(ConfigError, match="did you mean 'debate'"):
        load("debat")


def test_a_valid_file_needs_max_visits_only_where_a_route_goes_back():
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(GOOD, "s.yaml")
    err = caught.value
    assert (err.file, err.line, err.key) == ("s.yaml", 20, "stages[decide].routes[1].to")  # 0-based items
    assert "give 'talk' a max_visits above 1" in str(err)
    scenario = parse_scenario(edited("  - name: talk\n", "  - name: talk\n    max_visits: 2\n"), "s.yaml")
    assert [s.name for s in scenario.stages] == ["talk", "decide"] and scenario.roles["b"].output["verdict"].values


OK = edited("  - name: talk\n", "  - name: talk\n    max_visits: 2\n")


@pytest.mark.parametrize(
    ("old", "new", "line", "key", "words"),
    [
        ("speakers: [a, b]\n", "speakers: [a, c]\n", 14, "stages[talk].speakers[1]", "no role 'c'"),
        ("  - name: decide\n", "  - name: decide\n    mode: sideways\n", 17, "stages[decide].mode", "round_robin"),
        ("        to: END\n", "        to: ENDING\n", 20, "stages[decide].routes[0].to", "no stage 'ENDING'"),
        ("equals: pass}", "equals: maybe}", 19, "stages[decide].routes[0].when.equals", "not one of"),
        (
            "{field: verdict, equals: pass}",
            "{field: score, equals: 1}",
            19,
            "stages[decide].routes[0].when.field",
            "no speaker of stage 'decide' answers a field 'score'",
        ),
        ("Talk about {{ topic }}.", "Talk about {{ subject }}.", 15, "stages[talk].instruction", "not an input"),
        (
            "    persona: You are A.\n",
            "    persona: You are A.\n    human: true\n    output: {x: str}\n",
            8,
            "roles.a.output",
            "human role has no output",
        ),
        ("  - name: decide\n", "  - name: talk\n", 16, "stages[talk].name", "a second stage named 'talk'"),
        (
            "    speakers: [b]\n",
            "    speakers: [b]\n    sees: [nowhere]\n",
            18,
            "stages[decide].sees[0]",
            "no stage 'nowhere'",
        ),
        (
            "    speakers: [b]\n",
            "    speakers: [b]\n    aggregate: {majority: verdict}\n",
            18,
            "stages[decide].aggregate",
            "only a parallel stage",
        ),
        ("    persona: You are B.\n", "    persona: 42\n", 8, "roles.b.persona", "valid string"),
        ("      verdict: [pass, fail]\n", "      verdict: [pass]\n", 10, "roles.b.output.verdict", "at least 2"),
        ("    max_visits: 2\n", "    max_visits: 0\n", 13, "stages[talk].max_visits", "greater than or equal to 1"),
    ],
)
def test_each_kind_of_mistake_names_the_line_and_the_key(old, new, line, key, words):
    assert old in OK
    err = problem(OK.replace(old, new, 1))
    assert (err.line, err.key) == (line, key), str(err)
    assert words in str(err) and str(err).startswith(f"s.yaml:{line}: {key}: "), str(err)


def test_an_unknown_key_is_named_with_the_closest_one():
    err = problem(OK.replace("    speakers: [a, b]\n", "    speakers: [a, b]\n    round: 2\n"))
    assert (err.line, err.key) == (15, "stages[talk].round")
    assert "not a key here; did you mean 'rounds'?" in str(err)
    err = problem(OK.replace("roles:\n", "limits: {messages: 5, tokenz: 9}\nroles:\n"))
    assert err.key == "limits.tokenz" and "did you mean 'tokens'?" in str(err)


def test_a_missing_key_names_where_it_belongs():
    err = problem(OK.replace("  - name: decide\n    speakers: [b]\n", "  - name: decide\n"))
    assert (err.line, err.key) == (16, "stages[decide].speakers") and "missing: add 'speakers' here" in str(err)
    err = problem("name: x\nroles:\n  a: {persona: hi}\n")
    assert err.key == "stages" and "missing" in str(err)


def test_broken_yaml_and_a_file_that_is_no_mapping_name_the_line():
    err = problem("name: x\nroles:\n  a: {persona: [unclosed\n")
    assert err.line is not None and err.line >= 3 and "not valid YAML" in str(err)
    assert problem("- a\n- b\n").line == 1


def test_conditions_say_what_to_test():
    err = problem(OK.replace("{field: verdict, equals: pass}", "{field: verdict}"))
    assert err.key == "stages[decide].routes[0].when" and "equals: VALUE" in str(err)


def test_the_readme_example_is_a_valid_scenario_and_its_quoted_error_is_the_real_one():
    import re
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    block = re.search(r"A scenario file, with every key there is:\n\n```yaml\n(.*?)```", readme, re.S)[1]
    example = parse_scenario(block, "README.md")
    assert [s.name for s in example.stages] == ["review", "summary"] and example.limits.budget == 0.10
    err = str(problem(block.replace("to: summary}", "to: sumary}")).args[0]).replace("s.yaml", "review.yaml")
    assert err in " ".join(readme.split())
