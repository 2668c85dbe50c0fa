import json
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import pytest
import typer
from typer.testing import CliRunner

from agentco.cli.runs import register
from agentco.llm.base import ChatRequest, Completion, ModelRef, Usage
from agentco.store import RunNotFound, RunStore, db_path, find_store
from agentco.store.migrate import SCHEMA_VERSION

REF = ModelRef("openai", "gpt-4o-mini")


def request(text: str) -> ChatRequest:
    return ChatRequest(messages=[{"role": "user", "content": text}], max_tokens=64)


@pytest.fixture
def store(tmp_path):
    with RunStore.open(tmp_path / "ws") as s:
        yield s


@pytest.fixture
def run_id(store, tmp_path):
    rid = store.new_run_id()
    store.create_run(rid, "a todo app", tmp_path / "ws" / "todo", {"model": "fake:m", "investment": 2.0})
    return rid


def test_open_creates_db_in_wal_mode_with_schema_version(tmp_path):
    workspace = tmp_path / "deep" / "ws"
    with RunStore.open(workspace) as s:
        assert s.path == workspace / ".agentco" / "runs.db"
    conn = sqlite3.connect(db_path(workspace))
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_newer_schema_is_refused_with_a_clear_error(tmp_path):
    RunStore.open(tmp_path).close()
    conn = sqlite3.connect(db_path(tmp_path))
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    from agentco.errors import ConfigError

    with pytest.raises(ConfigError, match="schema version 99"):
        RunStore.open(tmp_path)


def test_run_ids_are_short_sortable_and_unique(store):
    ids = [store.new_run_id() for _ in range(20)]
    assert len(set(ids)) == 20
    assert all(len(i) == 20 and i[8] == "-" and i[15] == "-" for i in ids)
    assert ids[0][:15] <= ids[-1][:15]


def test_run_round_trip_and_updates(store, run_id, tmp_path):
    record = store.get_run(run_id)
    assert record.status == "running"
    assert record.idea == "a todo app"
    assert record.project_path == str((tmp_path / "ws" / "todo").resolve())
    assert record.options == {"model": "fake:m", "investment": 2.0}

    summary = {"llm_calls": 7, "replayed_calls": 2, "prompt_tokens": 1000, "completion_tokens": 300, "cost_usd": 0.012}
    store.update_run(run_id, stage="design", wall_s=12.5, **summary)
    store.update_run(run_id, status="failed", error="provider down")
    record = store.get_run(run_id)
    assert (record.stage, record.status, record.error, record.wall_s) == ("design", "failed", "provider down", 12.5)
    assert record.llm_calls == 7 and record.replayed_calls == 2
    assert (record.prompt_tokens, record.completion_tokens) == (1000, 300)
    assert record.cost_usd == pytest.approx(0.012)
    assert record.updated_at >= record.created_at

    with pytest.raises(ValueError, match="status must be one of"):
        store.update_run(run_id, status="done")
    with pytest.raises(TypeError, match="unknown fields: colour"):
        store.update_run(run_id, colour="red")
    with pytest.raises(RunNotFound):
        store.update_run("nope", stage="x")
    with pytest.raises(ValueError, match="already exists"):
        store.create_run(run_id, "again", tmp_path, {})
    assert store.get_run("nope") is None


def test_list_runs_newest_first_and_find_by_project(store, tmp_path):
    first = store.create_run("20260101-000000-aaaa", "one", tmp_path / "p", {}).id
    time.sleep(0.002)
    second = store.create_run("20260101-000001-bbbb", "two", tmp_path / "p", {}).id
    store.create_run("20260101-000002-cccc", "other", tmp_path / "q", {})
    assert [r.id for r in store.list_runs()][1:] == [second, first]
    assert store.find_run_by_project(tmp_path / "p").id == second
    assert store.find_run_by_project(str(tmp_path / "p" / ".." / "p")).id == second
    assert store.find_run_by_project(tmp_path / "none") is None


