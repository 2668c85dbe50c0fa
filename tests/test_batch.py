"""Batches of runs: ten ideas at once, a batch killed and re-run, a batch budget, the ideas file.

The whole batches drive the real CLI in a subprocess with the scripted company (``fake:roman``), the
real run store, real git and the sandbox. The scripted company appends one line per call it
actually answers to ``AGENTCO_FAKE_CALL_LOG``: calls made, as the store's ``calls`` table holds the
calls recorded, and a repeated call would show as more of the first than of the second.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from agentco.batch.hub import Hub, News
from agentco.batch.items import plan_jobs, read_items, slug
from agentco.batch.work import CallGate
from agentco.errors import BudgetExceeded, ConfigError
from agentco.events import CALL_FINISHED, CALL_STARTED, Event
from agentco.sandbox import is_available
from agentco.store import db_path

needs_sandbox = pytest.mark.skipif(not is_available(), reason="bubblewrap cannot run here")

FAKE = "fake:roman?delay=0.25"
CALLS = 6  # PRD, design, tasks, roman.py, its review, the tests
IDEAS = [f"Write roman.py, version {n}" for n in range(1, 9)] + [
    '{"idea": "Write roman.py for the museum", "project": "museum"}',
    '{"idea": "Write roman.py, untested", "run_tests": false}',
]
NOT_COMPARED = {".git", ".venv", "__pycache__", ".pytest_cache"}


# --- driving the CLI -----------------------------------------------------------------------------
def cli_env(call_log: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTCO_LLM", "AGENTCO_FAKE"))}
    env = {k: v for k, v in env.items() if not k.endswith("_API_KEY")}
    return {**env, "COLUMNS": "200", "PYTHONUNBUFFERED": "1", "AGENTCO_FAKE_CALL_LOG": str(call_log)}


def batch_args(*extra: str, workspace: str = "ws", model: str = FAKE) -> list[str]:
    return [sys.executable, "-m", "agentco", "batch", "ideas.txt", "--workspace", workspace, "--model", model, *extra]


def agentco_batch(cwd: Path, env: dict[str, str], *extra: str, **kw: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(batch_args(*extra, **kw), cwd=cwd, env=env, capture_output=True, text=True, timeout=180)


def write_ideas(folder: Path, ideas: list[str] = IDEAS) -> None:
    (folder / "ideas.txt").write_text("# ten runs of the scripted company\n" + "\n".join(ideas) + "\n")


def calls_made(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def store_rows(workspace: Path) -> dict[str, tuple[str, int]]:
    """Each run's project name -> (status, calls stored), read-only while another process writes."""
    if not db_path(workspace).is_file():
        return {}
    try:
        with closing(sqlite3.connect(f"file:{db_path(workspace)}?mode=ro", uri=True, timeout=5)) as db:
            rows = db.execute(
                "SELECT json_extract(options_json, '$.project_name'), status,"
                " (SELECT COUNT(*) FROM calls WHERE calls.run_id = runs.id) FROM runs"
            ).fetchall()
    except sqlite3.OperationalError:  # the schema is still being created
        return {}
    return {name: (status, calls) for name, status, calls in rows}


def project_files(root: Path) -> dict[str, object]:
    """Every file's bytes; of the run summary, what does not differ between two runs of one idea."""
    files: dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not NOT_COMPARED & set(relative.parts):
            files[relative.as_posix()] = path.read_bytes()
    summary = json.loads(files.pop(".agentco/summary.json"))
    for varying in ("wall_s", "replayed_calls"):
        summary.pop(varying)
    files[".agentco/summary.json"] = summary
    return files


def batch_projects(workspace: Path) -> dict[str, dict[str, object]]:
    report = json.loads((workspace / "batch.json").read_text())
    return {row["project"]: project_files(Path(row["path"])) for row in report["runs"]}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, dict, subprocess.CompletedProcess[str]]:
    """The ten ideas at concurrency 3 on threads, once for the tests that compare with it."""
    folder = tmp_path_factory.mktemp("reference")
    write_ideas(folder)
    done = agentco_batch(folder, cli_env(folder / "calls.log"), "--concurrency", "3", "--json")
    return folder, json.loads(done.stdout) if done.returncode == 0 else {}, done


