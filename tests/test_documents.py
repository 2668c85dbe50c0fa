"""Documents: what the program mends itself (with a note), and the minimal document a stage falls
back to when the model's never validates, so the run still reaches code and tests."""

import json

import pytest
from pydantic import ValidationError

from agentco.company.repairs import design_normaliser, fit, mend_files
from agentco.company.run import run_company
from agentco.company.schemas import PRD, design_for
from agentco.company.workshop import CompanyOptions
from agentco.lang.python import PythonToolchain
from agentco.lang.python.entry_points import EntryPoint
from agentco.llm.client import LLMClient
from agentco.llm.fake import FunctionModel
from agentco.llm.meter import Meter
from agentco.llm.structured import JsonOutput, OutputInvalid
from agentco.testing.company import ROMAN

IDEA = "Write `roman.py` with to_roman(n) and from_roman(s). to_roman(0) raises ValueError."


def prd_data(**changes):
    data = ROMAN.prd()
    data.update(changes)
    return data


def test_lists_are_cut_to_their_bounds_repeats_dropped_and_empty_fields_filled():
    notes = []
    data = prd_data(user_stories=["a", "b", "a", "c", "d", "e", "f", "g"], requirement_analysis="x" * 3100)
    del data["anything_unclear"], data["ui_design_draft"]
    prd = PRD.model_validate(fit(PRD, data, notes))
    assert prd.user_stories == ["a", "b", "c", "d", "e"]
    assert len(prd.requirement_analysis) == 3000 and prd.anything_unclear == prd.ui_design_draft == ""
    assert notes == [
        "user_stories: dropped 1 repeated items",
        "user_stories: kept the first 5 of 7 items",
        "requirement_analysis: cut to 3000 characters",
        "ui_design_draft was missing; left empty",
        "anything_unclear was missing; left empty",
    ]


def test_what_needs_judgement_is_not_filled_in():
    notes = []
    data = prd_data()
    del data["product_goals"]  # at least one goal: only the model can say which
    with pytest.raises(ValidationError, match="product_goals"):
        PRD.model_validate(fit(PRD, data, notes))
    assert notes == []


def test_nested_documents_are_fitted_too():
    notes = []
    data = prd_data(competitive_analysis=[{"name": "n" * 70, "strength": "s", "weakness": "w"}])
    assert PRD.model_validate(fit(PRD, data, notes)).competitive_analysis[0].name == "n" * 60
    assert notes == ["competitive_analysis.name: cut to 60 characters"]


def test_a_module_clashing_with_a_package_is_dropped_and_missing_entry_files_are_added():
    notes = []
    tool = EntryPoint(kind="command", name="tool")
    files = mend_files(["tool.py", "tool/__init__.py", "tool/core.py", "tool/core.py"], [tool], notes)
    assert files == ["tool/__init__.py", "tool/core.py", "tool/__main__.py"]
    assert notes == [
        "dropped tool.py from the design: the package tool/ has its import name",
        "added tool/__main__.py to the design: the requirement uses `python -m tool`",
    ]
    notes.clear()
    assert mend_files(["tool.py"], [tool, EntryPoint(kind="package", name="tool")], notes) == [
        "tool/__init__.py",
        "tool/__main__.py",
    ]  # the package the requirement names came in: the module of its name goes (mdtoc on 33ed395)
    assert notes == [
        "added tool/__init__.py to the design: the requirement uses package tool/",
        "dropped tool.py from the design: the package tool/ has its import name",
        "added tool/__main__.py to the design: the requirement uses `python -m tool`",
    ]
    notes.clear()
    assert mend_files(["cli.py"], [EntryPoint(kind="module", name="shapes")], notes) == ["cli.py", "shapes.py"]
    assert notes == ["added shapes.py to the design: the requirement uses module shapes"]


def test_the_repaired_design_validates_where_the_raw_one_is_refused():
    entry_points = [EntryPoint(kind="command", name="tool")]
    schema = design_for(entry_points, PythonToolchain().path_problem)
    raw = {**ROMAN.design(), "file_list": ["tool.py", "tool/__init__.py"]}
    raw["data_structures"] = [{"file": "tool.py", "name": "Tool", "attributes": [], "methods": []}]
    with pytest.raises(OutputInvalid, match="same import name"):
        JsonOutput(schema).parse(json.dumps(raw))
    notes = []
    design = JsonOutput(schema, normalise=design_normaliser(schema, entry_points, notes)).parse(json.dumps(raw))
    assert design.file_list == ["tool/__init__.py", "tool/__main__.py"]
    assert design.data_structures[0].file == "tool/__init__.py"
    assert len(notes) == 2


