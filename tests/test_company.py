"""The whole software company on the scripted model: a known project comes out, tested in the sandbox."""

import builtins
import json
import re
import subprocess
from pathlib import Path

import pytest

from agentco.company.roles import DOCUMENTS as DOCS  # noqa: E402
from agentco.company.run import run_company
from agentco.company.workshop import CompanyOptions
from agentco.errors import ConfigError
from agentco.llm.client import LLMClient
from agentco.llm.meter import Meter
from agentco.store import RunStore
from agentco.testing.company import ROMAN, ProjectScript, company_model


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


async def test_the_company_builds_a_known_project_whose_tests_pass(tmp_path):
    model = company_model(ROMAN)
    llm = LLMClient(model, Meter())
    with RunStore.open(tmp_path) as store:
        run_id = store.new_run_id()
        store.create_run(run_id, "roman numerals", "", {})
        outcome = await run_company(
            "Write roman.py with to_roman and from_roman.",
            CompanyOptions(workspace=tmp_path),
            llm,
            store=store,
            run_id=run_id,
        )
        record = store.get_run(run_id)
        steps = [s.name for s in store.steps(run_id)]
        artifacts = {a.path for a in store.artifacts(run_id)}

    root = tmp_path / "roman"
    assert outcome.project == root.resolve()
    for path in [
        *DOCS,
        "roman.py",
        "tests/test_roman.py",
        ".agentco/test_plan.json",
        "requirements.txt",
        "README.md",
        ".agentco/summary.json",
    ]:
        assert (root / path).is_file(), path
    assert (root / "docs/diagrams/class_diagram.mmd").read_text().startswith("classDiagram")
    assert "quadrantChart" in (root / "docs/prd.md").read_text()
    assert "sequenceDiagram" in (root / "docs/design.md").read_text()

    summary = json.loads((root / ".agentco/summary.json").read_text())
    assert summary["status"] == "passed"
    assert summary["tests_passed"] == 8 and summary["tests_failed"] == 0
    assert summary["llm_calls"] == len(model.requests) == 6  # PRD, design, tasks, code, review, tests
    for key in ("prompt_tokens", "completion_tokens", "cost_usd", "wall_s"):
        assert key in summary

    log = git(root, "log", "--format=%an|%s").splitlines()[::-1]
    authors = [line.split("|")[0] for line in log]
    assert authors == [
        "Alice (Product Manager)",
        "Bob (Architect)",
        "Eve (Project Manager)",
        "Alex (Engineer)",
        "Edward (QA Engineer)",
        "agentco",
    ]
    assert git(root, "status", "--porcelain") == ""

    assert record.status == "completed" and record.llm_calls == 6
    assert steps[:4] == ["prd", "design", "tasks", "code"]
    assert {"docs/prd.md", "roman.py", "tests/test_roman.py"} <= artifacts


@pytest.mark.parametrize(
    ("bug", "fix_sees", "triaged"),
    [
        # a wrong result: the model decides whether the code or the test is wrong
        (('raise ValueError(f"out of range: {n!r}")', "return ''"), "should raise ValueError", True),
        # a crash inside the code with an error the requirement never names: the code, without asking
        # (a crash the linter cannot foresee: it would find `"".join(out).missing()` before the tests)
        (
            ('    return "".join(out)', '    return {}["".join(out)]'),
            "KeyError: 'IV' (at roman.py:14: return {}[\"\".join(out)])",
            False,
        ),
    ],
)
async def test_failing_tests_go_back_to_the_engineer_and_get_fixed(tmp_path, bug, fix_sees, triaged):
    broken = ROMAN.files["roman.py"].replace(*bug)
    script = ProjectScript("roman", {"roman.py": broken}, ROMAN.tests, fixes={"roman.py": [ROMAN.files["roman.py"]]})
    model = company_model(script)
    outcome = await run_company("Write roman.py.", CompanyOptions(workspace=tmp_path), LLMClient(model, Meter()))
    assert outcome.summary["status"] == "passed"
    names = [r.schema_name for r in model.requests]
    assert ("Triage" in names) == triaged and names.count("file roman.py") == 2
    [fix] = [r for r in model.requests if r.schema_name == "file roman.py"][1:]
    assert fix_sees in fix.messages[-1]["content"]
    assert "Fix roman.py" in git(tmp_path / "roman", "log", "--format=%s")