# --- 1. ten ideas, three at a time -----------------------------------------------------------------
@needs_sandbox
def test_a_batch_of_ten_ideas_at_concurrency_three_finishes_with_the_summary_right(reference):
    folder, report, done = reference
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((folder / "ws" / "batch.json").read_text()) == report
    rows, totals = report["runs"], report["totals"]
    names = [row["project"] for row in rows]
    assert names == [f"write-roman-py-version-{n}" for n in range(1, 9)] + ["museum", "write-roman-py-untested"]
    assert [row["idea"] for row in rows] == [*IDEAS[:8], "Write roman.py for the museum", "Write roman.py, untested"]
    for row in rows:
        assert row["status"] == "completed" and row["this_time"] == "started" and row["error"] is None, row
        assert row["calls"] == CALLS and row["replayed_calls"] == 0 and row["cost_usd"] == 0
        assert row["tokens"] == row["prompt_tokens"] + row["completion_tokens"] > 0
        assert Path(row["path"]) == folder / "ws" / row["project"]
        assert (Path(row["path"]) / "roman.py").is_file()
    tested, untested = rows[:9], rows[9]
    assert all(row["result"] == "passed" and (row["tests_passed"], row["tests_failed"]) == (8, 0) for row in tested)
    assert untested["result"] == "untested" and untested["tests_passed"] is None  # its own option, run_tests: false
    assert totals | {"wall_s": 0, "runs_per_min": 0, "run_wall_s": 0} == {
        "runs": 10, "completed": 10, "failed": 0, "not_started": 0, "passed": 9, "started": 10, "resumed": 0,
        "skipped": 0, "calls": 10 * CALLS, "replayed_calls": 0, "prompt_tokens": sum(r["prompt_tokens"] for r in rows),
        "completion_tokens": sum(r["completion_tokens"] for r in rows), "tokens": sum(r["tokens"] for r in rows),
        "cost_usd": 0.0, "wall_s": 0, "runs_per_min": 0, "run_wall_s": 0,
    }  # fmt: skip
    assert totals["run_wall_s"] == pytest.approx(sum(r["wall_s"] for r in rows), abs=0.05)
    assert totals["wall_s"] < totals["run_wall_s"]  # they did run side by side
    threads = {worker.rsplit("/", 1)[1] for row in rows for worker in row["workers"]}
    assert threads == {"batch-run_0", "batch-run_1", "batch-run_2"}  # three runs at a time
    assert calls_made(folder / "calls.log") == 10 * CALLS
    assert report["batch"]["concurrency"] == 3 and report["batch"]["ray"] is None

    again = agentco_batch(folder, cli_env(folder / "calls.log"), "--concurrency", "3", "--json")
    assert again.returncode == 0, again.stderr
    rerun = json.loads(again.stdout)
    assert [row["this_time"] for row in rerun["runs"]] == ["skipped"] * 10
    assert calls_made(folder / "calls.log") == 10 * CALLS  # nothing asked again