def failing(*schemas):
    """The scripted roman company, except that it answers nonsense for the given documents."""
    return FunctionModel(lambda request: "{}" if request.schema_name in schemas else ROMAN.answer(request))


@pytest.mark.parametrize("bad", [("PRD",), ("SystemDesign",), ("TaskBreakdown",), ("PRD", "SystemDesign")])
async def test_a_document_that_never_validates_falls_back_and_the_run_goes_on_to_code_and_tests(tmp_path, bad):
    model = failing(*bad)
    outcome = await run_company(IDEA, CompanyOptions(workspace=tmp_path), LLMClient(model, Meter()))
    assert outcome.project == (tmp_path / "roman").resolve()
    assert outcome.summary["status"] == "passed" and outcome.summary["tests_passed"] > 0
    names = {"PRD": "PRD", "SystemDesign": "system design", "TaskBreakdown": "task breakdown"}
    for schema in bad:
        assert any(note.startswith(f"{names[schema]}: derived from the requirement") for note in outcome.notes)
        # its attempts (an identical answer is asked again, within a bound), then the fallback
        assert 3 <= [r.schema_name for r in model.requests].count(schema) <= 6
    docs = {name: json.loads((tmp_path / "roman" / "docs" / f"{name}.json").read_text()) for name in ("prd", "design")}
    if "PRD" in bad:
        assert docs["prd"]["requirement_analysis"] == IDEA and docs["prd"]["entry_points"][0]["name"] == "roman"
    if "SystemDesign" in bad:
        assert docs["design"]["file_list"] == ["roman.py"]


def test_checks_the_requirement_states_take_their_expected_values_from_its_words():
    from agentco.lang.python.examples import requirement_checks

    requirement = (
        '`merge([(5, 7), (1, 3)]) == [(1, 3), (5, 7)]`; `bump("1.2.3", "minor")` returns `"1.3.0"`, '
        "`to_roman(0)` raises `ValueError`, and `shortest_path(a, a)` returns `(0, [a])` (symbolic: left "
        'to the model). `open(\'x\')` returns `3` names no project function; `bump("1.2.3", "minor") == "1.3.0"`.'
    )
    checks = requirement_checks(requirement, {"merge", "bump", "to_roman", "shortest_path"})
    assert [(c.name, c.code, c.expected, c.raises) for c in checks] == [
        ("req_merge", ["merge([(5, 7), (1, 3)])"], [[1, 3], [5, 7]], ""),
        ("req_bump", ["bump('1.2.3', 'minor')"], "1.3.0", ""),
        ("req_to_roman", ["to_roman(0)"], None, "ValueError"),
    ]


def test_example_inputs_of_a_stated_error_go_to_the_one_function_taking_one_value_of_their_type():
    from agentco.lang.python.examples import requirement_checks

    requirement = (
        "Write `codec.py` with `encode(n: int) -> str` and `decode(s: str) -> int`. Both raise `ValueError` "
        'for input that is not valid (for example "XX", "" or `"x y"`), and `encode` raises `TypeError` '
        "for a float. Ids are short, such as `7`.\n"
    )
    checks = requirement_checks(requirement, {"encode", "decode"})
    assert [(c.code, c.raises) for c in checks] == [
        (["decode('XX')"], "ValueError"),
        (["decode('')"], "ValueError"),
        (["decode('x y')"], "ValueError"),
    ]


@pytest.mark.parametrize(
    "requirement",
    [
        # two functions take one string: which one the examples are for needs judgement
        '`a(s: str)` and `b(t: str)` raise `ValueError` for bad input (for example "x").',
        # no error is stated for the examples
        '`a(s: str)` accepts short names, for example "x" or "y".',
        # the one function the sentence names takes two values
        '`a(s: str)` and `pair(x: str, y: str)`. `pair` raises `ValueError` for bad input (e.g. "x").',
        # the types of the examples differ
        '`a(s: str)` raises `ValueError` for bad input (for example `1` or `"x"`).',
    ],
)
def test_example_inputs_give_no_check_where_their_function_is_not_plain(requirement: str):
    from agentco.lang.python.examples import requirement_checks

    assert requirement_checks(requirement, {"a", "b", "pair"}) == []