async def test_documents_only_and_no_tests(tmp_path):
    model = company_model(ROMAN)
    outcome = await run_company("x", CompanyOptions(workspace=tmp_path, implement=False), LLMClient(model, Meter()))
    assert outcome.summary["status"] == "documents_only"
    assert not (tmp_path / "roman" / "roman.py").exists()
    assert [r.schema_name for r in model.requests] == ["PRD", "SystemDesign", "TaskBreakdown"]


async def test_an_existing_project_folder_is_never_overwritten(tmp_path):
    (tmp_path / "roman").mkdir()
    (tmp_path / "roman" / "mine.txt").write_text("precious")
    with pytest.raises(ConfigError, match="already exists"):
        await run_company("x", CompanyOptions(workspace=tmp_path), LLMClient(company_model(ROMAN), Meter()))
    assert (tmp_path / "roman" / "mine.txt").read_text() == "precious"


async def test_standard_library_requirements_are_dropped(tmp_path):
    script = ProjectScript("roman", ROMAN.files, ROMAN.tests, packages=["sqlite3", "ast==2.4.0", "json"])
    outcome = await run_company(
        "x", CompanyOptions(workspace=tmp_path, run_tests=False), LLMClient(company_model(script), Meter())
    )
    assert (tmp_path / "roman" / "requirements.txt").read_text() == ""
    assert any("sqlite3" in note for note in outcome.notes)


async def test_a_model_that_cannot_plan_tests_still_ends_with_a_summary(tmp_path):
    from agentco.llm.fake import FunctionModel

    def answer(request):
        return "no idea" if request.schema_name in {"TestPlan", "Review"} else ROMAN.answer(request)

    outcome = await run_company("x", CompanyOptions(workspace=tmp_path), LLMClient(FunctionModel(answer), Meter()))
    assert outcome.summary["status"] == "untested"
    assert any("no tests" in note for note in outcome.notes)
    assert any("review of roman.py skipped" in note for note in outcome.notes)
    assert (tmp_path / "roman" / "roman.py").read_text() == ROMAN.files["roman.py"]


async def test_a_plan_that_cannot_cover_the_requirement_is_narrowed_not_dropped(tmp_path):
    model = company_model(ROMAN)  # its plan has no check of the KeyError the requirement names
    idea = "Write roman.py with to_roman and from_roman; a bad numeral raises KeyError."
    outcome = await run_company(idea, CompanyOptions(workspace=tmp_path), LLMClient(model, Meter()))
    assert outcome.summary["status"] == "passed" and outcome.summary["tests_passed"] > 0
    assert any(note.startswith("test plan narrowed") and "KeyError" in note for note in outcome.notes)
    plans = [r.json_schema["properties"]["value_checks"] for r in model.requests if r.schema_name == "TestPlan"]
    assert (
        len(plans) == 3 and "KeyError" in plans[0]["required"] and "required" not in plans[2]
    )  # 2 tries (the second, a repeat of the first, ends them: no third call), then narrowed


def test_a_module_and_a_package_of_the_same_name_and_a_module_that_hides_the_standard_library_are_refused():
    from pydantic import ValidationError

    from agentco.testing.company import PythonDesign as SystemDesign

    design = ROMAN.design()
    SystemDesign.model_validate(design)
    with pytest.raises(ValidationError, match="same import name"):
        SystemDesign.model_validate({**design, "file_list": ["greet.py", "greet/__init__.py"]})
    for hides in ("csv.py", "json/__init__.py"):
        with pytest.raises(ValidationError, match="would hide Python's own"):
            SystemDesign.model_validate({**design, "file_list": ["roman.py", hides]})
    SystemDesign.model_validate({**design, "file_list": ["roman.py", "roman_tools/argparse.py"]})


