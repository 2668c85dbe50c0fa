"""The whole company on the real 0.5B local model: the run completes and every artifact exists.

The code need not pass acceptance tests; this shows the product works end to end on the embedded
model with schema-constrained output, with no network and no API key.
"""

import json
import subprocess
import sys

import pytest

from agentco.company.roles import DOCUMENTS

pytestmark = [pytest.mark.local_model, pytest.mark.slow]


def test_a_tiny_idea_on_the_local_model(tmp_path):
    # one plain module: the 0.5B model tends to add a same-named package, which the design check refuses
    idea = (
        "Write one Python file greet.py (a plain module, no package) with a function "
        "greet(name: str) -> str that returns 'Hello, NAME!'."
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "agentco",
            idea,
            "--model",
            "local:qwen2.5-coder-0.5b",
            "--workspace",
            str(tmp_path),
            "--project-name",
            "greet",
            "-q",
            "--no-code-review",
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=tmp_path,
    )
    root = tmp_path / "greet"
    assert done.returncode in (0, 1), done.stderr[-3000:]  # 1: the project's own tests failed
    for path in [*DOCUMENTS, "requirements.txt", "README.md", ".agentco/summary.json"]:
        assert (root / path).is_file(), path
    summary = json.loads((root / ".agentco/summary.json").read_text())
    assert summary["llm_calls"] >= 5 and summary["completion_tokens"] > 0 and summary["cost_usd"] == 0
    # QA's test plan is the hardest output for the 0.5B model; when it gives up the run still ends
    # cleanly and says why (the 1.5B default and hosted models are what generate tested projects)
    planned = not any(note.startswith("no tests") for note in summary["notes"])
    assert summary["status"] in {"passed", "failed"} if planned else summary["status"] == "untested"
    assert summary["files"], "the engineer wrote at least one source file"
    for path in summary["files"]:
        compile((root / path).read_text(), path, "exec")  # every file parses
    assert list((root / "tests").glob("test_*.py")) or not planned
    log = subprocess.run(["git", "log", "--format=%an"], cwd=root, capture_output=True, text=True).stdout
    assert "Alice (Product Manager)" in log and "Alex (Engineer)" in log
    assert ("Edward (QA Engineer)" in log) == planned  # QA commits the tests it wrote, and only then


def test_ask_streams_an_answer_from_the_local_model_through_the_runtime_client():
    done = subprocess.run(
        [sys.executable, "-m", "agentco", "ask", "Reply with the word yes.", "--model", "qwen2.5-coder-0.5b",
         "--max-tokens", "8"],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert "local:qwen2.5-coder-0.5b:" in done.stderr and "completion tokens" in done.stderr


def test_the_data_interpreter_answers_an_easy_question_on_the_local_model(tmp_path):
    """The answer may be wrong on the 0.5B model; the run must finish with a valid notebook."""
    import nbformat

    from agentco.testing.analyst import SALES_CSV

    (tmp_path / "sales.csv").write_text(SALES_CSV)
    request = "What is the mean of the revenue column of data/sales.csv? Answer as @mean_revenue[value], two decimals."
    done = subprocess.run(
        [sys.executable, "-m", "agentco", "di", request, "--data", "sales.csv", "--model", "local:qwen2.5-coder-0.5b",
         "--workspace", "ws", "--project-name", "mean", "--json"],
        capture_output=True, text=True, timeout=1200, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr[-3000:]  # 1: no task of its plan could be run
    outcome = json.loads(done.stdout)
    root = tmp_path / "ws" / "mean"
    nbformat.validate(nbformat.read(root / "notebook.ipynb", as_version=4))
    answer = json.loads((root / "answer.json").read_text())
    assert answer["answer"] == outcome["answer"] and outcome["llm_calls"] >= 3 and outcome["cells"] >= 1
    assert (root / "report.md").is_file()
