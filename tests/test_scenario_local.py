"""A scenario on the real 0.5B local model: a two-round debate finishes with every role speaking in
order and the judge's verdict validated against its declared fields."""

import json
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.local_model, pytest.mark.slow]


def test_a_two_round_debate_on_the_local_model(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "agentco", "scenario", "run", "debate", "--input", "motion=Cats are better pets than dogs.",
         "--model", "local:qwen2.5-coder-0.5b", "--workspace", str(tmp_path), "--json"],
        capture_output=True, text=True, timeout=1200, cwd=tmp_path, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)
    turns = out["transcript"]
    assert [(t["stage"], t["speaker"]) for t in turns] == [
        ("arguments", "proposer"), ("arguments", "opposer"), ("arguments", "proposer"), ("arguments", "opposer"),
        ("verdict", "judge"),
    ]  # fmt: skip
    assert all(t["content"].strip() for t in turns)
    assert all(t["model"] == "local:qwen2.5-coder-0.5b" for t in turns)
    assert turns[-1]["fields"]["winner"] in {"proposer", "opposer"} and turns[-1]["fields"]["reason"]
    assert out["status"] == "finished" and out["cost_usd"] == 0 and out["llm_calls"] >= 5