def test_the_design_must_provide_the_entry_points_the_requirement_names():
    from pydantic import ValidationError

    from agentco.company.schemas import design_for
    from agentco.lang.python.entry_points import entry_points_in

    # the user's words name them even when the PRD's list is empty (a 1.5B model left it empty)
    requirement = "Running `python -m csvstats FILE` prints stats; `fmt.py` formats; the folder `csvstats/` ..."
    named = entry_points_in(requirement)
    assert [(e.kind, e.name) for e in named] == [("command", "csvstats"), ("module", "fmt"), ("package", "csvstats")]
    design = {**ROMAN.design(), "data_structures": []}
    with pytest.raises(ValidationError, match=r"python -m csvstats`: the file list needs csvstats/__init__.py"):
        design_for(named).model_validate({**design, "file_list": ["csvstats/stats.py", "fmt.py"]})
    design_for(named).model_validate(
        {**design, "file_list": ["csvstats/__init__.py", "csvstats/__main__.py", "fmt.py"]}
    )


def test_a_check_cannot_raise_none():
    from pydantic import ValidationError

    from agentco.lang.python.test_plan import ValueCheck

    with pytest.raises(ValidationError, match="is not an exception"):
        ValueCheck(name="x_y", code=["f()"], expected="1", raises="None")


@pytest.mark.parametrize(
    ("code", "raises", "error"),
    [
        (["acct = Account('ann')"], "", "the last code line is a statement, \"acct = Account('ann')\"; end with"),
        (["raise InsufficientFunds()"], "InsufficientFunds", "must not raise by itself"),
        (["x = (", "x"], "", "c: the code before the last line is not valid Python"),
    ],
)
def test_a_check_says_how_its_code_is_wrong(code, raises, error):
    """A 1.5B model ended checks with an assignment or a bare raise; the message says what to write instead."""
    from pydantic import ValidationError

    from agentco.lang.python.test_plan import ValueCheck

    with pytest.raises(ValidationError, match=re.escape(error)):
        ValueCheck(name="c", code=code, expected=None, raises=raises)
    ValueCheck(name="c", code=["a = A()", "a.b = 1"], expected=None, raises="AttributeError")  # a statement may raise
    # the lines before the last are one block: a `with` may span them, and what they bind is defined
    block = ValueCheck(name="c", code=["import csv", "with open('f') as fh:", "    rows = list(csv.reader(fh))",
                                       "len(rows)"], expected=1, raises="")  # fmt: skip
    assert block.undefined_names(set(dir(builtins))) == []


def _plan(**overrides):
    plan = {"imports": ["from roman import to_roman"], "value_checks": {}, "command_checks": []}
    check = {"name": "four", "code": ["to_roman(4)"], "expected": "IV", "raises": ""}
    return {**plan, "value_checks": {"to_roman": [check]}, **overrides}


def test_expected_values_are_json_and_render_as_python(tmp_path):
    """A small model writes "IV" for the string IV; the rendered test compares with 'IV', tuples as lists."""
    from agentco.lang.python.test_plan import TestPlan
    from agentco.templates import render

    checks = [
        {"name": "s", "code": ["to_roman(4)"], "expected": "IV", "raises": ""},
        {"name": "pairs", "code": ["[('a', 1)]"], "expected": [["a", 1]], "raises": ""},
        {"name": "ratio", "code": ["1 / 3"], "expected": 0.3333333, "raises": ""},
        {"name": "holds", "code": ["n = 2", "assert to_roman(n) == 'II'"], "expected": "II", "raises": ""},
    ]
    plan = TestPlan.model_validate(_plan(value_checks={"to_roman": checks[:1], "other": checks[1:]}))
    text = render("lang/python/test_file.py.j2", plan=plan)
    assert "assert to_roman(4) == 'IV'" in text
    assert "assert plain([('a', 1)]) == [['a', 1]]" in text
    assert "pytest.approx(0.3333333)" in text
    assert "    n = 2\n    assert to_roman(n) == 'II'" in text  # an assert is a check by itself
    assert plan.expectations()["test_holds_4"] == "`n = 2; assert to_roman(n) == 'II'` should hold"
    compile(text, "test_x.py", "exec")


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"imports": []}, "four: to_roman is not defined"),
        ({"value_checks": {"f": [{"name": "x", "code": ["f(1)"], "expected": 1, "raises": ""}]}},
         "f is not defined"),
        ({"value_checks": {"e": [{"name": "x", "code": ["to_roman(0)"], "expected": None,
                                  "raises": "RomanError"}]}}, "RomanError is not defined"),
    ],
)  # fmt: skip
def test_a_check_may_only_use_names_it_imports_or_assigns(change, error):
    from pydantic import ValidationError

    from agentco.lang.python.test_plan import TestPlan

    with pytest.raises(ValidationError, match=error):
        TestPlan.model_validate(_plan(**change))
    ok = {"name": "x", "code": ["n = 4", "f = lambda k: k", "[f(i) for i in range(n)]"],
          "expected": [0, 1, 2, 3], "raises": ""}  # fmt: skip
    TestPlan.model_validate(_plan(value_checks={"f": [ok]}))