def test_messages_artifacts_steps_round_trip(store, run_id):
    payload = {"title": "Todo", "stories": ["add", "remove"]}
    first = store.record_message(
        run_id, id="m1", sent_from="pm", cause_by="WritePRD", send_to={"architect", "all"}, content="PRD here"
    )
    second = store.record_message(
        run_id,
        id="m2",
        sent_from="architect",
        cause_by="WriteDesign",
        send_to=["pm"],
        content="design",
        payload=payload,
    )
    assert (first, second) == (1, 2)
    msgs = store.messages(run_id)
    assert [(m.seq, m.id, m.sent_from, m.cause_by) for m in msgs] == [
        (1, "m1", "pm", "WritePRD"),
        (2, "m2", "architect", "WriteDesign"),
    ]
    assert msgs[0].send_to == ["all", "architect"]
    assert msgs[0].payload is None
    assert msgs[1].payload == payload

    store.record_artifact(run_id, "docs/prd.md", "ab" * 32, "prd")
    store.record_artifact(run_id, "src/app.py", "cd" * 32, "code")
    assert [(a.seq, a.path, a.sha256[:2], a.stage) for a in store.artifacts(run_id)] == [
        (1, "docs/prd.md", "ab", "prd"),
        (2, "src/app.py", "cd", "code"),
    ]

    for name in ("prd", "design", "code:src/app.py"):
        store.mark_step(run_id, name)
    store.mark_step(run_id, "prd")
    assert [s.name for s in store.steps(run_id)] == ["prd", "design", "code:src/app.py"]
    assert {s.status for s in store.steps(run_id)} == {"done"}


def test_rows_need_an_existing_run(store):
    with pytest.raises(sqlite3.IntegrityError):
        store.mark_step("no-such-run", "prd")


def test_call_cache_miss_then_hit(store, run_id):
    cache = store.call_cache(run_id)
    assert cache.lookup("k1") is None
    completion = Completion("def add(a, b): ...", Usage(120, 30), model="gpt-4o-mini-2024", finish_reason="stop")
    cache.save("k1", REF, request("write add"), completion, 0.0004)
    hit = cache.lookup("k1")
    assert hit is not completion
    assert (hit.text, hit.usage) == ("def add(a, b): ...", Usage(120, 30))
    assert (hit.model, hit.finish_reason) == ("gpt-4o-mini-2024", "stop")
    assert hit.replayed is False

    cache.save("k1", REF, request("write add"), Completion("other"), 1.0)
    assert cache.lookup("k1").text == "def add(a, b): ..."
    assert store.call_cache("another-run").lookup("k1") is None
    assert store.call_totals(run_id) == {"calls": 1, "prompt_tokens": 120, "completion_tokens": 30, "cost_usd": 0.0004}

    row = sqlite3.connect(store.path).execute("SELECT provider, model, request_json FROM calls").fetchone()
    assert row[:2] == ("openai", "gpt-4o-mini")
    assert json.loads(row[2]) == request("write add").key_material()


async def test_llm_client_replays_from_the_store(store, run_id):
    from agentco.llm.client import LLMClient
    from agentco.llm.meter import Meter

    class Scripted:
        provider, model = "fake", "scripted"
        calls = 0

        async def complete(self, req, on_token=None):
            Scripted.calls += 1
            return Completion(f"answer {Scripted.calls}", Usage(10, 5))

    first = LLMClient(Scripted(), Meter(), cache=store.call_cache(run_id))
    texts = [(await first.complete(request("q"))).text for _ in range(2)]
    resumed = LLMClient(Scripted(), Meter(), cache=store.call_cache(run_id))
    replayed = [await resumed.complete(request("q")) for _ in range(2)]
    assert [c.text for c in replayed] == texts == ["answer 1", "answer 2"]
    assert all(c.replayed for c in replayed)
    assert Scripted.calls == 2
    assert resumed.meter.replayed_calls == 2


def test_data_persists_after_reopening(tmp_path):
    workspace = tmp_path / "ws"
    with RunStore.open(workspace) as s:
        rid = s.new_run_id()
        s.create_run(rid, "idea", tmp_path / "proj", {"model": "fake:m"})
        s.record_message(rid, id="m", sent_from="a", cause_by="b", send_to=["c"], content="hello")
        s.call_cache(rid).save("k", REF, request("q"), Completion("text", Usage(3, 4)), 0.5)
        s.record_artifact(rid, "a.py", "0" * 64, "code")
        s.mark_step(rid, "prd")
        s.update_run(rid, status="interrupted", stage="design")
    with RunStore.open(workspace) as s:
        record = s.get_run(rid)
        assert (record.status, record.stage, record.options) == ("interrupted", "design", {"model": "fake:m"})
        assert s.messages(rid)[0].content == "hello"
        assert s.call_cache(rid).lookup("k").usage == Usage(3, 4)
        assert s.artifacts(rid)[0].path == "a.py"
        assert [st.name for st in s.steps(rid)] == ["prd"]
    assert find_store(rid, [tmp_path / "elsewhere", workspace]) == workspace.resolve()
    assert find_store("unknown", [workspace]) is None
    assert not (tmp_path / "elsewhere").exists()


