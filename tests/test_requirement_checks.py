"""Checks from the requirement's own words: exit statuses, stderr and output lines it states become
checks with those expected values; the model's checks that contradict them are dropped or held to
them; and when the model writes no usable plan, the requirement's checks are tested alone."""

import json

import pytest

from agentco.company.run import run_company
from agentco.company.workshop import CompanyOptions
from agentco.lang.python import test_plan
from agentco.lang.python.stated import hold_to_requirement, outcomes, requirement_commands, sentences
from agentco.llm.client import LLMClient
from agentco.llm.fake import FunctionModel
from agentco.llm.meter import Meter
from agentco.testing.company import ProjectScript, company_model

IDEA = (
    "Build a command-line tool `lines`: running `python -m lines PATH` prints the number of lines of the "
    "file at PATH. If PATH does not exist, it prints an error message (not a traceback) to stderr and "
    "exits with status 1. An empty file prints `0`. Use only the standard library."
)
MAIN = '''"""Count the lines of a file."""

import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0])
    if not path.exists():
        print(f"error: {path} does not exist", file=sys.stderr)
        return 1
    print(len(path.read_text().splitlines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


def step(args, exit_code, stdout="", check_stdout=True):
    return {"args": args, "exit_code": exit_code, "stdout": stdout, "check_stdout": check_stdout}


MODEL_CHECKS = [
    {"name": "two_lines", "files": [{"name": "a.txt", "content": "x\ny\n"}],
     "steps": [step(["-m", "lines", "{tmp}/a.txt"], 0, "2")]},
    # the model's guesses: an exit status the requirement never gives, and the message on stdout
    {"name": "missing_exit_three", "files": [], "steps": [step(["-m", "lines", "{tmp}/nope"], 3)]},
    {"name": "missing_message", "files": [], "steps": [step(["-m", "lines", "{tmp}/nope"], 1, "error: nope")]},
]  # fmt: skip


def lines_script(tests) -> ProjectScript:
    return ProjectScript("lines", {"lines/__init__.py": "", "lines/__main__.py": MAIN}, tests)


def test_sentences_keep_quoted_text_whole_and_outcomes_take_status_stream_and_output():
    said = sentences("Run `a.b c`. If X is bad it exits with status 2; a file without rows prints nothing.")
    assert said == ["Run `a.b c`.", "If X is bad it exits with status 2;", "a file without rows prints nothing."]
    found = outcomes(IDEA)
    assert [(o.status, o.stderr, o.no_traceback, o.stdout) for o in found] == [
        (1, True, True, None),
        (None, False, False, "0"),
    ]


def test_a_program_taking_one_path_gets_the_missing_path_and_empty_file_checks_from_the_words():
    checks = requirement_commands(IDEA, {"lines": "python -m lines PATH"})
    missing, empty = checks
    assert (missing.name, missing.steps[0].args, missing.steps[0].exit_code) == (
        "req_lines_missing_path", ["-m", "lines", "{tmp}/missing-path"], 1)  # fmt: skip
    assert missing.steps[0].stderr and missing.steps[0].no_traceback and not missing.steps[0].check_stdout
    assert (empty.files[0].content, empty.steps[0].stdout, empty.steps[0].exit_code) == ("", "0", 0)
    # which input a condition needs is judgement when the program takes more than the one path
    assert requirement_commands(IDEA, {"lines": "python -m lines PATH COLUMN"}) == []
    assert requirement_commands(IDEA, {"lines": "python -m lines --db FILE PATH"}) == []


def test_the_models_command_checks_are_held_to_the_requirements_statuses_and_stream():
    schema = test_plan.test_plan_for(["lines"], ["lines"], provided={}, usage={"lines": "python -m lines PATH"})
    plan = schema.model_validate({"value_checks": {}, "command_checks": MODEL_CHECKS})
    notes: list[str] = []
    hold_to_requirement(plan, outcomes(IDEA), notes)
    assert [c.name for c in plan.command_checks] == ["two_lines", "missing_message"]
    assert notes == ["test plan: dropped command check missing_exit_three: it expects exit status 3, "
                     "the requirement gives only 1"]  # fmt: skip
    message = plan.command_checks[1].steps[0]
    assert message.stderr and message.no_traceback and not message.check_stdout
    assert "with a message on stderr that is not a traceback" in plan.expectations()["test_missing_message_cli_2"]
    assert "stderr" not in plan.prompt_json()  # agentco's fields, not the model's to correct


async def test_a_run_tests_the_requirements_command_checks_and_drops_the_contradicting_one(tmp_path):
    tests = {"value_checks": {}, "command_checks": MODEL_CHECKS}
    model = company_model(lines_script(tests))
    outcome = await run_company(IDEA, CompanyOptions(workspace=tmp_path), LLMClient(model, Meter()))

    test_file = (outcome.project / "tests" / "test_lines.py").read_text()
    assert "def test_req_lines_missing_path_cli_1" in test_file and "def test_req_lines_empty_input_cli_2" in test_file
    assert 'assert "Traceback" not in result.stderr' in test_file and "missing_exit_three" not in test_file
    assert "'error: nope'" not in test_file  # the guessed stdout of an error is not checked
    assert outcome.summary["status"] == "passed"
    assert outcome.summary["tests_from_requirement"] == {"passed": 2, "total": 2}
    assert outcome.summary["tests_passed"] == 4
    assert any("dropped command check missing_exit_three" in note for note in outcome.notes)


async def test_when_the_model_writes_no_usable_plan_the_requirements_checks_are_tested_alone(tmp_path):
    broken = {"value_checks": {}, "command_checks": [{"name": "bad", "files": [], "steps": []}]}
    model = company_model(lines_script(broken))
    outcome = await run_company(IDEA, CompanyOptions(workspace=tmp_path), LLMClient(model, Meter()))

    assert outcome.summary["status"] == "passed"
    assert outcome.summary["tests_from_requirement"] == {"passed": 2, "total": 2}
    assert any("testing the requirement's own checks alone" in note for note in outcome.notes)
    plan = json.loads((outcome.project / ".agentco" / "test_plan.json").read_text())
    assert [c["name"] for c in plan["command_checks"]] == ["req_lines_missing_path", "req_lines_empty_input"]


async def test_a_wrong_program_answer_fails_the_requirements_check_with_its_words(tmp_path):
    traceback_main = MAIN.replace("    if not path.exists():\n", "    if False:\n")  # reads a missing file
    script = lines_script({"value_checks": {}, "command_checks": MODEL_CHECKS[:1]})
    script.files["lines/__main__.py"] = traceback_main
    options = CompanyOptions(workspace=tmp_path, fix_rounds=0)
    outcome = await run_company(IDEA, options, LLMClient(company_model(script), Meter()))

    assert outcome.summary["status"] == "failed"
    assert outcome.summary["tests_from_requirement"] == {"passed": 1, "total": 2}


def test_a_check_ending_in_an_assignment_checks_its_value_and_a_module_name_is_imported():
    from agentco.lang.python.plan_repair import drop_broken_checks
    from agentco.lang.python.test_plan import imports_for

    check = {"name": "merge_touching", "code": ["result = intervals.merge([(1, 3), (3, 5)])"], "expected": [[1, 5]],
             "raises": ""}  # fmt: skip
    notes: list[str] = []
    data = drop_broken_checks({"value_checks": {"merge": [check]}, "command_checks": []}, notes)
    assert data["value_checks"]["merge"][0]["code"] == ["intervals.merge([(1, 3), (3, 5)])"]
    assert notes == ["test plan: merge_touching checks the value its last line assigned, "
                     "'intervals.merge([(1, 3), (3, 5)])'"]  # fmt: skip
    raising = {"name": "bad", "code": ["x = merge([(3, 1)])"], "expected": None, "raises": "ValueError"}
    drop_broken_checks({"value_checks": {"merge": [raising]}}, notes)
    assert raising["code"] == ["x = merge([(3, 1)])"]  # a check that must raise may end in a statement
    schema = test_plan.test_plan_for(["intervals"], [], provided={"merge": "intervals"})
    plan = schema.model_validate(data)
    assert imports_for(plan.checks(), {"merge": "intervals"}) == ["import intervals"]
    # beside a check that calls merge by its own name (intervals on 86d71b7 imported only the name)
    both = schema.model_validate(
        {
            "value_checks": {
                "merge": [
                    *data["value_checks"]["merge"],
                    {"name": "plain", "code": ["merge([(1, 2)])"], "expected": [[1, 2]], "raises": ""},
                ]
            },
            "command_checks": [],
        }
    )
    assert imports_for(both.checks(), {"merge": "intervals"}) == ["import intervals", "from intervals import merge"]


def test_a_check_ending_in_a_print_checks_the_printed_value():
    from agentco.lang.python.plan_repair import drop_broken_checks

    check = {"name": "get_missing", "code": ["c = LRUCache(3)", "print(c.get('a', 'd'))"], "expected": "d",
             "raises": ""}  # fmt: skip
    notes: list[str] = []
    drop_broken_checks({"value_checks": {"get": [check]}}, notes)
    assert check["code"] == ["c = LRUCache(3)", "c.get('a', 'd')"]
    assert notes == ["test plan: get_missing checks the value its last line printed, \"c.get('a', 'd')\""]
    two = {"name": "two", "code": ["print(1, 2)"], "expected": None, "raises": ""}
    drop_broken_checks({"value_checks": {"p": [two]}}, notes)
    assert two["code"] == ["print(1, 2)"]  # not one value: left for the plan's own check


def test_a_newline_decoded_inside_a_string_of_a_check_is_written_back_as_an_escape():
    from agentco.lang.python.plan_repair import drop_broken_checks

    check = {"name": "report", "code": ["out = report('2024-03')", "assert out == 'food\t12.5\nTOTAL\t12.5\n'"],
             "expected": None, "raises": ""}  # fmt: skip
    notes: list[str] = []
    drop_broken_checks({"value_checks": {"report": [check]}}, notes)
    assert check["code"][1] == "assert out == 'food\\t12.5\\nTOTAL\\t12.5\\n'"
    assert len(notes) == 1 and "escaped the newlines" in notes[0]


def test_a_check_whose_last_line_states_the_expected_value_expects_it():
    from agentco.lang.python.plan_repair import drop_broken_checks

    check = {"name": "flat", "code": ["result = flatten({'db': {'user': 'admin'}})", "expected: {'db.user': 'admin'}"],
             "expected": None, "raises": ""}  # fmt: skip
    notes: list[str] = []
    drop_broken_checks({"value_checks": {"flatten": [check]}}, notes)
    assert check["code"] == ["flatten({'db': {'user': 'admin'}})"] and check["expected"] == {"db.user": "admin"}
    given = {"name": "g", "code": ["x = f(1)", "expected = 3"], "expected": 2, "raises": ""}
    drop_broken_checks({"value_checks": {"f": [given]}}, notes)
    assert given["code"] == ["x = f(1)", "expected = 3"]  # an expected value given: the line is left to the checks


def test_the_valid_checks_of_a_refused_plan_are_kept_when_the_attempts_run_out():
    from pydantic import ValidationError

    from agentco.lang import get_toolchain
    from agentco.lang.base import TestScope

    toolchain = get_toolchain("python")
    scope = TestScope(modules=["calc"], commands=[], must_check=["add", "sub"], provided={"add": "calc", "sub": "calc"},
                      usage={}, max_checks=8)  # fmt: skip
    good = {"name": "add_2_3", "code": ["add(2, 3)"], "expected": 5, "raises": ""}
    data = {"value_checks": {"add": [good], "sub": [{"name": "sub_cut", "code": ["sub(5,"], "expected": 2, "raises": ""}]},
            "command_checks": []}  # fmt: skip
    with pytest.raises(ValidationError):
        toolchain.test_plan_schema(scope).model_validate(data)
    notes: list[str] = []
    plan = toolchain.valid_part(data, scope, notes)
    assert [c.name for c in plan.checks()] == ["add_2_3"] and "kept the 1 of its 2 value checks" in notes[0]
    assert toolchain.valid_part({"value_checks": {"sub": data["value_checks"]["sub"]}}, scope, []) is None


def test_a_group_without_checks_is_dropped_and_the_grammar_asks_for_one_check_per_group():
    from agentco.lang.python.plan_repair import drop_broken_checks

    check = {"name": "deposit", "code": ["a = Account('x')", "a.deposit(5)", "a.balance"], "expected": 5, "raises": ""}
    notes: list[str] = []
    data = drop_broken_checks({"value_checks": {"Account.history": [], "Account": [check]}}, notes)
    assert list(data["value_checks"]) == ["Account"]
    assert notes == ["test plan: dropped the empty groups of Account.history"]
    # a 1.5B model under the grammar answered a group for each name, each empty: the narrowed plan's
    # groups (names of its own choosing) must each hold a check
    schema = test_plan.test_plan_for(["bank"], [], provided={"Account": "bank"}).model_json_schema()
    groups = schema["properties"]["value_checks"]["additionalProperties"]
    assert groups["minItems"] == 1 and groups["maxItems"] == 4


@pytest.mark.parametrize("imported", [False, True])
async def test_a_programs_package_init_the_design_gives_nothing_is_left_empty_without_a_call(tmp_path, imported):
    script = lines_script({"value_checks": {}, "command_checks": MODEL_CHECKS[:1]})
    script.files["lines/__init__.py"] = "import logging\nlogging.basicConfig()\n"  # what the model would write
    idea = IDEA + (" `from lines import main` gives its entry function." if imported else "")

    def answer(request):
        if request.schema_name != "SystemDesign":
            return script.answer(request)
        design = script.design()  # the design places its one function in __main__.py
        design["data_structures"] = [d for d in design["data_structures"] if d["file"] == "lines/__main__.py"]
        return json.dumps(design)

    model = FunctionModel(answer)
    outcome = await run_company(idea, CompanyOptions(workspace=tmp_path), LLMClient(model, Meter()))

    asked = [r.schema_name for r in model.requests]
    assert ("file lines/__init__.py" in asked) == imported  # a requirement importing from it gets it written
    assert (outcome.project / "lines" / "__init__.py").read_text() == script.files["lines/__init__.py"] * imported
    note = "lines/__init__.py left empty: the program needs nothing in it, and the design puts nothing there"
    assert (note in outcome.notes) != imported
    assert outcome.summary["status"] == "passed"


def test_a_command_check_passing_more_arguments_than_the_usage_line_takes_is_dropped():
    from agentco.lang.python.entry_points import most_arguments
    from agentco.lang.python.stated import hold_to_usage

    assert most_arguments("python -m csvstats FILE COLUMN") == (2, set())
    assert most_arguments("python -m mdtoc PATH [--max-level N]") == (1, {"--max-level"})
    assert most_arguments("python -m tool [--verbose] PATH [OUT]") == (2, set())
    for varying in ("python -m kv --db FILE COMMAND ...", "python -m todo add TEXT", "python -m t (a|b)"):
        assert most_arguments(varying) is None
    usage = {"csvstats": "python -m csvstats FILE COLUMN"}
    plan = test_plan.test_plan_for(["csvstats"], ["csvstats"]).model_validate({
        "imports": [], "value_checks": {}, "command_checks": [
            {"name": "age", "files": [], "steps": [step(["-m", "csvstats", "a.csv", "Age"], 0, "count=1")]},
            {"name": "two_columns", "files": [], "steps": [step(["-m", "csvstats", "a.csv", "Age", "Pay"], 0)]},
            {"name": "negative", "files": [], "steps": [step(["-m", "csvstats", "-5", "Age"], 2, check_stdout=False)]},
        ]})  # fmt: skip
    notes: list[str] = []
    hold_to_usage(plan, usage, notes)
    assert [c.name for c in plan.command_checks] == ["age", "negative"]
    assert notes == ["test plan: dropped command check two_columns: it passes 'a.csv Age Pay', more arguments "
                     "than `python -m csvstats FILE COLUMN` takes"]  # fmt: skip


def test_checks_running_the_same_code_with_different_outcomes_are_dropped_and_repeats_go_once():
    from agentco.lang.python.plan_repair import drop_contradictions

    def value(name, expected=None, raises="", call="g.add_edge('b', 'c', 2)"):
        return {"name": name, "code": ["g = Graph()", call], "expected": expected, "raises": raises}

    data = {"value_checks": {
        "add_edge": [value("returns_three", 3), value("raises_value", raises="ValueError"),
                     value("negative", raises="ValueError", call="g.add_edge('a', 'b', -1)")],
        "shortest_path": [value("raises_key", raises="KeyError"),
                          value("negative_again", raises="ValueError", call="g.add_edge('a',  'b', -1)")],
        "nodes": [value("nodes", ["b", "c"], call="g.nodes()")]}, "command_checks": []}  # fmt: skip
    plan = test_plan.test_plan_for(["graph"], [], provided={"Graph": "graph"}).model_validate(data)
    notes: list[str] = []
    drop_contradictions(plan, notes)
    assert [c.name for c in plan.checks()] == ["negative", "nodes"]
    assert list(plan.value_checks) == ["add_edge", "nodes"]  # a group left empty goes
    assert notes == [
        "test plan: dropped returns_three, raises_value, raises_key: the same code expects different outcomes",
        "test plan: dropped negative_again: it repeats another check",
    ]
    # a check the requirement states is trusted: only the model's that contradict it go
    trusted = {"value_checks": {"from_requirement": [value("req_add_edge", raises="ValueError")],
                                "add_edge": [value("mine", 3), value("other", ["c"], call="g.nodes()")]},
               "command_checks": []}  # fmt: skip
    plan = test_plan.test_plan_for(["graph"], [], provided={"Graph": "graph"}).model_validate(trusted)
    drop_contradictions(plan, notes := [])
    assert [c.name for c in plan.checks()] == ["req_add_edge", "other"]
    # nothing left would be no tests at all: then nothing is dropped
    alone = {"value_checks": {"add_edge": [value("a", 3), value("b", 4)]}, "command_checks": []}
    plan = test_plan.test_plan_for(["graph"], [], provided={"Graph": "graph"}).model_validate(alone)
    drop_contradictions(plan, notes := [])
    assert [c.name for c in plan.checks()] == ["a", "b"] and notes == []


async def test_a_function_the_requirements_example_calls_but_the_code_wraps_in_a_class_goes_back_once(tmp_path):
    wrapped = "class Calc:\n    def add(self, a, b):\n        return a + b\n"
    plain = "def add(a, b):\n    return a + b\n"
    plan = {"value_checks": {"add": [{"name": "sum", "code": ["add(1, 1)"], "expected": 2, "raises": ""}]},
            "command_checks": []}  # fmt: skip
    script = ProjectScript("calc", {"calc.py": wrapped}, plan, fixes={"calc.py": [plain]})
    model = company_model(script)
    idea = "Write a module `calc.py` with a function `add(a, b)`; for example `add(2, 3) == 5`."
    outcome = await run_company(idea, CompanyOptions(workspace=tmp_path), LLMClient(model, Meter()))

    fix = [r for r in model.requests if r.schema_name == "file calc.py"][1].messages[-1]["content"]
    assert "the requirement uses `add` as a module-level function (`add(2, 3)`)" in fix
    assert (outcome.project / "calc.py").read_text() == plain
    assert outcome.summary["status"] == "passed" and outcome.summary["tests_from_requirement"] == {
        "passed": 1,
        "total": 1,
    }
    # a requirement that speaks of a class may call a method bare in its prose: nothing is sent back
    from agentco.lang.python.examples import missing_functions

    assert (
        missing_functions("A class `Stack`: `peek()` returns `3` after `push(3)`.", {"s.py": "class Stack: pass\n"})
        == {}
    )


def test_contradicting_checks_are_told_apart_by_position_not_by_their_names():
    from agentco.lang.python.plan_repair import drop_contradictions

    def value(name, expected=None, raises="", calls=("g.add_edge('A', 'B', 1)",)):
        return {"name": name, "code": ["g = Graph()", *calls], "expected": expected, "raises": raises}

    # graph on 532ff5a: every check contradicts another, and three names cover five checks
    longer = ("g.add_edge('A', 'B', 1)", "g.add_edge('C', 'A', 3)")
    data = {"value_checks": {
        "Graph": [value("add_edge", 3), value("nodes", ["A", "B"]), value("shortest_path", [6, ["A"]], calls=longer)],
        "ValueError": [value("add_edge", raises="ValueError")],
        "KeyError": [value("shortest_path", raises="KeyError", calls=longer)]}, "command_checks": []}  # fmt: skip
    plan = test_plan.test_plan_for(["graph"], [], provided={"Graph": "graph"}).model_validate(data)
    drop_contradictions(plan, notes := [])
    assert len(plan.checks()) == 5 and notes == []  # nothing would be left: nothing is dropped
    # one good check sharing a name with a contradicting one stays
    data["value_checks"]["Graph"].append(
        value("add_edge", ["A", "B", "C"], calls=("g.add_edge('B', 'C', 2)", "g.nodes()"))
    )
    plan = test_plan.test_plan_for(["graph"], [], provided={"Graph": "graph"}).model_validate(data)
    drop_contradictions(plan, notes := [])
    assert [c.code[-1] for c in plan.checks()] == ["g.nodes()"]


def test_the_toolchain_says_whether_the_requirement_imports_from_a_package():
    from agentco.lang.python import PythonToolchain

    python = PythonToolchain()
    assert python.imported_in("`from lines import main` gives its entry function.", "lines")
    assert python.imported_in("It exposes `lines.count(path)`.", "lines")
    assert not python.imported_in("Running `python -m lines PATH` prints the count.", "lines")