def test_every_problem_of_a_plan_is_reported_at_once():
    """One correction can fix them all: a small model that hears of one problem per attempt runs out of attempts."""
    from pydantic import ValidationError

    from agentco.lang.python.test_plan import test_plan_for

    uses = {"name": "uses", "code": ["acct.deposit(0)"], "expected": None, "raises": ""}
    broken = {"name": "broken", "code": ["acct = Account(", "acct.balance"], "expected": 0, "raises": "None"}
    plan = test_plan_for(["bank"], [], must_check=["Account", "ValueError"])
    with pytest.raises(ValidationError) as caught:  # each check's own problems
        plan.model_validate(_plan(value_checks={"Account": [broken, {**broken, "name": "again"}]}))
    text = str(caught.value)
    assert "broken: the code before the last line is not valid" in text and "again: the code before" in text
    assert 'broken: raises "None" is not an exception' in text
    with pytest.raises(ValidationError) as caught:  # then the plan's
        plan.model_validate(_plan(value_checks={"Account": [uses], "other": [{**uses, "name": "more"}]}))
    text = str(caught.value)
    assert "uses: acct is not defined" in text and "more: acct is not defined" in text
    assert "a group of checks for each of: ValueError" in text and "uses: a check in the group Account must use" in text


def test_the_plan_imports_what_its_checks_use_from_where_it_is_defined():
    """A small model wrote `from bank import ValueError` and dropped every import when told: it writes none now."""
    from pydantic import ValidationError

    from agentco.lang.python import PythonToolchain
    from agentco.lang.python.test_plan import test_plan_for

    code = {"bank.py": "class Account: ...\nclass InsufficientFunds(Exception): ...\ndef _hidden(): ...\n",
            "util/fmt.py": "def money(x): ...\n", "util/__main__.py": "def main(): ...\n"}  # fmt: skip
    provided = PythonToolchain().public_names(code)
    assert provided == {"Account": "bank", "InsufficientFunds": "bank", "money": "util.fmt"}
    plan = test_plan_for(["bank", "util.fmt"], [], must_check=["Account", "ValueError"], provided=provided)
    assert "imports" not in plan.model_json_schema()["properties"]
    check = {"name": "c", "code": ["a = Account('ann')", "math.floor(money(a))"], "expected": 0, "raises": ""}
    bad = {"name": "bad", "code": ["Account('ann').take(-1)"], "expected": None, "raises": "ValueError"}
    done = plan.model_validate({"value_checks": {"Account": [check], "ValueError": [bad]}, "command_checks": []})
    assert done.imports == ["from bank import Account", "import math", "from util.fmt import money"]
    with pytest.raises(ValidationError, match="Nope is not defined; the project has no such name"):
        plan.model_validate({"value_checks": {"Account": [check], "ValueError": [{**bad, "raises": "Nope"}]},
                             "command_checks": []})  # fmt: skip


