"""The cross-check benchmark: generated problems with computed answers, both ways run as recorded
scenario runs (here on the scripted ``fake:scenario`` model, which answers every number with 1)."""

import re

from agentco.bench.crosscheck import TEMPLATES, final_answer, problems, run_crosscheck
from agentco.config import load_settings
from agentco.store import RunStore


def test_problems_are_the_same_for_a_seed_and_every_answer_follows_from_its_numbers():
    first, again, other = problems(60), problems(60), problems(60, seed=3)
    assert first == again and first != other
    assert {p["kind"] for p in first} == {t.__name__[1:] for t in TEMPLATES}
    assert len({p["question"] for p in first}) == 60
    for p in first:
        assert p["answer"] == int(p["answer"]) and p["answer"] >= 0, p
    shop = next(p for p in first if p["kind"] == "shop")
    packs, per, given = map(int, re.findall(r"\d+", shop["question"]))
    assert shop["answer"] == packs * per - given


def test_the_checked_answer_is_the_critics_last_and_the_single_one_the_solvers():
    transcript = [
        {"speaker": "solver_a", "fields": {"answer": 45.0}},
        {"speaker": "critic", "fields": {"verdict": "revise", "answer": 41.0}},
        {"speaker": "solver_a", "fields": {"answer": 41.0}},
        {"speaker": "critic", "fields": {"verdict": "accept", "answer": 41}},
        {"speaker": "majority", "fields": {"answer": "41.0"}},
    ]
    assert final_answer(transcript, "checked") == 41.0
    assert final_answer(transcript, "single") is None
    assert final_answer([{"speaker": "solver", "fields": {"answer": 7}}], "single") == 7.0


async def test_both_ways_run_through_the_runtime_and_are_counted(tmp_path):
    settings = load_settings({"workspace": str(tmp_path), "llm": {"model": "fake:scenario"}}, paths=[], environ={})
    asked = problems(3)
    asked[1]["answer"] = 1  # the scripted model's number: this one is right both ways
    report = await run_crosscheck(settings, asked, tmp_path)
    single, checked = report["ways"]["single"], report["ways"]["checked"]
    assert (single["correct"], checked["correct"]) == (1, 1) and single["n"] == checked["n"] == 3
    assert single["llm_calls_per_problem"] == 1 and checked["llm_calls_per_problem"] == 3  # two solvers, a critic
    assert checked["revised"] == 0 and checked["no_answer"] == 0
    with RunStore.open(tmp_path) as store:
        runs = store.list_runs()
    assert len(runs) == 6 and {r.status for r in runs} == {"completed"}
