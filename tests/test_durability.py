"""Durable runs: a killed, interrupted or failing ``agentco`` loses nothing and pays for nothing twice.

Every test drives the real CLI in a subprocess, with the real SQLite store, real git and the
bubblewrap sandbox. The scripted company (``fake:roman``) appends one line per model call it
actually answers to ``AGENTCO_FAKE_CALL_LOG``, which is how "paid for" is counted.
"""

from __future__ import annotations

import copy
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
import zlib
from contextlib import closing
from pathlib import Path

from agentco.llm.base import ChatRequest
from agentco.store import RunStore, db_path
from agentco.testing.company import ROMAN
from wire_server import Drop, Recorded, Reply, Stall, Status, WireServer

IDEA = "Write roman.py"
FAKE = "fake:roman?delay=0.05"
CALLS = 6  # PRD, design, tasks, roman.py, its review, the tests
NOT_COMPARED = {".git", ".venv", "__pycache__", ".pytest_cache"}
PLANTED = b"PLANTED"


# --- driving the CLI -----------------------------------------------------------------------------
def cli_env(call_log: Path | None = None, **extra: str) -> dict[str, str]:
    # No stray settings or keys from the developer's shell; AGENTCO_ALLOW_MODEL_REQUESTS=0 stays.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTCO_LLM", "AGENTCO_FAKE"))}
    env = {k: v for k, v in env.items() if not k.endswith("_API_KEY")}
    # Rich wraps piped output at 80 columns, which would split the `agentco resume ID` hint.
    env.update(COLUMNS="250", PYTHONUNBUFFERED="1", **extra)
    if call_log is not None:
        env["AGENTCO_FAKE_CALL_LOG"] = str(call_log)
    return env