# --- 2. killed mid-batch, then run again -----------------------------------------------------------
@needs_sandbox
def test_a_batch_killed_mid_way_finishes_when_run_again_and_repeats_no_stored_call(tmp_path, reference):
    write_ideas(tmp_path)
    log, workspace = tmp_path / "calls.log", tmp_path / "ws"
    env = cli_env(log)
    proc = subprocess.Popen(batch_args("--concurrency", "3", "-q"), cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 120

    def mid_run() -> bool:
        rows = store_rows(workspace).values()
        return sum(s == "completed" for s, _ in rows) >= 3 and any(s == "running" and n > 0 for s, n in rows)

    while not mid_run():
        assert proc.poll() is None, f"the batch ended before it was killed: {proc.communicate()[0]}"
        assert time.monotonic() < deadline, "timed out waiting for the batch"
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)

    at_kill = store_rows(workspace)
    made_at_kill = calls_made(log)
    stored_at_kill = sum(n for _, n in at_kill.values())
    completed = {name for name, (status, _) in at_kill.items() if status == "completed"}
    cut = {name: n for name, (status, n) in at_kill.items() if status != "completed"}
    assert 3 <= len(completed) < 10 and cut
    answered_unsaved = made_at_kill - stored_at_kill  # answered as the kill came, before it was stored
    assert 0 <= answered_unsaved <= len(cut)

    done = agentco_batch(tmp_path, env, "--concurrency", "3", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    rows = {row["project"]: row for row in report["runs"]}
    assert all(row["status"] == "completed" and row["calls"] == CALLS for row in rows.values())
    assert {name for name, row in rows.items() if row["this_time"] == "skipped"} == completed
    assert {name for name, row in rows.items() if row["this_time"] == "resumed"} == set(cut)
    assert all(rows[name]["replayed_calls"] == n for name, n in cut.items())  # served from the store
    assert report["totals"]["calls"] == sum(n for _, n in store_rows(workspace).values()) == 10 * CALLS
    assert calls_made(log) == 10 * CALLS + answered_unsaved  # no stored call was asked again
    assert batch_projects(workspace) == batch_projects(reference[0] / "ws")


# --- 3. the batch budget ---------------------------------------------------------------------------
@needs_sandbox
def test_a_batch_budget_stops_new_calls_once_spent_and_a_higher_one_finishes_the_batch(tmp_path):
    # $1000 a million tokens: a call of the scripted company costs about $0.5, a run about $2.7
    (tmp_path / "agentco.yaml").write_text('prices:\n  "fake:roman": [1000, 1000]\n')
    write_ideas(tmp_path, ["Write roman.py one", "Write roman.py two", "Write roman.py three"])
    log, env = tmp_path / "calls.log", cli_env(tmp_path / "calls.log")

    done = agentco_batch(tmp_path, env, "--budget", "4", "--json", model="fake:roman")
    assert done.returncode == 1, done.stderr  # not every run completed
    one, two, three = json.loads(done.stdout)["runs"]
    assert one["status"] == "completed" and one["cost_usd"] > 2
    assert two["status"] == "budget_exceeded" and two["calls"] >= 1 and "batch budget reached" in two["error"]
    assert (
        three["status"] == "not_started"
        and three["run_id"] is None
        and not (tmp_path / "ws" / three["project"]).exists()
    )
    spent = one["cost_usd"] + two["cost_usd"]
    assert spent <= 4
    assert calls_made(log) == one["calls"] + two["calls"]  # a refused call never reached the model

    done = agentco_batch(tmp_path, env, "--budget", "100", "--json", model="fake:roman")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [row["this_time"] for row in report["runs"]] == ["skipped", "resumed", "started"]
    assert all(row["status"] == "completed" for row in report["runs"])
    assert report["runs"][1]["replayed_calls"] == two["calls"]
    assert calls_made(log) == report["totals"]["calls"] == 3 * CALLS


# --- the parts -------------------------------------------------------------------------------------
def test_an_ideas_file_mixes_plain_lines_and_json_lines_and_names_each_project(tmp_path):
    ideas = tmp_path / "ideas.txt"
    ideas.write_text(
        "# a comment\nWrite roman.py!\n\nWrite roman.py!\n"
        '{"idea": "A bank", "project": "bank", "model": "fake:bank", "budget": 2, "n_round": 5}\n'
    )
    jobs = plan_jobs(read_items(ideas), repeat=2, model="fake:roman", workspace=tmp_path / "ws")
    assert [job.key for job in jobs] == [
        "write-roman-py-r1", "write-roman-py-2-r1", "bank-r1", "write-roman-py-r2", "write-roman-py-2-r2", "bank-r2",
    ]  # fmt: skip
    bank = jobs[2].request
    assert (bank.model, bank.investment, bank.n_round, bank.project_name) == ("fake:bank", 2, 5, "bank-r1")
    assert jobs[0].request.model == "fake:roman" and jobs[0].request.workspace == str(tmp_path / "ws")
    assert slug("   ") == "project" and len(slug("word " * 40)) <= 48

    for text, where in [("{not json\n", "line 1"), ('ok\n{"idea": "x", "colour": "red"}\n', "line 2"),
                        ('{"idea": "x", "project": "../up"}\n', "line 1")]:  # fmt: skip
        ideas.write_text(text)
        with pytest.raises(ConfigError, match=where):
            plan_jobs(read_items(ideas), workspace=tmp_path)
    ideas.write_text("# nothing\n")
    with pytest.raises(ConfigError, match="no ideas"):
        read_items(ideas)


def event(kind: str, **data: object) -> Event:
    return Event(kind, data)


def test_the_hub_refuses_a_call_that_could_pass_the_budget_counting_calls_in_flight():
    hub = Hub(budget=1.0)
    gate_a, gate_b = CallGate("a", hub), CallGate("b", hub)
    gate_a(event(CALL_STARTED))
    gate_a(event(CALL_FINISHED, prompt_tokens=10, completion_tokens=5, cost_usd=0.3))
    gate_a(event(CALL_STARTED))  # 0.3 spent + this one at 0.3
    gate_b(event(CALL_STARTED))  # + one more in flight: 0.9
    with pytest.raises(BudgetExceeded, match="batch budget reached"):
        gate_b(event(CALL_STARTED))  # a fourth at 0.3 could pass $1
    gate_a(event(CALL_FINISHED, cost_usd=0.1))
    assert not hub.exhausted()
    hub.post(News("ended", "b"))  # b stopped: its call in flight is gone
    gate_a(event(CALL_STARTED))
    assert hub.state() == {"budget": 1.0, "spent": 0.4, "in_flight": 1}
    assert [n.kind for n in hub.drain()] == ["call", "call", "ended"] and hub.drain() == []
    assert Hub(budget=0.0).exhausted() and not Hub().exhausted()


def test_the_rate_limit_is_a_token_bucket_shared_by_every_run():
    hub = Hub(calls_per_minute=1200)  # 20 a second, a burst of 20
    gates = [CallGate(key, hub) for key in "abcd"]
    started = time.monotonic()
    for i in range(25):
        gates[i % 4](event(CALL_STARTED))
    elapsed = time.monotonic() - started
    assert 0.2 <= elapsed < 1.0, elapsed  # the last 5 waited 1/20 s each
    assert Hub().slot() == 0.0


def test_ray_is_an_extra_named_when_it_is_missing(monkeypatch):
    from agentco.batch.cluster import connect
    from agentco.errors import MissingExtraError

    monkeypatch.setitem(sys.modules, "ray", None)  # as if it were not installed
    with pytest.raises(MissingExtraError, match=r"pip install 'agentco\[ray\]'"), connect(None, num_cpus=1):
        pass


@needs_sandbox
def test_the_bench_suite_runs_its_tasks_as_one_batch_with_repeats(tmp_path):
    from typer.testing import CliRunner

    from agentco.cli.app import app

    task = tmp_path / "tasks" / "roman"
    task.mkdir(parents=True)
    (task / "prompt.md").write_text("Write roman.py with to_roman and from_roman.\n")
    (task / "test_acceptance.py").write_text(
        "import os, sys\nsys.path.insert(0, os.environ['PROJECT'])\nfrom roman import to_roman\n\n"
        "def test_four():\n    assert to_roman(4) == 'IV'\n"
    )
    out, workspace = tmp_path / "suite.json", tmp_path / "ws"
    args = ["bench", "suite", str(tmp_path / "tasks"), "--model", "fake:{task}", "--repeat", "2", "-c", "2"]
    result = CliRunner().invoke(app, [*args, "--workspace", str(workspace), "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    runs = report["tasks"]["roman"]["runs"]
    assert [(r["run"], r["status"], r["acceptance_passed"], r["acceptance_total"]) for r in runs] == [
        (1, "passed", 1, 1), (2, "passed", 1, 1),
    ]  # fmt: skip
    assert [Path(r["project"]).name for r in runs] == ["roman-r1", "roman-r2"]
    batch = json.loads((workspace / "batch.json").read_text())
    assert batch["batch"]["concurrency"] == 2 and batch["totals"]["completed"] == 2