def test_threads_share_one_store(store, run_id):
    cache = store.call_cache(run_id)

    def work(t):
        for i in range(40):
            cache.save(f"{t}-{i}", REF, request(f"{t}-{i}"), Completion(f"r{t}-{i}", Usage(1, 1)), 0.0)
            store.mark_step(run_id, f"step:{t}-{i}")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conn = sqlite3.connect(store.path)
    assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT seq) FROM calls").fetchone() == (320, 320)
    assert len(store.steps(run_id)) == 320
    assert cache.lookup("7-39").text == "r7-39"


PLANTED = "sk-planted-FAKE-0123456789abcdefghij"


def test_secrets_never_reach_the_database(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTCO_TEST_API_KEY", PLANTED)
    workspace = tmp_path / "ws"
    options = {
        "model": "openai:gpt-4o-mini",
        "investment": 3.0,
        "max_tokens": 5000,
        "api_key": "sk-other-secret-value",
        "github_token": "ghp_sometoken",
        "llm": {"password": "hunter2hunter2", "harmless": PLANTED, "base_url": f"https://proxy/?k={PLANTED}"},
        "extra_args": ["--fast", PLANTED],
    }
    s = RunStore.open(workspace)
    rid = s.new_run_id()
    s.create_run(rid, f"an idea that pastes {PLANTED}", tmp_path, options)
    s.update_run(rid, options=options, error=f"401 for key {PLANTED}")
    s.record_message(rid, id="m", sent_from="a", cause_by="b", send_to=["c"], content=PLANTED, payload={"k": PLANTED})
    s.call_cache(rid).save("k", REF, request(f"use {PLANTED}"), Completion(f"echo {PLANTED}"), 0.0)

    assert s.get_run(rid).options == {
        "model": "openai:gpt-4o-mini",
        "investment": 3.0,
        "max_tokens": 5000,
        "llm": {},
        "extra_args": ["--fast"],
    }
    assert PLANTED not in s.get_run(rid).error

    def raw_bytes():
        files = [p for p in s.path.parent.iterdir() if p.name.startswith("runs.db")]
        assert files
        return b"".join(p.read_bytes() for p in files)

    for secret in (PLANTED, "sk-other-secret-value", "ghp_sometoken", "hunter2hunter2"):
        assert secret.encode() not in raw_bytes()
    assert b"openai:gpt-4o-mini" in raw_bytes()
    s.close()
    for secret in (PLANTED, "sk-other-secret-value", "ghp_sometoken", "hunter2hunter2"):
        assert secret.encode() not in raw_bytes()


CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from agentco.llm.base import ChatRequest, Completion, ModelRef, Usage
    from agentco.store import RunStore

    workspace, run_id = Path(sys.argv[1]), sys.argv[2]
    store = RunStore.open(workspace)
    store.create_run(run_id, "idea", workspace / "project", {"model": "fake:m"})
    cache = store.call_cache(run_id)
    for i in range(100_000):
        text = f"<{i}>" + "x" * (20_000 + 997 * (i % 50)) + f"</{i}>"
        req = ChatRequest(messages=[{"role": "user", "content": f"step {i}"}])
        cache.save(f"key-{i}", ModelRef("fake", "m"), req, Completion(text, Usage(i, len(text))), 0.0)
        store.mark_step(run_id, f"code:{i}")
        print(i, flush=True)
    """
)


@pytest.mark.parametrize("seed", range(6))
def test_crash_mid_write_leaves_whole_rows_and_no_unfinished_step(tmp_path, seed):
    rng = random.Random(seed)
    workspace, rid = tmp_path / "ws", "20260101-000000-kill"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    child = subprocess.Popen([sys.executable, str(script), str(workspace), rid], stdout=subprocess.PIPE, text=True)
    target = rng.randint(1, 25)
    printed = [int(child.stdout.readline()) for _ in range(target)]
    time.sleep(rng.uniform(0, 0.02))
    child.send_signal(signal.SIGKILL)
    child.wait()
    printed += [int(line) for line in child.stdout.read().split()]
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    last_committed = printed[-1]

    conn = sqlite3.connect(db_path(workspace))
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    steps = [int(name.removeprefix("code:")) for (name,) in conn.execute("SELECT name FROM steps ORDER BY seq")]
    done = len(steps)
    assert steps == list(range(done))
    # Everything reported as committed survived; at most the step being written when killed is extra.
    assert last_committed + 1 <= done <= last_committed + 2
    rows = conn.execute(
        "SELECT key, seq, request_json, response_text, prompt_tokens, completion_tokens FROM calls ORDER BY seq"
    ).fetchall()
    # A step is marked only after its call is saved, so there is at most one call beyond the steps.
    assert len(rows) in (done, done + 1)
    for i, (key, seq, request_json, text, prompt_tokens, completion_tokens) in enumerate(rows):
        assert (key, seq, prompt_tokens) == (f"key-{i}", i + 1, i)
        assert text.startswith(f"<{i}>") and text.endswith(f"</{i}>") and len(text) == completion_tokens
        assert json.loads(request_json)["messages"][0]["content"] == f"step {i}"
    conn.close()

    with RunStore.open(workspace) as s:
        finished = {st.name for st in s.steps(rid)}
        first_unfinished = next(i for i in range(100_000) if f"code:{i}" not in finished)
        assert first_unfinished == done
        hit = s.call_cache(rid).lookup(f"key-{done}")
        assert hit is None or hit.text.endswith(f"</{done}>")


@pytest.fixture
def cli():
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), env={"COLUMNS": "200"})


def test_cli_runs_list_and_show(cli, tmp_path):
    workspace = tmp_path / "ws"
    with RunStore.open(workspace) as s:
        rid = s.new_run_id()
        s.create_run(rid, "idea", tmp_path / "proj", {})
        s.update_run(rid, stage="code", status="failed", error="provider down", llm_calls=4, cost_usd=0.25, wall_s=75)
        s.mark_step(rid, "prd")
        s.mark_step(rid, "design")

    result = cli("runs", "list", "--workspace", str(workspace))
    assert result.exit_code == 0, result.output
    assert rid in result.output and "failed" in result.output and "$0.2500" in result.output
    assert "1m15s" in result.output

    result = cli("runs", "show", rid, "--workspace", str(workspace))
    assert result.exit_code == 0, result.output
    assert "provider down" in result.output and "prd, design" in result.output

    result = cli("runs", "show", rid, "--workspace", str(workspace), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "status": "failed",
        "stage": "code",
        "llm_calls": 4,
        "replayed_calls": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cost_usd": 0.25,
        "wall_s": 75.0,
        "project_path": str((tmp_path / "proj").resolve()),
        "steps": ["prd", "design"],
        "error": "provider down",
    }


def test_cli_unknown_run_and_empty_workspace(cli, tmp_path):
    RunStore.open(tmp_path / "ws").close()
    result = cli("runs", "show", "20990101-000000-zzzz", "--workspace", str(tmp_path / "ws"))
    assert result.exit_code == 1
    assert "no run 20990101-000000-zzzz" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)

    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli("runs", "show", "x", "--workspace", str(empty)).exit_code == 1
    result = cli("runs", "list", "--workspace", str(empty))
    assert result.exit_code == 0 and "no runs yet" in result.output
    assert list(empty.iterdir()) == []  # reading never creates a store
    missing = cli("runs", "list", "--workspace", str(tmp_path / "missing"))  # a typo is an error, not "no runs"
    assert "no folder" in str(missing.exception) and not (tmp_path / "missing").exists()


def test_a_claimed_run_is_live_until_its_holder_lets_go_and_cannot_be_claimed_twice(store, run_id):
    from agentco.store import RunBusy

    assert not store.is_live(run_id)
    with store.claim(run_id):
        assert store.is_live(run_id)
        with pytest.raises(RunBusy, match="another agentco process"), store.claim(run_id):
            pass
    assert not store.is_live(run_id)


def test_a_version_1_store_gains_the_event_stream_and_keeps_its_runs(tmp_path):
    with RunStore.open(tmp_path) as s:
        s.create_run("old-run", "an idea", "", {"idea": "an idea"})
    conn = sqlite3.connect(db_path(tmp_path))
    conn.executescript("DROP TABLE events; PRAGMA user_version = 1;")
    conn.close()
    with RunStore.open(tmp_path) as s:
        assert s.get_run("old-run").idea == "an idea"
        assert s.append_event("old-run", "note", {"text": "hello"}, 0.0) == 1
        assert [(e.seq, e.kind, e.data) for e in s.events("old-run")] == [(1, "note", {"text": "hello"})]
    conn = sqlite3.connect(db_path(tmp_path))
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_many_runs_opening_a_new_store_at_once_all_get_it(tmp_path):
    """A batch starts several runs at once on a workspace with no store yet: each open waits for the
    others' WAL switch and schema instead of failing with "database is locked" (before the retry,
    about one round in 30 of this failed)."""
    import threading

    failures: list[str] = []
    for round_no in range(40):
        workspace, start = tmp_path / f"ws{round_no}", threading.Barrier(8)

        def open_it(workspace=workspace, start=start, round_no=round_no) -> None:
            start.wait()
            try:
                RunStore.open(workspace).close()
            except Exception as exc:  # noqa: BLE001 - the test reports what any open raised
                failures.append(f"round {round_no}: {exc!r}")

        threads = [threading.Thread(target=open_it) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert failures == []