def test_the_plan_must_fit_the_project():
    from pydantic import ValidationError

    from agentco.lang.python.test_plan import test_plan_for

    library = test_plan_for(["roman"], [])
    assert library.model_json_schema()["properties"]["command_checks"]["maxItems"] == 0
    step = {"args": ["-m", "roman", "4"], "exit_code": 0, "stdout": "IV", "check_stdout": True}
    cli = [{"name": "cli", "files": [], "steps": [step]}]
    with pytest.raises(ValidationError, match="at most 0"):
        library.model_validate(_plan(command_checks=cli))
    with pytest.raises(ValidationError, match="there is no module 'numerals'"):
        library.model_validate(_plan(imports=["from numerals import to_roman"]))
    library.model_validate(_plan(imports=["import json", "from roman import to_roman"]))

    program = test_plan_for(["roman"], ["roman"])
    program.model_validate(_plan(command_checks=cli))
    for args, error in [(["python", "-m", "roman"], "drop the leading"), (["-m", "other"], "not a program")]:
        with pytest.raises(ValidationError, match=error):
            program.model_validate(
                _plan(command_checks=[{"name": "cli", "files": [], "steps": [{**step, "args": args}]}])
            )

    covering = test_plan_for(["roman"], [], must_check=["to_roman", "from_roman", "ValueError"])
    groups = covering.model_json_schema()["properties"]["value_checks"]
    assert groups["required"] == ["to_roman", "from_roman", "ValueError"] and not groups["additionalProperties"]
    with pytest.raises(ValidationError, match="a group of checks for each of: from_roman, ValueError"):
        covering.model_validate(_plan())
    both = _plan(imports=["from roman import to_roman, from_roman"])
    bad = {"name": "bad", "code": ["from_roman('IIII')"], "expected": None, "raises": "ValueError"}
    back = {"name": "back", "code": ["from_roman('IV')"], "expected": 4, "raises": ""}
    covering.model_validate(
        {**both, "value_checks": {**both["value_checks"], "from_roman": [back], "ValueError": [bad]}}
    )
    with pytest.raises(ValidationError, match='back: a check in the group ValueError must have raises "ValueError"'):
        covering.model_validate(
            {**both, "value_checks": {**both["value_checks"], "from_roman": [back], "ValueError": [back]}}
        )
    with pytest.raises(ValidationError, match="bad: a check in the group to_roman must use to_roman"):
        covering.model_validate(
            {**both, "value_checks": {"to_roman": [bad], "from_roman": [back], "ValueError": [bad]}}
        )
    program = test_plan_for(["tool"], ["tool"], must_check=["tool"])
    with pytest.raises(ValidationError, match="at least 1 item"):
        program.model_validate(_plan(imports=[], value_checks={}))
    # a requirement that describes only its command line is checked through it, not through its insides
    assert program.model_json_schema()["properties"]["value_checks"]["additionalProperties"] is False
    tool_step = {**step, "args": ["-m", "tool", "4"]}
    with pytest.raises(ValidationError, match="value_checks\n.*at most 0"):
        program.model_validate(_plan(command_checks=[{"name": "cli", "files": [], "steps": [tool_step]}]))
    program.model_validate(
        _plan(value_checks={}, imports=[], command_checks=[{"name": "cli", "files": [], "steps": [tool_step]}])
    )

    previous = library.model_validate(_plan())
    with pytest.raises(ValidationError, match="identical to the current one"):
        test_plan_for(["roman"], [], previous).model_validate(_plan())


def test_every_command_check_passes_the_options_the_requirements_usage_line_requires():
    from pydantic import ValidationError

    from agentco.lang.python.entry_points import usage_lines
    from agentco.lang.python.test_plan import test_plan_for

    requirement = "Run it as `python -m kv --db FILE [--quiet] COMMAND ...` from the root; `python -m kv` alone: help."
    usage = usage_lines(requirement)
    assert usage == {"kv": "python -m kv --db FILE [--quiet] COMMAND ..."}
    plan = test_plan_for(["kv"], ["kv"], must_check=["kv"], usage=usage)

    def check(*args: str) -> dict:
        step = {"args": ["-m", "kv", *args], "exit_code": 0, "stdout": "", "check_stdout": False}
        return {"imports": [], "value_checks": {}, "command_checks": [{"name": "get", "files": [], "steps": [step]}]}

    with pytest.raises(ValidationError, match=r"every run of -m kv needs --db, .*`python -m kv --db FILE \[--quiet\]"):
        plan.model_validate(check("get", "a"))
    plan.model_validate(check("--db", "{tmp}/db.json", "get", "a"))  # --quiet is optional


