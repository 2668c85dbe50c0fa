"""The suite's bare baseline: a reply's files found by their paths, hostile paths refused, and the
files scored with the task's acceptance tests like a company project."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentco.bench.suite import find_tasks
from agentco.bench.suite_bare import run_bare_suite
from agentco.errors import ConfigError
from agentco.llm.client import LLMClient
from agentco.llm.fake import FunctionModel
from agentco.llm.files import project_files
from agentco.llm.meter import Meter
from agentco.sandbox import is_available

ROMAN = """\
def to_roman(n):
    if not 0 < n < 4000:
        raise ValueError(n)
    out = ""
    for value, letters in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
                           (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out, n = out + letters, n - value
    return out


def from_roman(s):
    for n in range(1, 4000):
        if to_roman(n) == s:
            return n
    raise ValueError(s)
"""


def test_files_are_found_by_the_path_before_the_block_its_info_string_or_first_comment():
    reply = (
        "Here is the project.\n\nFILE: app/__init__.py\n```python\n```\n\n**`app/core.py`**\n```python\nX = 1\n```\n"
        "```python cli.py\nimport app\n```\n```python\n# tools/util.py\nY = 2\n```\n"
    )
    assert project_files(reply) == {
        "app/__init__.py": "",
        "app/core.py": "X = 1\n",
        "cli.py": "import app\n",
        "tools/util.py": "# tools/util.py\nY = 2\n",
    }


@pytest.mark.parametrize("path", ["../escape.py", "/etc/evil.py", ".git/hooks/post-commit.py", "a/../../b.py"])
def test_a_path_that_leaves_the_project_or_is_hidden_is_not_a_file_of_it(path: str):
    assert project_files(f"FILE: {path}\n```python\nimport os\n```\n") == {}


def test_a_block_with_no_path_is_left_out():
    assert project_files("```python\nprint(1)\n```\n") == {}


def test_a_scripted_company_model_is_refused(tmp_path: Path):
    with pytest.raises(ConfigError, match="real model"):
        run_bare_suite("fake:roman", [], tmp_path)


@pytest.mark.skipif(not is_available(), reason="bubblewrap cannot run here")
def test_one_call_writes_the_project_and_the_acceptance_tests_score_it(tmp_path: Path):
    root = tmp_path / "tasks" / "roman"
    root.mkdir(parents=True)
    (root / "prompt.md").write_text("Write roman.py with to_roman and from_roman.\n")
    (root / "test_acceptance.py").write_text(
        "import os, sys\nsys.path.insert(0, os.environ['PROJECT'])\nimport roman\n\n"
        "def test_both_ways():\n    assert roman.to_roman(1994) == 'MCMXCIV' and roman.from_roman('IV') == 4\n\n"
        "def test_zero_is_nulla():\n    assert roman.to_roman(0) == 'N'\n"
    )
    prompts: list[str] = []

    def reply(request):
        prompts.append(request.messages[-1]["content"])
        return f"FILE: roman.py\n```python\n{ROMAN}```\n"

    def client_for(model: str) -> LLMClient:
        return LLMClient(FunctionModel(reply), Meter())

    seen = []
    report = run_bare_suite("local:x", find_tasks(tmp_path / "tasks"), tmp_path / "ws", client_for=client_for,
                            on_run=seen.append)  # fmt: skip

    assert "Write roman.py with to_roman and from_roman." in prompts[0] and len(prompts) == 1
    assert (tmp_path / "ws" / "bare" / "roman-1" / "roman.py").read_text() == ROMAN
    run = report["tasks"]["roman"]["runs"][0]
    assert (run["acceptance_passed"], run["acceptance_total"], run["llm_calls"]) == (1, 2, 1)
    assert run["loc"] == len([line for line in ROMAN.splitlines() if line.strip()])
    assert report["mode"] == "bare" and report["totals"]["verdict_agreement"] is None and len(seen) == 1
