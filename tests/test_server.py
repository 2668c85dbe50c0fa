"""The team server as a client sees it: a real uvicorn process on loopback (``agentco serve``), the
scripted company (``fake:roman``), the real store, git and sandbox, and plain HTTP from urllib.
API: create, follow the event stream, reconnect with ``Last-Event-ID``, download, answer a gate,
cancel, resume after the server is killed. Security: tokens and scopes, paths and links, CSRF,
the Host header, a flood of bad requests, and binding beyond loopback without tokens."""

from __future__ import annotations

import io
import json
import time
import zipfile

import pytest

from agentco.sandbox import is_available
from served import IDEA, Server, agentco, free_port, make_tokens

sandboxed = pytest.mark.skipif(not is_available(), reason="bubblewrap cannot run here")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")


@pytest.fixture
def server(tmp_path):
    running = Server(tmp_path / "ws")
    yield running
    running.stop()


@sandboxed
def test_a_run_is_created_followed_live_resumed_from_last_event_id_and_downloaded(server):
    server.start()
    created = server.json("POST", "/api/runs", {"idea": IDEA})
    run_id = created["id"]
    first = server.events(run_id, stop_after=4)
    assert [e["event_id"] for e in first] == [1, 2, 3, 4] and first[0]["kind"] == "run.started"
    rest = server.events(run_id, last_id=4)  # reconnecting: exactly the events after the fourth, to the end
    ids = [e["event_id"] for e in first + rest]
    assert ids == list(range(1, len(ids) + 1)) and rest[-1]["kind"] == "run.finished"
    shown = server.wait(run_id, {"completed"})
    assert shown["stage"] == "done" and shown["llm_calls"] > 0 and shown["project"]
    again = server.events(run_id)  # a finished run: its whole stream from the store, then the end
    assert [e["event_id"] for e in again] == ids and all(e["event_id"] == e["seq"] for e in again)
    tree = server.json("GET", f"/api/runs/{run_id}/files")
    paths = {f["path"] for f in tree["files"]}
    assert "roman.py" in paths and not any(p.startswith(".git/") for p in paths)
    status, headers, body = server.call("GET", f"/api/runs/{run_id}/files/roman.py")
    assert status == 200 and b"def " in body and headers["content-type"].startswith("text/plain")
    status, headers, body = server.call("GET", f"/api/runs/{run_id}/archive.zip")
    assert status == 200 and headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert f"{shown['project']}/roman.py" in names and not any("/.git/" in n for n in names)
    listed = server.json("GET", "/api/runs")
    assert [r["id"] for r in listed] == [run_id]


@sandboxed
def test_a_gate_is_answered_over_http_and_an_invalid_edit_comes_back_with_its_errors(server):
    server.start()
    run_id = server.json("POST", "/api/runs", {"idea": IDEA, "review": ["prd"]})["id"]
    deadline = time.monotonic() + 60
    while (status := server.call("GET", f"/api/runs/{run_id}/gate")[0]) != 200 and time.monotonic() < deadline:
        time.sleep(0.3)
    question = server.json("GET", f"/api/runs/{run_id}/gate")
    assert question["stage"] == "prd" and question["document"].lstrip().startswith("{")
    assert server.json("GET", f"/api/runs/{run_id}")["waiting_for_review"] is True
    status, _, body = server.call("POST", f"/api/runs/{run_id}/gate", {"decision": "edit", "document": '{"x": 1}'})
    assert status == 422 and json.loads(body)["errors"]
    assert server.call("GET", f"/api/runs/{run_id}/gate")[0] == 200  # still waiting for a valid answer
    assert server.json("POST", f"/api/runs/{run_id}/gate", {"decision": "approve"})["answered"] == "approve"
    server.wait(run_id, {"completed"})
    answered = [e for e in server.events(run_id) if e["kind"] == "review.answered"]
    assert [(e["stage"], e["decision"]) for e in answered] == [("prd", "approve")]