def test_programs_are_packages_with_a_main_and_modules_with_a_main_guard():
    from agentco.lang.python import PythonToolchain

    files = {
        "csvstats/__init__.py": "",
        "csvstats/__main__.py": "main()",
        "tool.py": 'if __name__ == "__main__":\n    run()',
        "lib.py": "def f(): pass",
    }
    assert PythonToolchain().programs(files) == ["csvstats", "tool"]


def test_the_names_a_plan_must_check_come_from_the_requirement():
    from agentco.lang.python.test_plan import names_to_check

    requirement = "Write `bank.py` with `Account` and `InsufficientFunds(Exception)`; bad amounts raise ValueError."
    defined = {"Account", "InsufficientFunds", "_helper", "format_amount", "bank"}
    assert names_to_check(requirement, defined) == ["bank", "Account", "InsufficientFunds", "ValueError"]


@pytest.mark.parametrize("mended", [True, False])
async def test_code_the_linter_faults_is_rewritten_once_and_the_rewrite_kept_only_if_better(tmp_path, mended):
    good = ROMAN.files["roman.py"]
    faulty = good + "\n\ndef extra():\n    return lookup(4)\n"  # a name no code defines
    rewrite = good if mended else faulty + "\n\ndef more():\n    return search(5)\n"
    script = ProjectScript("roman", {"roman.py": faulty}, ROMAN.tests, fixes={"roman.py": [rewrite]})
    model = company_model(script)
    outcome = await run_company("Write roman.py.", CompanyOptions(workspace=tmp_path), LLMClient(model, Meter()))

    names = [r.schema_name for r in model.requests]
    assert names.count("file roman.py") == 2 and "Review" not in names  # the finding replaces the review
    [lint_fix] = [r for r in model.requests if r.schema_name == "file roman.py"][1:]
    assert "Undefined variable 'lookup'" in lint_fix.messages[-1]["content"]
    kept = (outcome.project / "roman.py").read_text()
    assert kept == (good if mended else faulty)
    assert any("lint findings in roman.py left" in note for note in outcome.notes) != mended


async def test_a_fix_that_makes_more_tests_fail_is_undone(tmp_path):
    good = ROMAN.files["roman.py"]
    broken = good.replace('raise ValueError(f"out of range: {n!r}")', "return ''")
    worse = broken.replace('    return "".join(out)', '    return "".join(out).lower()')
    script = ProjectScript("roman", {"roman.py": broken}, ROMAN.tests, fixes={"roman.py": [worse]})
    model = company_model(script)
    outcome = await run_company("Write roman.py.", CompanyOptions(workspace=tmp_path), LLMClient(model, Meter()))

    assert (outcome.project / "roman.py").read_text() == broken  # the fix passed fewer tests than this
    assert any(note.startswith("went back to the code that passed") for note in outcome.notes)
    assert "Go back to the code that passed" in git(outcome.project, "log", "--format=%s")
    assert outcome.summary["tests_failed"] == 1 and outcome.summary["tests_passed"] > 0