async def test_the_requirements_own_checks_join_the_plan_and_the_summary_counts_them(tmp_path):
    from agentco.testing.company import company_model

    idea = (
        IDEA
        + ' For example `to_roman(1994)` returns `"MCMXCIV"`, `from_roman("IV") == 4`; `to_roman(0)` raises `ValueError`.'
    )
    outcome = await run_company(idea, CompanyOptions(workspace=tmp_path), LLMClient(company_model(ROMAN), Meter()))
    test_file = (tmp_path / "roman" / "tests" / "test_roman.py").read_text()
    assert "assert to_roman(1994) == 'MCMXCIV'" in test_file and "assert from_roman('IV') == 4" in test_file
    assert "with pytest.raises(ValueError):\n        to_roman(0)" in test_file
    assert outcome.summary["tests_from_requirement"] == {"passed": 3, "total": 3}
    # the model's own check of to_roman(0) repeats the requirement's: it is run once
    assert outcome.summary["tests_passed"] == 8 + 3 - 1
    assert any(note.endswith(": it repeats another check") for note in outcome.notes)


def test_an_idea_of_one_paragraph_gets_a_compact_prd_and_its_fallback_fits_it():
    from agentco.company.fallbacks import minimal_prd
    from agentco.company.schemas import compact, prd_for

    idea = " ".join(f"Sentence number {i} says what the tool does." for i in range(9))
    assert compact(idea) and not compact("word " * 401)
    small, full = prd_for("entry points", small=True), prd_for("entry points")
    assert small.model_json_schema()["properties"]["user_stories"]["maxItems"] == 3
    assert full.model_json_schema()["properties"]["user_stories"]["maxItems"] == 5
    prd = minimal_prd(small, idea, [])
    assert len(prd.user_stories) == 3 and len(prd.requirement_pool) == 5 and prd.project_name == "sentence"


def test_a_check_broken_by_itself_is_dropped_from_a_group_that_keeps_a_valid_one():
    from agentco.lang.python.plan_repair import drop_broken_checks

    good = {"name": "four", "code": ["to_roman(4)"], "expected": "IV", "raises": ""}
    raising = {"name": "bad", "code": ["try:", "    to_roman(0)", "except ValueError:", "    raise"], "expected": None,
               "raises": ""}  # fmt: skip
    statement = {"name": "stmt", "code": ["x = to_roman(4)"], "expected": "IV", "raises": ""}
    notes = []
    data = {"value_checks": {"to_roman": [good, raising], "from_roman": [statement]}, "command_checks": []}
    mended = drop_broken_checks(data, notes)
    assert mended["value_checks"] == {"to_roman": [good], "from_roman": [statement]}  # the all-bad group stays
    assert statement["code"] == ["to_roman(4)"]  # an assignment's value is what a check compares
    assert notes == ["test plan: dropped 1 of the 2 checks of to_roman, which were not valid",
                     "test plan: stmt checks the value its last line assigned, 'to_roman(4)'"]  # fmt: skip


def test_a_check_expecting_an_exception_of_code_that_only_assigns_values_is_refused_and_dropped():
    from pydantic import ValidationError

    from agentco.lang.python.plan_repair import drop_broken_checks
    from agentco.lang.python.test_plan import ValueCheck

    inert = {"name": "short", "code": ["s = '1.2'"], "expected": None, "raises": "ValueError"}
    with pytest.raises(ValidationError, match="only assigns values, which never raise ValueError"):
        ValueCheck.model_validate(inert)
    calling = {"name": "calls", "code": ["s = '1.2'", "parse(s)"], "expected": None, "raises": "ValueError"}
    setting = {"name": "sets", "code": ["v = Version()", "v.major = -1"], "expected": None, "raises": "ValueError"}
    for check in (calling, setting):
        ValueCheck.model_validate(check)
    data = {"value_checks": {"parse": [calling, inert]}, "command_checks": []}
    assert drop_broken_checks(data, [])["value_checks"] == {"parse": [calling]}


def test_a_command_line_written_as_one_string_is_split_into_its_arguments():
    from agentco.lang.python.plan_repair import drop_broken_checks

    def step(args):
        return {"args": args, "exit_code": 0, "stdout": "1", "check_stdout": True}

    steps = [
        step(["python -m ledger --db 'my ledger.db' add 12.5 food"]),
        step(["python3", "-m", "ledger", "balance"]),
        step(["python -m ledger", "--db", "l.db", "keys"]),
        step(["-m", "ledger", "--db", "l.db", "keys"]),  # already right
        step(["python -m ledger 'unclosed"]),  # a shell could not split it: the model hears of it
    ]
    notes = []
    drop_broken_checks({"value_checks": {}, "command_checks": [{"name": "add", "files": [], "steps": steps}]}, notes)
    assert [s["args"] for s in steps] == [
        ["-m", "ledger", "--db", "my ledger.db", "add", "12.5", "food"],
        ["-m", "ledger", "balance"],
        ["-m", "ledger", "--db", "l.db", "keys"],
        ["-m", "ledger", "--db", "l.db", "keys"],
        ["python -m ledger 'unclosed"],
    ]
    assert len(notes) == 3 and notes[1] == "test plan: add: the command 'python3 -m ledger balance' run as " + repr(
        ["-m", "ledger", "balance"]
    )


