"""Each named policy of the company (agentco.company.policies, and the Python toolchain's hints) on its
own: a real workshop with a real git folder, the real Python toolchain, a scripted model."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agentco.company.policies import (
    UNCHANGED,
    BestSoFar,
    crashed_in_code,
    failure_lines,
    fall_back,
    mend_once,
    narrowed,
    refuse_unchanged,
    rewrite_afresh,
    what_happened,
)
from agentco.company.roles import Engineer
from agentco.company.schemas import FileTask, SystemDesign
from agentco.company.workshop import CompanyOptions, Workshop
from agentco.lang.base import TestCase, TestReport, TestScope
from agentco.lang.python import PythonToolchain
from agentco.lang.python.imports import where_to_import
from agentco.lang.python.test_plan import TestPlan
from agentco.lang.python.testing import failed_line
from agentco.llm.client import LLMClient
from agentco.llm.fake import ScriptedModel
from agentco.llm.meter import Meter
from agentco.testing.company import ROMAN

GOOD = ROMAN.files["roman.py"]
TASK = FileTask(file="roman.py", description="to_roman and from_roman", depends_on=[])


@pytest.fixture
def ws(tmp_path) -> Workshop:
    workshop = Workshop(
        "Write roman.py.", CompanyOptions(workspace=tmp_path), PythonToolchain(cache_dir=tmp_path / "c")
    )
    workshop.open_project("roman")
    workshop.design = SystemDesign.model_validate(ROMAN.design())
    return workshop


def engineer(ws: Workshop, *replies: str) -> tuple[Engineer, ScriptedModel]:
    model = ScriptedModel(replies)
    return Engineer(ws, watch=(), llm=LLMClient(model, Meter())), model


def git_log(root: Path) -> list[str]:
    return subprocess.run(
        ["git", "log", "--format=%an|%s"], cwd=root, capture_output=True, text=True
    ).stdout.splitlines()


def report(*cases: TestCase) -> TestReport:
    return TestReport(list(cases), output_tail="", returncode=1, duration_s=0.1)


def failed(name: str, message: str, files: tuple[str, ...] = (), where: str = "") -> TestCase:
    return TestCase(name, "failed", message, text=message, files=files, where=where)


# --- the engineer's ---------------------------------------------------------------------------
def test_a_fix_that_returns_the_file_unchanged_is_refused():
    assert refuse_unchanged(GOOD, "\n" + GOOD + "  \n").startswith(UNCHANGED)
    assert refuse_unchanged(GOOD, GOOD.replace("IV", "IIII")) is None
    assert refuse_unchanged(None, GOOD) is None  # a first draft has nothing to repeat


async def test_a_model_anchored_on_its_code_writes_the_file_afresh_without_it(ws):
    broken = GOOD.replace("return total", "return -total")
    author, model = engineer(ws, broken, broken, GOOD)
    assert await rewrite_afresh(ws, author.draft, TASK, broken, ["from_roman('IV') gave -4"]) == GOOD
    prompts = [r.messages[-1]["content"] for r in model.requests]
    # two tries shown the code (the second, a word-for-word repeat, is not asked again), then afresh
    assert len(prompts) == 3 and "Current version of" in prompts[0]
    assert "Current version of" not in prompts[2] and "from_roman('IV') gave -4" in prompts[2]
    assert ws.notes == []


async def test_a_file_written_afresh_the_same_as_before_is_no_fix(ws):
    broken = GOOD.replace("return total", "return -total")
    author, model = engineer(ws, broken, broken, broken, broken)
    assert await rewrite_afresh(ws, author.draft, TASK, broken, ["wrong sign"]) is None
    assert ws.notes == ["fix of roman.py failed: unchanged twice, and written afresh, the same as before"]


async def test_a_fix_that_fails_for_another_reason_is_not_written_afresh(ws):
    author, model = engineer(ws, "def f(:\n", "def g(:\n")
    assert await rewrite_afresh(ws, author.draft, TASK, GOOD, ["a problem"]) is None
    assert len(model.requests) == 2  # no third, fresh try: the model did change the code
    assert ws.notes[0].startswith("fix of roman.py failed: model output for file roman.py was still invalid")


async def test_a_fix_written_afresh_is_not_shown_the_code_and_the_same_code_again_is_no_fix(ws):
    from agentco.company.policies import fix_afresh

    assert [fix_afresh(n) for n in (1, 2, 3, 4)] == [False, True, False, True]
    broken = GOOD.replace("return total", "return -total")
    author, model = engineer(ws, GOOD)
    assert await rewrite_afresh(ws, author.draft, TASK, broken, ["wrong sign"], afresh=True) == GOOD
    assert "Current version of" not in model.requests[0].messages[-1]["content"]
    author, model = engineer(ws, broken)
    assert await rewrite_afresh(ws, author.draft, TASK, broken, ["wrong sign"], afresh=True) is None
    assert ws.notes == ["fix of roman.py failed: written afresh, the same as before"]


@pytest.mark.parametrize("better", [True, False])
async def test_a_lint_rewrite_is_tried_once_and_kept_only_with_fewer_findings(ws, better):
    faulty = GOOD + "\n\ndef extra():\n    return lookup(4)\n"  # a name no code defines: one finding
    rewrite = GOOD if better else faulty + "\n\ndef more():\n    return search(5)\n"
    ws.folder.write("roman.py", faulty)
    [finding] = ws.toolchain.lint(ws.folder.root, ["roman.py"])["roman.py"]
    author, model = engineer(ws, rewrite)
    kept = await mend_once(ws, author.draft, TASK, faulty, [finding])
    assert len(model.requests) == 1
    assert kept == (GOOD if better else faulty)
    assert ws.folder.read("roman.py") == kept  # a worse rewrite does not stay on disk
    assert any(note.startswith("lint findings in roman.py left") for note in ws.notes) != better


# --- the QA engineer's ------------------------------------------------------------------------
def test_a_package_init_that_does_not_import_falls_back_to_empty_and_is_committed(ws):
    ws.code = {"extras/__init__.py": "from . import main\n", "roman.py": "import nowhere\n"}
    for path, text in ws.code.items():
        ws.folder.write(path, text)
    assert fall_back(ws, ["roman.py"], "qa_engineer") is False  # a module has no smallest valid content
    assert fall_back(ws, ["extras/__init__.py", "roman.py"], "qa_engineer") is True
    assert ws.code == {"extras/__init__.py": "", "roman.py": "import nowhere\n"}
    assert ws.folder.read("extras/__init__.py") == ""
    assert git_log(ws.folder.root)[0] == (
        "Edward (QA Engineer)|Keep extras/__init__.py minimal: it did not import after its fix"
    )
    assert ws.notes == ["extras/__init__.py still did not import after its fix; kept as '', which its language allows"]


def test_a_fix_that_passes_fewer_tests_is_undone(ws):
    best = BestSoFar()
    ws.code = {"roman.py": GOOD}
    ws.folder.write("roman.py", GOOD)
    first = report(TestCase("t::a", "passed"), failed("t::b", "AssertionError"))
    assert best.keep(ws, first, "qa_engineer") is first
    ws.code = {"roman.py": "worse\n"}
    ws.folder.write("roman.py", "worse\n")
    worse = report(failed("t::a", "AssertionError"), failed("t::b", "AssertionError"))
    assert best.keep(ws, worse, "qa_engineer") is first
    assert ws.code == {"roman.py": GOOD} and ws.folder.read("roman.py") == GOOD and ws.test_report is first
    assert ws.notes == ["went back to the code that passed 1 tests: the fix passed 0 tests, 1 before"]
    assert git_log(ws.folder.root)[0].startswith("Edward (QA Engineer)|Go back to the code that passed 1 tests")
    ws.code = {"roman.py": "as good\n"}
    equal = report(TestCase("t::a", "passed"), failed("t::b", "TypeError"))
    assert best.keep(ws, equal, "qa_engineer") is first  # only as good: the code that earned its place stays
    assert ws.code == {"roman.py": GOOD}
    best.forget()
    assert best.keep(ws, worse, "qa_engineer") is worse  # new tests: the counts start again


def test_the_requirements_own_checks_rank_a_fix_before_the_models_checks(ws):
    best = BestSoFar()
    ws.code = {"roman.py": GOOD}
    first = report(TestCase("t::test_req_to_roman_1", "passed"), failed("t::a", "x"), failed("t::b", "x"))
    assert best.keep(ws, first, "qa_engineer") is first
    ws.code = {"roman.py": "passes the model's checks\n"}
    theirs = report(failed("t::test_req_to_roman_1", "x"), TestCase("t::a", "passed"), TestCase("t::b", "passed"))
    assert best.keep(ws, theirs, "qa_engineer") is first  # more tests, but one fewer of the requirement's
    assert ws.notes[-1] == (
        "went back to the code that passed 1 tests: the fix passed 0 of the requirement's own checks, 1 before"
    )
    ws.code = {"roman.py": "passes both\n"}
    both = report(TestCase("t::test_req_to_roman_1", "passed"), TestCase("t::a", "passed"), failed("t::b", "x"))
    assert best.keep(ws, both, "qa_engineer") is both and ws.code == {"roman.py": "passes both\n"}


def test_each_failure_says_what_was_expected_what_happened_and_where():
    plan = TestPlan.model_validate(
        {
            "imports": ["from roman import to_roman"],
            "value_checks": {"to_roman": [{"name": "four", "code": ["to_roman(4)"], "expected": "IV", "raises": ""}]},
            "command_checks": [],
        }
    )
    where = "roman.py:9: out.append(symbol * count)"
    failures = report(
        failed("tests/test_roman.py::test_four_1", "AssertionError: assert 'IIII' == 'IV'", where=where),
        failed("tests/test_roman.py::test_gone", "NameError: name 'x'\n   is not defined"),
    )
    assert failure_lines(failures, plan) == [
        f"`to_roman(4)` should give 'IV'; got: AssertionError: assert 'IIII' == 'IV' (at {where})",
        "tests/test_roman.py::test_gone; got: NameError: name 'x' is not defined",
    ]
    assert failure_lines(failures, None, limit=1) == [
        f"tests/test_roman.py::test_four_1; got: AssertionError: assert 'IIII' == 'IV' (at {where})"
    ]


def test_a_failure_ending_in_a_traceback_leads_with_its_exception_line():
    stderr = "".join(f'  File "<frozen runpy>", line {n}, in _run_code\n' for n in range(20))
    text = (
        f"AssertionError: Traceback (most recent call last):\n{stderr}"
        '  File "/p/csvstats/__main__.py", line 3, in <module>\n    from csvstats import read_csv\n'
        "ImportError: cannot import name 'read_csv' from 'csvstats' (/p/csvstats/__init__.py)\nassert 1 == 0"
    )
    got = what_happened(text)
    assert got.startswith(
        "ImportError: cannot import name 'read_csv' from 'csvstats' (/p/csvstats/__init__.py) (after "
    )
    assert len(got) == 300
    assert what_happened("E   KeyError: 'a'\nTraceback (most recent call last):\nE   ValueError: bad") == (
        "ValueError: bad (after E KeyError: 'a' Traceback (most recent call last): E ValueError: bad)"
    )
    assert what_happened("AssertionError: assert\n 3 == 4") == "AssertionError: assert 3 == 4"
    # pytest's message cut short: the exception line is read from the full report
    cut = f"AssertionError: Traceback (most recent call last):\n{stderr[:200]}\n[+7 more lines; full report in element text]"
    full = "".join(f"E   {line}\n" for line in text.splitlines()) + "\ntests/test_csvstats.py:34: AssertionError"
    assert what_happened(cut, full=full).startswith("ImportError: cannot import name 'read_csv' from 'csvstats' (")
    assert what_happened(cut).startswith("AssertionError: Traceback")


def test_the_failing_line_of_the_code_is_read_from_a_short_traceback():
    text = (
        "tests/test_roman.py:12: in test_four_1\n    assert to_roman(4) == 'IV'\n"
        "roman.py:14: in to_roman\n    return {}[\"\".join(out)]\nE   KeyError: 'IV'"
    )
    assert failed_line(text, ("tests/test_roman.py", "roman.py")) == 'roman.py:14: return {}["".join(out)]'
    assert failed_line(text, ("tests/test_roman.py",)) == ""  # the test's own lines are not the code's


def test_the_failing_line_of_a_program_is_read_from_its_own_traceback_in_a_command_check():
    text = (
        "E       AssertionError: Traceback (most recent call last):\n"
        'E           File "/w/cs/csvstats/__main__.py", line 14, in main\n'
        "E             numeric_values = extract_numeric_values(data, args.column_name)\n"
        'E           File "/w/cs/csvstats/csvstats.py", line 14, in extract_numeric_values\n'
        "E             value = float(row[column_name])\n"
        "E                           ~~~^^^^^^^^^^^^^\n"
        "E         TypeError: list indices must be integers or slices, not str\n"
        "E       assert 1 == 0\n\ntests/test_csvstats.py:34: AssertionError"
    )
    files = ("tests/test_csvstats.py", "csvstats/__main__.py", "csvstats/csvstats.py")
    assert failed_line(text, files) == "csvstats/csvstats.py:14: value = float(row[column_name])"
    assert failed_line(text, files[:2]) == (
        "csvstats/__main__.py:14: numeric_values = extract_numeric_values(data, args.column_name)"
    )


def test_an_import_of_a_name_from_the_wrong_module_is_told_where_the_name_is(tmp_path):
    (tmp_path / "tool").mkdir()
    (tmp_path / "tool" / "__main__.py").write_text("def main():\n    pass\n")
    (tmp_path / "tool" / "__init__.py").write_text("from . import main\n")
    error = "ImportError: cannot import name 'main' from partially initialized module 'tool'"
    paths = ["tool/__init__.py", "tool/__main__.py"]
    assert where_to_import(error, tmp_path, paths) == (
        "`main` is defined in `tool.__main__` (tool/__main__.py), not in `tool`: import it from there, or not at all"
    )
    missing = where_to_import("cannot import name 'helper' from 'tool'", tmp_path, paths)
    assert missing.startswith("no file of the project defines `helper` at its top level: define it in `tool`")
    assert where_to_import("ModuleNotFoundError: No module named 'x'", tmp_path, paths) is None


def test_a_plan_the_model_cannot_write_is_narrowed_to_fewer_checks_without_required_groups():
    scope = TestScope(["roman"], [], ["to_roman", "from_roman", "KeyError"], {"to_roman": "roman"}, {}, 8)
    narrow = narrowed(scope)
    assert (narrow.must_check, narrow.max_checks) == ([], 4)
    assert narrowed(TestScope([], [], ["x"], {}, {}, 2)).max_checks == 2
    groups = PythonToolchain().test_plan_schema(scope).model_json_schema()["properties"]["value_checks"]
    assert groups["required"] == ["to_roman", "from_roman", "KeyError"]
    narrow_groups = PythonToolchain().test_plan_schema(narrow).model_json_schema()["properties"]["value_checks"]
    assert "required" not in narrow_groups


def test_a_crash_with_an_error_the_requirement_never_names_is_the_codes_fault():
    code = {"roman.py": GOOD}
    crash = failed("t::a", "KeyError: 'IV'", files=("tests/test_roman.py", "roman.py"))
    assert crashed_in_code(report(crash), "Write roman.py with to_roman.", code) == "roman.py"
    assert crashed_in_code(report(crash), "A bad numeral raises KeyError.", code) is None  # maybe the test's
    wrong_value = failed("t::b", "AssertionError: assert 'IIII' == 'IV'", files=("tests/test_roman.py",))
    assert crashed_in_code(report(wrong_value), "Write roman.py.", code) is None  # the model triages a wrong value