def test_command_checks_run_in_their_own_folder_so_files_may_be_named_plainly(tmp_path):
    from agentco.lang.python import PythonToolchain
    from agentco.lang.python.test_plan import test_plan_for
    from agentco.templates import render

    (tmp_path / "wc").mkdir()
    (tmp_path / "wc" / "__init__.py").write_text("")
    (tmp_path / "wc" / "__main__.py").write_text(
        "import sys\nwith open(sys.argv[1]) as f:\n    print(len(f.read().split()))\n"
    )
    (tmp_path / "tests").mkdir()

    def step(path: str) -> dict:
        return {"args": ["-m", "wc", path], "exit_code": 0, "stdout": "3", "check_stdout": True}

    files = [{"name": "words.txt", "content": "one two three"}]
    checks = [{"name": "plain", "files": files, "steps": [step("words.txt")]},
              {"name": "in_tmp", "files": files, "steps": [step("{tmp}/words.txt")]}]  # fmt: skip
    plan = test_plan_for(["wc"], ["wc"]).model_validate({"imports": [], "value_checks": {}, "command_checks": checks})
    (tmp_path / "tests" / "test_wc.py").write_text(render("lang/python/test_file.py.j2", plan=plan) + "\n")

    report = PythonToolchain(cache_dir=tmp_path / "cache").run_tests(tmp_path, ["tests/test_wc.py"])
    assert (report.passed, report.failed + report.errors) == (2, 0), report.summary()


async def test_a_fix_returned_unchanged_twice_is_written_afresh_without_the_old_code(tmp_path):
    good = ROMAN.files["roman.py"]
    broken = good + "\nfrom roman_tables import VALUES\n"  # a module the project does not have
    # anchored on its code: refused, repeated word for word (which ends the tries), then written afresh
    fixes = {"roman.py": [broken, broken, good]}
    model = company_model(ProjectScript("roman", {"roman.py": broken}, ROMAN.tests, fixes=fixes))
    outcome = await run_company("Write roman.py.", CompanyOptions(workspace=tmp_path), LLMClient(model, Meter()))

    assert outcome.summary["status"] == "passed" and (outcome.project / "roman.py").read_text() == good
    fix_prompts = [r.messages[1]["content"] for r in model.requests if r.schema_name == "file roman.py"][1:]
    assert len(fix_prompts) == 3 and "ModuleNotFoundError" in fix_prompts[2]  # 2 tries, then afresh
    assert "Current version of" in fix_prompts[0] and "Current version of" not in fix_prompts[2]


async def test_the_second_fix_of_a_file_is_written_afresh_and_the_better_version_is_kept(tmp_path):
    good = ROMAN.files["roman.py"]
    broken = good.replace('raise ValueError(f"out of range: {n!r}")', "return ''")
    still_broken = broken.replace("def to_roman", "# edited around the bug\ndef to_roman")
    fixes = {"roman.py": [still_broken, good]}
    model = company_model(ProjectScript("roman", {"roman.py": broken}, ROMAN.tests, fixes=fixes))
    outcome = await run_company("Write roman.py.", CompanyOptions(workspace=tmp_path), LLMClient(model, Meter()))

    fix_prompts = [r.messages[1]["content"] for r in model.requests if r.schema_name == "file roman.py"][1:]
    assert len(fix_prompts) == 2
    assert "Current version of" in fix_prompts[0]  # the first fix edits the code it is shown
    # the second is written from the requirement and the failures alone
    assert "Current version of" not in fix_prompts[1] and "Fix these problems" in fix_prompts[1]
    assert outcome.summary["status"] == "passed" and (outcome.project / "roman.py").read_text() == good


@pytest.mark.parametrize("fix", [None, "from . import main\n\n\ndef helper():\n    pass\n"])  # unchanged; changed
async def test_a_package_init_that_cannot_be_fixed_is_left_empty_and_the_project_still_runs(tmp_path, fix):
    files = {"roman.py": ROMAN.files["roman.py"], "extras/__init__.py": "from . import main\n"}
    fixes = {"extras/__init__.py": [fix] * 3} if fix else {}  # a fix that still does not import
    model = company_model(ProjectScript("roman", files, ROMAN.tests, fixes=fixes))
    outcome = await run_company("Write roman.py.", CompanyOptions(workspace=tmp_path), LLMClient(model, Meter()))

    assert (outcome.project / "extras" / "__init__.py").read_text() == ""
    assert any(
        note.startswith("extras/__init__.py still did not import after its fix; kept as ''") for note in outcome.notes
    )
    assert outcome.summary["status"] == "passed"