async def test_a_plan_with_one_broken_check_is_kept_without_it(tmp_path):
    from agentco.testing.company import ROMAN, company_model

    plan = json.loads(json.dumps(ROMAN.tests))
    group = next(iter(plan["value_checks"].values()))
    group.append({"name": "bad", "code": ["try:", "    to_roman(0)", "except ValueError:", "    raise"],
                  "expected": None, "raises": ""})  # fmt: skip
    script = ROMAN.__class__("roman", ROMAN.files, plan)
    model = company_model(script)
    outcome = await run_company(IDEA, CompanyOptions(workspace=tmp_path), LLMClient(model, Meter()))
    assert outcome.summary["status"] == "passed"
    assert [r.schema_name for r in model.requests].count("TestPlan") == 1
    assert any(note.startswith("test plan: dropped 1 of") for note in outcome.notes)


def test_the_mechanical_repair_applies_without_the_tolerant_json_repair_too():
    notes = []
    data = prd_data(user_stories=["a", "a"])
    assert JsonOutput(PRD, repair=False, normalise=lambda d: fit(PRD, d, notes)).parse(
        json.dumps(data)
    ).user_stories == ["a"]
    assert notes == ["user_stories: dropped 1 repeated items"]


def test_a_method_listed_as_the_expression_that_calls_it_becomes_the_special_method():
    schema = design_for([], PythonToolchain().path_problem)
    raw = {**ROMAN.design(), "file_list": ["lru.py"]}
    methods = ["get(key, default=None)", "len(cache)", "key in cache", "__len__(self)", "hash(key)", "str(cache)"]
    raw["data_structures"] = [{"file": "lru.py", "name": "LRUCache", "attributes": [], "methods": methods}]
    notes = []
    toolchain = PythonToolchain()
    normalise = design_normaliser(schema, [], notes, toolchain.special_method)
    design = JsonOutput(schema, normalise=normalise).parse(json.dumps(raw))
    # len(cache) and __len__(self) are one method, kept once; hash(key) may be a method of its own
    assert design.data_structures[0].methods == [
        "get(key, default=None)",
        "__len__(self)",
        "__contains__(self, item)",
        "hash(key)",
        "__str__(self)",
    ]
    assert notes == [
        "LRUCache: the method listed as 'len(cache)' is __len__(self)",
        "LRUCache: the method listed as 'key in cache' is __contains__(self, item)",
        "LRUCache: the method listed as 'str(cache)' is __str__(self)",
    ]


async def test_the_engineer_is_told_which_special_methods_the_requirements_expressions_need(tmp_path):
    idea = IDEA + " `len(numerals)` is how many are known and `'X' in numerals` tells whether one is; `f(x) == 2`."
    model = FunctionModel(ROMAN.answer)
    await run_company(idea, CompanyOptions(workspace=tmp_path), LLMClient(model, Meter()))
    code_prompt = next(r for r in model.requests if r.schema_name == "file roman.py").messages[-1]["content"]
    assert "`len(numerals)`, `'X' in numerals` on an object of a class this file defines" in code_prompt
    assert "implements `__len__`, `__contains__`" in code_prompt
    plain = FunctionModel(ROMAN.answer)
    await run_company(IDEA, CompanyOptions(workspace=tmp_path / "plain"), LLMClient(plain, Meter()))
    assert not any("special methods" in r.messages[-1]["content"] for r in plain.requests)