@sandboxed
def test_a_run_is_cancelled_and_resumed_after_the_server_is_killed(tmp_path):
    workspace = tmp_path / "ws"
    first = Server(workspace, "fake:roman?delay=0.4").start()
    try:
        cancelled = first.json("POST", "/api/runs", {"idea": IDEA})["id"]
        first.events(cancelled, stop_after=3)
        assert first.json("POST", f"/api/runs/{cancelled}/cancel")["status"] == "cancelling"
        assert first.wait(cancelled, {"interrupted"})["status"] == "interrupted"
        killed = first.json("POST", "/api/runs", {"idea": IDEA, "project_name": "second"})["id"]
        seen = first.events(killed, stop_after=6)
        assert any(e["kind"] == "call.finished" for e in seen)
    finally:
        first.kill()  # mid-run, no chance to record anything
    second = Server(workspace, "fake:roman").start()
    try:
        assert second.json("GET", f"/api/runs/{killed}")["status"] == "interrupted"
        assert second.json("POST", f"/api/runs/{killed}/resume")["id"] == killed
        assert second.wait(killed, {"completed"})["stage"] == "done"
        status, _, body = second.call("POST", f"/api/runs/{killed}/resume")
        assert status == 409 and b"already completed" in body
    finally:
        second.stop()


ENDPOINTS = [
    ("GET", "/api/runs", None, "read"),
    ("POST", "/api/runs", {"idea": IDEA}, "run"),
    ("GET", "/api/runs/{id}", None, "read"),
    ("GET", "/api/runs/{id}/events", None, "read"),
    ("POST", "/api/runs/{id}/cancel", None, "run"),
    ("POST", "/api/runs/{id}/resume", None, "run"),
    ("GET", "/api/runs/{id}/gate", None, "read"),
    ("POST", "/api/runs/{id}/gate", {"decision": "approve"}, "run"),
    ("GET", "/api/runs/{id}/files", None, "read"),
    ("GET", "/api/runs/{id}/files/roman.py", None, "read"),
    ("GET", "/api/runs/{id}/archive.zip", None, "read"),
    ("GET", "/api/session", None, "read"),
]


@sandboxed
def test_every_endpoint_refuses_missing_wrong_revoked_and_under_scopedmake_tokens(server):
    made = make_tokens(server.workspace)
    server.token = made["run"]
    server.start()
    run_id = server.json("POST", "/api/runs", {"idea": IDEA})["id"]
    server.wait(run_id, {"completed"})
    forged = made["admin"][:-4] + ("aaaa" if not made["admin"].endswith("aaaa") else "bbbb")
    for method, path, body, needed in ENDPOINTS:
        path = path.format(id=run_id)
        for token in (None, "not-a-token", forged, made["gone"]):
            status, _, _ = server.call(method, path, body, token=token)
            assert status == 401, (method, path, token, status)
        if needed != "read":
            assert server.call(method, path, body, token=made["read"])[0] == 403, (method, path)
        else:  # allowed: whatever the answer, not a refusal of the token (the gate: 404, none waits)
            assert server.call(method, path, body, token=made["read"])[0] not in (401, 403), (method, path)
    assert server.call("GET", "/healthz", token=None)[0] == 200  # health says nothing about runs


@sandboxed
def test_paths_out_of_the_project_and_links_in_it_are_refused(server):
    server.start()
    run_id = server.json("POST", "/api/runs", {"idea": IDEA})["id"]
    root = server.workspace / server.wait(run_id, {"completed"})["project"]
    (root / "passwd_link").symlink_to("/etc/passwd")
    (root / "etc_link").symlink_to("/etc")
    for path in ("../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%2e%2e/%2e%2e/etc/passwd", "passwd_link",
                 "etc_link/passwd", ".git/config", "/etc/passwd", "tests/../../x"):  # fmt: skip
        status, _, body = server.call("GET", f"/api/runs/{run_id}/files/{path}")
        assert status in (403, 404) and b"root:" not in body, (path, status)
    tree = server.json("GET", f"/api/runs/{run_id}/files")
    assert not {"passwd_link", "etc_link/passwd"} & {f["path"] for f in tree["files"]}
    _, _, body = server.call("GET", f"/api/runs/{run_id}/archive.zip")
    assert not any("link" in n for n in zipfile.ZipFile(io.BytesIO(body)).namelist())


