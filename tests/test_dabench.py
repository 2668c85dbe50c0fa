"""DABench scoring agrees with the official rules (the shared scorer), requests carry no labels, and
`agentco bench dabench` runs both modes end to end with the scripted analyst."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentco.bench.dabench import judge, request_for
from agentco.sandbox import is_available
from agentco.testing.analyst import SALES_CSV

DABENCH = Path(__file__).resolve().parents[2] / "shared" / "bench" / "dabench"
ENV_DIR = Path.home() / ".cache" / "agentco" / "envs"


def official():
    if not (DABENCH / "score.py").is_file():
        pytest.skip("../shared/bench/dabench is not beside this checkout")
    spec = importlib.util.spec_from_file_location("dabench_score", DABENCH / "score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def variants(question: dict) -> list[str]:
    """Responses a model might give: right, re-rounded, repeated names, wrong case, missing."""
    pairs = question["common_answers"]
    right = " ".join(f"@{n}[{v}]" for n, v in pairs)
    out = [right, right.upper(), "no answer", f"@{pairs[0][0]}[wrong] then {right}", f"{right} @{pairs[0][0]}[wrong]"]
    for _name, value in pairs:
        try:
            number = float(value)
        except ValueError:
            continue
        out += [right.replace(f"[{value}]", f"[{value}0]"), right.replace(f"[{value}]", f"[{number + 0.01}]")]
    return out


def test_judge_agrees_with_the_official_scorer_on_every_dev_question():
    score = official()
    questions = [json.loads(line) for line in (DABENCH / "dev.jsonl").read_text().splitlines() if line.strip()]
    labels = score.load_labels(DABENCH / "dev.jsonl")
    compared = 0
    for question in questions:
        for response in variants(question):
            theirs = score.score([lab for lab in labels if lab["id"] == question["id"]], {question["id"]: response})
            assert judge(question, response)[0] == theirs["questions"][0]["correct"], (question["id"], response)
            compared += 1
    assert compared > 5 * len(questions)


def test_a_request_holds_only_the_question_fields():
    question = {"id": 1, "question": "Q?", "constraints": "C.", "format": "@x[v]", "file_name": "t.csv",
                "level": "LEVEL-SENTINEL", "concepts": ["CONCEPT-SENTINEL"], "common_answers": [["x", "LABEL-SENTINEL"]]}  # fmt: skip
    request = request_for(question)
    assert "SENTINEL" not in request and "data/t.csv" in request and "Q?" in request and "@x[v]" in request


@pytest.mark.skipif(not is_available(), reason="bubblewrap cannot run here")
def test_bench_dabench_runs_both_modes_and_writes_responses_the_official_scorer_reads(tmp_path):
    score = official()
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "sales.csv").write_text(SALES_CSV)
    question = {"id": 7, "question": "Which region grew fastest?", "constraints": "Use the monthly differences.",
                "format": "@fastest_region[name]", "file_name": "sales.csv", "level": "easy",
                "common_answers": [["fastest_region", "east"]]}  # fmt: skip
    (tmp_path / "q.jsonl").write_text(json.dumps(question) + "\n")
    env = {**os.environ, "AGENTCO_DI__ENV_DIR": str(ENV_DIR), "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "agentco", "bench", "dabench", "--questions", "q.jsonl", "--data-dir", "tables",
         "--model", "fake:sales", "--mode", "both", "--workspace", "ws", "--responses", "r.jsonl", "--out", "o.json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "o.json").read_text())
    # the scripted interpreter answers east; the scripted bare script picks the slowest region
    assert report["modes"]["interpreter"]["abq"] == 1.0 and report["modes"]["bare"]["abq"] == 0.0
    assert report["modes"]["interpreter"]["executions_per_question"] == 4
    for mode, expected in (("interpreter", 1.0), ("bare", 0.0)):
        lines = (tmp_path / f"r-{mode}.jsonl").read_text().splitlines()
        theirs = score.score(
            score.load_labels(tmp_path / "q.jsonl"), score.first_responses([json.loads(x) for x in lines])
        )
        assert theirs["overall"]["abq"] == expected
    assert (tmp_path / "ws" / "q7" / "notebook.ipynb").is_file()