def agentco(*args: str, cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentco", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def start(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    # Its own process group, so a kill takes its git children with it, as a crash would.
    return subprocess.Popen(
        [sys.executable, "-m", "agentco", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        # as from a terminal: a shell's background job (`pytest &`) starts with Ctrl-C ignored, and a
        # child would inherit that
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def kill(proc: subprocess.Popen[str]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)


def output(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


def calls_made(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


# --- reading the store ---------------------------------------------------------------------------
def peek(workspace: Path) -> tuple[str, str, int] | None:
    """(status, stage, stored calls) of the only run, read-only, while another process writes."""
    if not db_path(workspace).is_file():
        return None
    try:
        with closing(sqlite3.connect(f"file:{db_path(workspace)}?mode=ro", uri=True, timeout=5)) as db:
            row = db.execute("SELECT status, stage, (SELECT COUNT(*) FROM calls) FROM runs").fetchone()
    except sqlite3.OperationalError:  # the schema is still being created
        return None
    return tuple(row) if row else None


def only_run(workspace: Path):
    if not db_path(workspace).is_file():
        return None
    with RunStore.open(workspace) as store:
        runs = store.list_runs()
        assert len(runs) <= 1
        if not runs:
            return None
        return runs[0], store.call_totals(runs[0].id)["calls"], [s.name for s in store.steps(runs[0].id)]


def wait_for(condition, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"agentco ended early ({proc.returncode}): {proc.communicate()[0]}"
        assert time.monotonic() < deadline, "timed out waiting for the run"
        time.sleep(0.005)


# --- comparing projects --------------------------------------------------------------------------
def project_files(root: Path) -> dict[str, object]:
    """Every file's bytes, but the run summary without what legitimately differs between runs."""
    files: dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_dir() or NOT_COMPARED & set(relative.parts):
            continue
        files[relative.as_posix()] = path.read_bytes()
    summary = json.loads(files.pop(".agentco/summary.json"))
    summary.pop("wall_s")
    files["replayed_calls"] = summary.pop("replayed_calls")
    files[".agentco/summary.json"] = summary
    return files


def git_log(root: Path) -> list[str]:
    done = subprocess.run(
        ["git", "log", "--format=%an <%ae> | %s"], cwd=root, check=True, capture_output=True, text=True
    )
    return done.stdout.splitlines()


# --- 1. SIGKILL at random points -------------------------------------------------------------------
def test_a_killed_run_resumes_to_the_same_project_and_pays_for_no_stored_call_twice(tmp_path):
    reference_log = tmp_path / "reference.log"
    started = time.monotonic()
    done = agentco(IDEA, "--model", FAKE, "-q", "--workspace", "reference", cwd=tmp_path, env=cli_env(reference_log))
    uninterrupted_s = time.monotonic() - started
    assert done.returncode == 0, output(done)
    reference = project_files(tmp_path / "reference" / "roman")
    assert reference.pop("replayed_calls") == 0
    reference_history = git_log(tmp_path / "reference" / "roman")
    assert len(calls_made(reference_log)) == CALLS

    stages_at_kill = []
    slot = uninterrupted_s / 10
    for seed in range(10):
        workspace, log = tmp_path / f"kill{seed}", tmp_path / f"kill{seed}.log"
        env = cli_env(log)
        proc = start(IDEA, "--model", FAKE, "-q", "--workspace", str(workspace), cwd=tmp_path, env=env)
        time.sleep(slot * seed + random.Random(seed).uniform(0.05, slot))  # one kill in each tenth of a run
        kill(proc)

        state = only_run(workspace)
        made_by_killed = len(calls_made(log))
        if state is None:  # killed before the run was recorded: nothing to resume, nothing was paid
            assert made_by_killed == 0
            done = agentco(IDEA, "--model", FAKE, "-q", "--workspace", str(workspace), cwd=tmp_path, env=env)
            stored_at_kill, answered_unsaved, completed_at_kill = 0, 0, False
        else:
            record, stored_at_kill, _ = state
            stages_at_kill.append(record.stage)
            completed_at_kill = record.status == "completed"
            # A call the model answered just before the kill, but not yet stored, is the only
            # one a resume may make again; the scripted company makes one call at a time.
            answered_unsaved = made_by_killed - stored_at_kill
            assert answered_unsaved in (0, 1), (seed, made_by_killed, stored_at_kill)
            done = agentco("resume", record.id, "--workspace", str(workspace), "-q", cwd=tmp_path, env=env)
        assert done.returncode == 0, (seed, output(done))

        assert len(calls_made(log)) == CALLS + answered_unsaved, (seed, calls_made(log))
        resumed, stored, _ = only_run(workspace)
        assert resumed.status == "completed" and stored == CALLS
        project = project_files(workspace / "roman")
        replayed = project.pop("replayed_calls")
        assert replayed == (0 if completed_at_kill else stored_at_kill), seed
        assert project == reference, seed
        assert git_log(workspace / "roman") == reference_history, seed

    assert len(set(stages_at_kill)) >= 3, stages_at_kill


# --- 2. the store after a crash ------------------------------------------------------------------
def test_after_a_kill_the_store_is_intact_shows_the_run_and_resume_redoes_the_unfinished_step(tmp_path):
    log = tmp_path / "calls.log"
    env = cli_env(log)
    proc = start(IDEA, "--model", FAKE, "-q", "--workspace", "ws", cwd=tmp_path, env=env)
    workspace = tmp_path / "ws"
    wait_for(lambda: (peek(workspace) or ("", "", 0))[1] == "design", proc)
    kill(proc)

    with closing(sqlite3.connect(db_path(workspace))) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    record, stored, steps = only_run(workspace)
    assert steps == ["prd", "design"]
    shown = agentco("runs", "show", record.id, "--json", "--workspace", "ws", cwd=tmp_path, env=env)
    assert shown.returncode == 0, output(shown)
    fields = json.loads(shown.stdout)
    # A killed process cannot record its end, but it no longer holds the run: it shows as interrupted
    assert fields["status"] == "interrupted" and "killed?" in fields["error"]
    assert fields["stage"] == "design" and fields["steps"] == ["prd", "design"]
    assert not (workspace / "roman" / "docs" / "tasks.md").exists()

    done = agentco("resume", record.id, "--workspace", "ws", "-q", cwd=tmp_path, env=env)
    assert done.returncode == 0, output(done)
    record, total, steps = only_run(workspace)
    assert record.status == "completed" and total == CALLS
    assert record.replayed_calls == stored
    assert steps[:4] == ["prd", "design", "tasks", "code"]
    assert (workspace / "roman" / "docs" / "tasks.md").is_file()
    assert len(calls_made(log)) - CALLS in (0, 1)  # at most the one call answered as the kill came


def test_a_run_another_process_is_working_on_is_shown_running_and_cannot_be_resumed(tmp_path):
    env = cli_env(tmp_path / "calls.log")
    proc = start(IDEA, "--model", "fake:roman?delay=1", "-q", "--workspace", "ws", cwd=tmp_path, env=env)
    workspace = tmp_path / "ws"
    try:
        wait_for(lambda: (peek(workspace) or ("", "", 0))[1] == "prd", proc)
        record, _, _ = only_run(workspace)
        shown = agentco("runs", "show", record.id, "--json", "--workspace", "ws", cwd=tmp_path, env=env)
        assert json.loads(shown.stdout)["status"] == "running", output(shown)
        busy = agentco("resume", record.id, "--workspace", "ws", "-q", cwd=tmp_path, env=env)
        assert busy.returncode == 2 and "being worked on by another agentco process" in busy.stderr, output(busy)
    finally:
        kill(proc)


def test_a_run_killed_while_creating_its_project_folder_resumes_into_it(tmp_path):
    log = tmp_path / "calls.log"
    env = cli_env(log)
    proc = start(IDEA, "--model", FAKE, "-q", "--workspace", "ws", cwd=tmp_path, env=env)
    workspace = tmp_path / "ws"
    wait_for(lambda: (workspace / "roman" / ".git").exists(), proc)
    kill(proc)
    record, _, steps = only_run(workspace)
    assert steps == []  # the folder is there, but the PRD step never finished

    done = agentco("resume", record.id, "--workspace", "ws", "-q", cwd=tmp_path, env=env)
    assert done.returncode == 0, output(done)
    record, total, _ = only_run(workspace)
    assert record.status == "completed" and total == CALLS
    assert Path(record.project_path) == (workspace / "roman").resolve()


# --- 6. Ctrl-C -----------------------------------------------------------------------------------
def test_ctrl_c_saves_the_run_as_interrupted_and_prints_how_to_resume(tmp_path):
    log = tmp_path / "calls.log"
    env = cli_env(log)
    workspace = tmp_path / "ws"
    proc = start(IDEA, "--model", "fake:roman?delay=0.2", "-q", "--workspace", "ws", cwd=tmp_path, env=env)
    wait_for(lambda: (peek(workspace) or ("", "", 0))[2] >= 2, proc)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: to the whole process group
    out, _ = proc.communicate(timeout=60)

    assert proc.returncode == 130, out
    record, stored, _ = only_run(workspace)
    assert record.status == "interrupted"
    assert f"agentco resume {record.id}" in out
    assert "Traceback" not in out

    done = agentco("resume", record.id, "--workspace", "ws", "-q", cwd=tmp_path, env=env)
    assert done.returncode == 0, output(done)
    record, total, _ = only_run(workspace)
    assert record.status == "completed" and total == CALLS and record.replayed_calls == stored
    assert len(calls_made(log)) == CALLS


# --- 3. secrets ----------------------------------------------------------------------------------
def everything_written(root: Path) -> bytes:
    """Every file's bytes, git objects decompressed (loose and packed), symlinks not followed."""
    parts = []
    for path in root.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        parts.append(data)
        if path.parent.parent.name == "objects" and len(path.parent.name) == 2:
            parts.append(zlib.decompress(data))
    for git_dir in root.rglob(".git"):
        dump = subprocess.run(
            ["git", "cat-file", "--batch-all-objects", "--batch"], cwd=git_dir.parent, capture_output=True, check=True
        )
        parts.append(dump.stdout)
    return b"\n".join(parts)


def test_api_keys_never_reach_the_workspace(tmp_path):
    env = cli_env(
        OPENAI_API_KEY="sk-test-PLANTED-openai-4f9c2a7d1e",
        ANTHROPIC_API_KEY="sk-ant-test-PLANTED-anthropic-8b3e6f0c5a",
    )
    (tmp_path / "agentco.yaml").write_text("llm:\n  api_key: sk-PLANTED-CONFIG-6d1a9e4b7c\n")
    said = []
    done = agentco(IDEA, "--model", "fake:roman", "-q", "--workspace", "ws", cwd=tmp_path, env=env)
    assert done.returncode == 0, output(done)
    said.append(output(done))
    record, _, _ = only_run(tmp_path / "ws")
    shown = agentco("runs", "show", record.id, "--json", "--workspace", "ws", cwd=tmp_path, env=env)
    assert shown.returncode == 0, output(shown)
    said.append(output(shown))
    replay = agentco("run", "--replay", record.id, "-q", "--workspace", "ws", cwd=tmp_path, env=env)
    assert replay.returncode == 0, output(replay)
    said.append(output(replay))
    assert (tmp_path / "ws" / "roman_replay" / "roman.py").is_file()

    written = everything_written(tmp_path / "ws")
    assert b"to_roman" in written and b"Write the PRD" in written  # the walk does see the db and git objects
    assert PLANTED not in written
    assert "PLANTED" not in "".join(said)
    with RunStore.open(tmp_path / "ws") as store:
        assert all("PLANTED" not in json.dumps(run.options) for run in store.list_runs())


# --- 4. faults from a real HTTP server -------------------------------------------------------------
ASKED_FILE = re.compile(r"write (?:the complete file )?`([^`]+)`")


def company_on_the_wire():
    """Answers OpenAI chat requests as the scripted company does.

    Structured requests carry their schema name in ``response_format``; a code request carries
    none, so the file is read from the task line (it only routes; the answer is the script's).
    """
    script = copy.deepcopy(ROMAN)

    def answer(request: Recorded) -> Reply:
        messages = request.body["messages"]
        schema = (request.body.get("response_format") or {}).get("json_schema") or {}
        name = schema.get("name") or f"file {ASKED_FILE.search(messages[-1]['content']).group(1)}"
        return Reply(script.answer(ChatRequest(messages, json_schema=schema.get("schema"), schema_name=name)))

    return answer


LOOPBACK_KEY = "sk-loopback-PLANTED-2c7f9e1b4d"


def loopback_setup(tmp_path: Path, server: WireServer) -> dict[str, str]:
    (tmp_path / "agentco.yaml").write_text(
        f"llm:\n  base_url: {server.url}/v1\n  stall_timeout: 1\n  max_retries: 3\n", encoding="utf-8"
    )
    # conftest switches real model requests off; these go to the wire server on 127.0.0.1 only.
    return cli_env(AGENTCO_ALLOW_MODEL_REQUESTS="1", OPENAI_API_KEY=LOOPBACK_KEY)


def test_rate_limits_server_errors_drops_and_stalls_are_retried_within_limits(tmp_path, wire_server):
    env = loopback_setup(tmp_path, wire_server)
    company = company_on_the_wire()
    faults = {2: Status(429, headers={"Retry-After": "1"}), 4: Status(500), 6: Drop(), 8: Stall(seconds=5)}
    wire_server.fallback = lambda request: faults.get(len(wire_server.requests)) or company(request)

    done = agentco(IDEA, "--model", "openai:gpt-4o-mini", "-q", "--workspace", "ws", cwd=tmp_path, env=env)
    assert done.returncode == 0, output(done)

    requests = wire_server.requests
    assert len(requests) == CALLS + len(faults)
    assert all(r.path == "/v1/chat/completions" for r in requests)
    assert requests[2].at - requests[1].at >= 1.0  # Retry-After was honoured
    assert requests[8].at - requests[7].at >= 1.0  # the stall was given up on after stall_timeout
    record, stored, _ = only_run(tmp_path / "ws")
    assert record.status == "completed" and stored == CALLS
    root = tmp_path / "ws" / "roman"
    summary = json.loads((root / ".agentco" / "summary.json").read_text())
    assert summary["status"] == "passed" and summary["tests_failed"] == 0
    assert (root / "roman.py").read_text() == ROMAN.files["roman.py"]


def test_a_provider_down_past_the_retries_stops_the_run_and_resume_finishes_it(tmp_path, wire_server):
    env = loopback_setup(tmp_path, wire_server)
    company = company_on_the_wire()
    down = Status(500, "upstream is down", headers={"retry-after-ms": "50"})
    wire_server.fallback = lambda request: company(request) if len(wire_server.requests) <= 2 else down

    done = agentco(IDEA, "--model", "openai:gpt-4o-mini", "-q", "--workspace", "ws", cwd=tmp_path, env=env)
    said = output(done)
    assert done.returncode == 1, said
    assert "Traceback" not in said
    assert "upstream is down" in said and "4 attempts" in said
    record, stored, _ = only_run(tmp_path / "ws")
    assert f"agentco resume {record.id}" in said
    assert record.status == "failed" and stored == 2
    assert len(wire_server.requests) == 2 + 4  # the first try and max_retries=3 more
    # The key really went out, and neither the failure report nor the store kept it.
    assert wire_server.requests[0].headers["authorization"] == f"Bearer {LOOPBACK_KEY}"
    assert "PLANTED" not in said and PLANTED not in everything_written(tmp_path / "ws")

    wire_server.fallback = company
    before = len(wire_server.requests)
    done = agentco("resume", record.id, "--workspace", "ws", "-q", cwd=tmp_path, env=env)
    assert done.returncode == 0, output(done)
    assert len(wire_server.requests) - before == CALLS - 2  # PRD and design came from the store
    record, stored, _ = only_run(tmp_path / "ws")
    assert record.status == "completed" and stored == CALLS and record.replayed_calls == 2


def test_a_run_stopped_by_its_model_resumes_with_another_and_keeps_the_answers_it_had(tmp_path, wire_server):
    env = loopback_setup(tmp_path, wire_server)
    company = company_on_the_wire()
    down = Status(500, "this model is down", headers={"retry-after-ms": "50"})
    wire_server.fallback = lambda request: company(request) if len(wire_server.requests) <= 2 else down
    done = agentco(IDEA, "--model", "openai:gpt-4o-mini", "-q", "--workspace", "ws", cwd=tmp_path, env=env)
    assert done.returncode == 1, output(done)
    record, stored, _ = only_run(tmp_path / "ws")

    wire_server.fallback = company
    before = len(wire_server.requests)
    done = agentco("resume", record.id, "--model", "openai:gpt-4.1-mini", "--workspace", "ws", cwd=tmp_path, env=env)
    assert done.returncode == 0, output(done)
    assert "resumed with openai:gpt-4.1-mini" in done.stderr and "openai:gpt-4o-mini" in done.stderr
    later = wire_server.requests[before:]
    assert len(later) == CALLS - 2 and {r.body["model"] for r in later} == {"gpt-4.1-mini"}
    record, stored, _ = only_run(tmp_path / "ws")
    assert record.status == "completed" and record.replayed_calls == 2
    assert record.options["model"] == "openai:gpt-4.1-mini"  # a later resume goes on with it