async def test_a_standard_module_used_but_never_imported_is_imported_without_asking_the_model(tmp_path):
    lacking = ROMAN.files["roman.py"] + "\n\ndef stop(message):\n    print(message, file=sys.stderr)\n    sys.exit(2)\n"
    model = company_model(ProjectScript("roman", {"roman.py": lacking}, ROMAN.tests))
    outcome = await run_company("Write roman.py.", CompanyOptions(workspace=tmp_path), LLMClient(model, Meter()))

    written = (outcome.project / "roman.py").read_text()
    assert written.count("import sys\n") == 1 and written.replace("import sys\n", "", 1) == lacking
    assert "roman.py: added `import sys`: the file uses `sys` but never imported it" in outcome.notes
    # the linter found nothing left, so no rewrite was asked for
    assert [r.schema_name for r in model.requests].count("file roman.py") == 1
    assert outcome.summary["status"] == "passed"


def test_the_mend_adds_an_import_after_the_docstring_and_future_imports_only_where_nothing_binds_the_name():
    from agentco.lang.python.mend import mend_source

    code = '"""Doc."""\nfrom __future__ import annotations\n\ndef f(x):\n    return os.path.exists(x)\n'
    mended, notes = mend_source("m.py", code)
    assert mended.splitlines()[:3] == ['"""Doc."""', "from __future__ import annotations", "import os"]
    assert notes == ["added `import os`: the file uses `os` but never imported it"]
    for untouched in ("def f(json):\n    return json.dumps(1)\n", "import sys\nsys.exit(1)\n",
                      "string = 'ab'\nstring.upper()\n", "def f(:\n", "x = thing.attr\n"):  # fmt: skip
        assert mend_source("m.py", untouched) == (untouched, [])


def test_the_mend_imports_a_type_name_of_typing_that_the_file_uses_and_never_binds():
    from agentco.lang.python.mend import mend_source

    code = "class Any:\n    pass\n\n\ndef f(x: Optional[Any]) -> Optional[int]:\n    return x\n"
    mended, notes = mend_source("m.py", code)
    assert mended == "from typing import Optional\n" + code  # Any is the file's own class
    assert notes == ["added `from typing import Optional`: the file uses `Optional` but never bound it"]
    bound = "from typing import Optional as Opt\n\n\ndef f(x: Opt[int], List=list) -> List:\n    return x\n"
    assert mend_source("m.py", bound) == (bound, [])


def test_example_code_a_library_module_ends_with_goes_under_a_main_guard_unless_its_definitions_need_it():
    from agentco.lang.python.mend import mend_source

    code = (
        "class Graph:\n    def nodes(self):\n        return []\n\n# Test cases\ng = Graph()\nassert g.nodes() == [1]\n"
    )
    mended, notes = mend_source("graph.py", code)
    assert mended.endswith('# Test cases\nif __name__ == "__main__":\n    g = Graph()\n    assert g.nodes() == [1]\n')
    assert notes == ["moved the code after the last definition (line 6 on), which ran on import, under a main guard"]
    __import__("ast").parse(mended)
    assert mend_source("graph/__main__.py", code) == (code, [])  # a program's main module runs its code
    needed = "def f():\n    return LIMIT\n\nLIMIT = 3\nprint(f())\n"  # LIMIT is the function's
    assert mend_source("m.py", needed) == (needed, [])
    guarded = code + 'if __name__ == "__main__":\n    print(1)\n'  # the model's own guard: left as written
    assert mend_source("m.py", guarded) == (guarded, [])


async def test_a_design_entry_named_after_its_module_reads_as_the_modules_functions_not_a_class(tmp_path):
    model = company_model(ROMAN)
    await run_company("Write roman.py.", CompanyOptions(workspace=tmp_path), LLMClient(model, Meter()))
    [prompt] = [r.messages[-1]["content"] for r in model.requests if r.schema_name == "file roman.py"]
    assert "- module-level functions: -" in prompt and "class roman" not in prompt
