"""A Data Interpreter run through the team server: the data file travels in the request (a client
never names a file of the server's), the plan gate is answered over HTTP, and the notebook, the
chart and the answer come back as the run's files. The scripted analyst (``fake:sales``) and a real
kernel in the sandbox."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest

from agentco.sandbox import is_available
from agentco.testing.analyst import SALES_CSV
from served import Server

pytestmark = pytest.mark.skipif(not is_available(), reason="bubblewrap cannot run here")
pytest.importorskip("fastapi")
REQUEST = "Which region of data/sales.csv grew fastest? Plot monthly revenue. Answer as @fastest_region[name]."


@pytest.fixture(scope="module")
def ds_env() -> None:
    """The data-science environment the server's kernel uses (created once per machine)."""
    from agentco.di.environment import ensure_environment

    ensure_environment(Path.home() / ".cache" / "agentco" / "envs")


@pytest.fixture
def server(tmp_path):
    running = Server(tmp_path / "ws", "fake:sales")
    yield running
    running.stop()


def sales(name: str = "sales.csv") -> dict[str, str]:
    return {"name": name, "content_base64": base64.b64encode(SALES_CSV.encode()).decode()}


def test_a_data_question_with_its_file_is_planned_approved_and_answered_over_http(server, ds_env):
    server.start()
    body = {"kind": "di", "idea": REQUEST, "data": [sales()], "review": ["plan"], "project_name": "sales"}
    run_id = server.json("POST", "/api/runs", body)["id"]
    deadline = time.monotonic() + 120
    while server.call("GET", f"/api/runs/{run_id}/gate")[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.3)
    question = server.json("GET", f"/api/runs/{run_id}/gate")
    assert question["stage"] == "plan"
    assert server.json("POST", f"/api/runs/{run_id}/gate", {"decision": "approve"})["answered"] == "approve"
    shown = server.wait(run_id, {"completed", "failed"}, timeout=300)
    assert shown["status"] == "completed" and shown["project"] == "sales", shown
    finished = [e for e in server.events(run_id) if e["kind"] == "run.finished"]
    assert finished[-1]["result"] == "answered"
    paths = {f["path"] for f in server.json("GET", f"/api/runs/{run_id}/files")["files"]}
    assert {"notebook.ipynb", "data/sales.csv"} <= paths and any(p.endswith(".png") for p in paths)
    status, _, data = server.call("GET", f"/api/runs/{run_id}/files/data/sales.csv")
    assert status == 200 and data.decode() == SALES_CSV
    uploads = list((server.workspace / ".agentco" / "uploads").glob("*/sales.csv"))
    assert len(uploads) == 1 and uploads[0].read_text() == SALES_CSV


def test_bad_data_requests_are_refused_before_anything_is_stored(server):
    server.start()
    refused = [
        {"kind": "di", "idea": REQUEST, "data": [sales("../../etc/cron.d/x")]},  # a name, not a path
        {"kind": "di", "idea": REQUEST, "data": [sales(".bashrc")]},
        {"kind": "di", "idea": REQUEST, "data": [{"name": "a.csv", "content_base64": "not base64!"}]},
        {"kind": "di", "idea": REQUEST, "data": [sales(), sales()]},
        {"kind": "di", "idea": REQUEST, "review": ["prd"]},  # a company gate on a data question
        {"idea": "Write roman.py", "data": [sales()]},  # data on a company run
        {"kind": "di", "idea": REQUEST, "data": ["/etc/passwd"]},  # a server path is not a file
    ]
    for body in refused:
        status, _, answer = server.call("POST", "/api/runs", body)
        assert status == 422, (body, status, answer[:300])
        assert "Traceback" not in answer.decode()
    assert server.json("GET", "/api/runs") == []
    uploads = server.workspace / ".agentco" / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())
    assert json.loads(server.call("GET", "/healthz")[2])["status"] == "ok"