def test_an_entry_point_the_prd_adds_under_a_name_the_requirement_does_not_give_is_dropped():
    from agentco.company.repairs import prd_normaliser
    from agentco.company.schemas import prd_for

    schema = prd_for(PythonToolchain().entry_points_hint, small=True)
    named = PythonToolchain().entry_points_in("Run `python -m ini2json PATH`; the package `ini2json/`.")
    listed = [{"kind": "command", "name": "ini2json"}, {"kind": "command", "name": "python"}]
    notes = []
    prd = JsonOutput(schema, normalise=prd_normaliser(schema, named, notes)).parse(
        json.dumps(prd_data(entry_points=listed))
    )
    assert [(e.kind, e.name) for e in prd.entry_points] == [("command", "ini2json")]
    assert notes == ["entry_points: dropped command 'python', which the requirement does not name (not at all)"]
    # under the requirement's own name, only the kinds it gives: `roman.py` is a module, not a package
    roman = PythonToolchain().entry_points_in("Write `roman.py` with to_roman(n).")
    both = [{"kind": "module", "name": "roman"}, {"kind": "package", "name": "roman"}]
    prd = JsonOutput(schema, normalise=prd_normaliser(schema, roman, [])).parse(json.dumps(prd_data(entry_points=both)))
    assert [(e.kind, e.name) for e in prd.entry_points] == [("module", "roman")]
    # and the fallback design of a module and a package of one name keeps one of them (it crashed the run)
    from agentco.company.fallbacks import minimal_design

    design = minimal_design(design_for([], PythonToolchain().path_problem), "Write roman.", "roman",
                            [EntryPoint(kind="module", name="roman"), EntryPoint(kind="package", name="roman")])  # fmt: skip
    assert design.file_list == ["roman/__init__.py"]
    # a requirement that names no entry point leaves the PRD's own choice alone
    kept = JsonOutput(schema, normalise=prd_normaliser(schema, [], [])).parse(json.dumps(prd_data(entry_points=listed)))
    assert len(kept.entry_points) == 2


def test_a_class_the_design_invents_for_functions_the_requirement_calls_by_name_becomes_the_modules_functions():
    schema = design_for([], PythonToolchain().path_problem)
    raw = {**ROMAN.design(), "file_list": ["intervals.py"]}
    methods = ["__init__(self, start, end)", "merge(self, other)", "free_slots(self, busy, a, b)"]
    raw["data_structures"] = [
        {"file": "intervals.py", "name": "Interval", "attributes": ["start: float"], "methods": methods}
    ]
    requirement = (
        "A module `intervals.py`: `merge([(5, 7), (1, 3)]) == [(1, 3), (5, 7)]` and `free_slots([], 8, 9) == [(8, 9)]`."
    )
    toolchain = PythonToolchain()
    assert toolchain.called_functions(requirement) == ["merge", "free_slots"]
    notes = []
    normalise = design_normaliser(schema, [], notes, toolchain.special_method, toolchain.called_functions(requirement))
    design = JsonOutput(schema, normalise=normalise).parse(json.dumps(raw))
    [entry] = design.data_structures
    assert (entry.name, entry.methods, entry.attributes) == ("intervals", methods[1:], [])
    assert notes == ["Interval: its methods free_slots, merge are functions the requirement calls by name; "
                     "listed as the functions of module intervals"]  # fmt: skip
    # a requirement that speaks of a class keeps its classes
    assert toolchain.called_functions("A class `Stack`: `peek()` returns `3`.") == []


def test_functions_the_requirement_declares_are_its_functions_and_stray_files_leave_the_design():
    requirement = (
        "Write `roman.py` with two functions: `to_roman(n: int) -> str` and `from_roman(s: str) -> int`; "
        "`len(s)` and `json.dumps(x)` are Python's."
    )
    toolchain = PythonToolchain()
    assert toolchain.called_functions(requirement) == ["to_roman", "from_roman"]
    assert toolchain.called_functions(requirement.replace("functions", "methods")) == []
    assert toolchain.called_functions("Write `roman.py` with `to_roman(n: int) -> str`.") == []  # no word of functions

    schema = design_for([EntryPoint(kind="module", name="roman")], toolchain.path_problem)
    raw = {**ROMAN.design(), "file_list": ["roman.py", "__init__.py", "README.md"]}
    methods = ["__init__(self, value)", "to_roman(self)", "from_roman(self)"]
    raw["data_structures"] = [{"file": "roman.py", "name": "Roman", "attributes": ["value"], "methods": methods}]
    notes = []
    normalise = design_normaliser(schema, [], notes, toolchain.special_method, toolchain.called_functions(requirement),
                                  toolchain.stray_file)  # fmt: skip
    design = JsonOutput(schema, normalise=normalise).parse(json.dumps(raw))

    assert design.file_list == ["roman.py"]
    [entry] = design.data_structures
    assert (entry.name, entry.methods, entry.attributes) == ("roman", methods[1:], [])
    assert notes[:2] == [
        "dropped __init__.py from the design: the project root is not a package",
        "dropped README.md from the design: not a Python source file",
    ]
    # a list of nothing but strays is left to the schema, which says what is wrong
    assert design_normaliser(schema, [], [], stray=toolchain.stray_file)({"file_list": ["README.md"]})["file_list"] == [
        "README.md"
    ]