def test_the_page_session_needs_its_csrf_token_and_a_loopback_host(server):
    made = make_tokens(server.workspace)
    server.token = made["run"]
    server.start()
    status, headers, body = server.call("POST", "/api/session", {"token": made["run"]}, token=None)
    assert status == 200 and "HttpOnly" in headers["set-cookie"] and "SameSite=strict" in headers["set-cookie"]
    cookie = headers["set-cookie"].split(";")[0]
    csrf = json.loads(body)["csrf"]
    new = {"idea": "x", "project_name": "../x"}  # refused for its folder after the checks, so nothing runs
    cross_site = server.call("POST", "/api/runs", new, token=None, headers={"Cookie": cookie})
    assert cross_site[0] == 403 and b"X-CSRF-Token" in cross_site[2]
    same_site = server.call("POST", "/api/runs", new, token=None, headers={"Cookie": cookie, "X-CSRF-Token": csrf})
    assert same_site[0] == 422
    assert server.call("GET", "/api/runs", token=None, headers={"Cookie": cookie})[0] == 200
    rebinding = server.call("GET", "/api/runs", headers={"Host": "evil.example:8765"})
    assert rebinding[0] == 403
    agentco("tokens", "revoke", "run", "--workspace", str(server.workspace), cwd=server.workspace.parent)
    assert server.call("GET", "/api/runs", token=None, headers={"Cookie": cookie})[0] == 401  # dies with its token


def test_two_hundred_bad_requests_leave_the_server_serving(server):
    server.start()
    bad = [("POST", "/api/runs", b"{not json"), ("POST", "/api/runs", b'{"idea": 3, "extra": 1}'),
           ("GET", "/api/runs/../../etc", None), ("GET", "/api/runs/" + "9" * 5000, None),
           ("POST", "/api/runs/20990101-000000-abcd/gate", b'{"decision": "maybe"}'),
           ("DELETE", "/api/runs", None), ("GET", "/api/runs/x/events", None)]  # fmt: skip
    codes = set()
    for n in range(200):
        method, path, raw = bad[n % len(bad)]
        codes.add(server.call(method, path, raw=raw)[0])
    assert codes <= {400, 404, 405, 414, 422, 431} and 500 not in codes
    assert server.call("GET", "/healthz")[0] == 200 and server.call("GET", "/api/runs")[0] == 200


def test_serving_beyond_loopback_without_tokens_is_refused(tmp_path):
    done = agentco("serve", "--host", "0.0.0.0", "--port", str(free_port()), "--workspace", str(tmp_path / "ws"),
                   cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2 and "without API tokens" in done.stderr and "Traceback" not in done.stderr


def test_files_are_read_without_following_links_fifos_or_leaving_the_project(tmp_path):
    import os

    from agentco.server.files import Refused, archive, read_file, tree

    root = tmp_path / "p"
    (root / "sub").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "a.py").write_text("A = 1\n")
    (root / "sub" / "b.py").write_text("B = 2\n")
    (root / ".git" / "config").write_text("[core]\n")
    (root / "link.py").symlink_to("/etc/passwd")
    (root / "dirlink").symlink_to("/etc")
    os.mkfifo(root / "fifo.py")  # opening it to read would block for ever
    assert read_file(root, "a.py") == b"A = 1\n" and read_file(root, "sub/b.py") == b"B = 2\n"
    for path in ("link.py", "dirlink/passwd", "fifo.py", "../p/a.py", "/etc/passwd", ".git/config", "sub//b.py",
                 "a.py/x", ""):  # fmt: skip
        with pytest.raises(Refused):
            read_file(root, path)
    with pytest.raises(FileNotFoundError):
        read_file(root, "missing.py")
    assert [f["path"] for f in tree(root)] == ["a.py", "sub/b.py"]
    with archive(root, "p") as zipped:
        assert sorted(zipfile.ZipFile(zipped).namelist()) == ["p/a.py", "p/sub/b.py"]


def test_tokens_are_stored_hashed_in_a_private_file_and_revoked_by_name(tmp_path):
    import sqlite3
    import stat

    from agentco.server.tokens import TokenStore, allows, tokens_path

    store = TokenStore.open(tmp_path)
    token = store.create("ci", "run")
    assert store.verify(token).scope == "run" and store.verify(token + "x") is None
    assert store.verify("agentco_" + token.split("_")[1] + "_guess") is None
    assert stat.S_IMODE(tokens_path(tmp_path).stat().st_mode) == 0o600
    with sqlite3.connect(tokens_path(tmp_path)) as db:
        stored = " ".join(str(v) for row in db.execute("SELECT * FROM tokens") for v in row)
    assert token.rsplit("_", 1)[-1] not in stored
    assert [t.id for t in store.revoke("ci")] == [token.split("_")[1]] and store.verify(token) is None
    assert not store.has_active() and store.revoke("ci") == []
    assert allows("admin", "run") and allows("run", "read") and not allows("read", "run")
    store.close()
