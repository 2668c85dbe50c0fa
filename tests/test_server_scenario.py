"""Scenarios through the team server: the page's picker reads the built-ins, a conversation with a
person in one role is held over HTTP (the run waits at each of the person's turns), a person who
leaves stops the run where it is and a resume asks only what is still unanswered. The scripted
``fake:scenario`` model plays the other roles."""

from __future__ import annotations

import time

import pytest

from served import Server

pytest.importorskip("fastapi")


@pytest.fixture
def server(tmp_path):
    running = Server(tmp_path / "ws", "fake:scenario")
    yield running
    running.stop()


def next_turn(server: Server, run_id: str, timeout: float = 60) -> dict | None:
    """The person's waiting turn, or None once the run is no longer worked on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, _, _ = server.call("GET", f"/api/runs/{run_id}/turn")
        if status == 200:
            return server.json("GET", f"/api/runs/{run_id}/turn")
        if server.json("GET", f"/api/runs/{run_id}")["status"] not in {"queued", "running"}:
            return None
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} neither asked nor ended in {timeout} s")


def test_the_picker_lists_the_built_in_scenarios_with_their_inputs_and_roles(server):
    server.start()
    listed = {s["name"]: s for s in server.json("GET", "/api/scenarios")}
    assert {"debate", "service-desk", "interview", "question-bank", "news-desk", "cross-check"} <= set(listed)
    assert "company" not in listed  # a pipeline, started as kind company
    interview = listed["interview"]
    assert interview["inputs"]["position"]["default"] == "junior Python developer"
    assert [r["name"] for r in interview["roles"]] == ["interviewer", "candidate", "assessor"]


def test_a_person_plays_the_candidate_over_http_and_the_transcript_has_their_words(server):
    server.start()
    body = {"kind": "scenario", "scenario": "interview", "inputs": {"position": "data engineer"},
            "humans": ["candidate"]}  # fmt: skip
    run_id = server.json("POST", "/api/runs", body)["id"]
    said = []
    while (turn := next_turn(server, run_id)) is not None:
        assert turn["role"] == "candidate" and turn["stage"] == "interview"
        assert "data engineer" in turn["instruction"]
        assert turn["new"] and turn["new"][-1]["speaker"] == "interviewer"
        assert server.json("GET", f"/api/runs/{run_id}")["waiting_for_person"] == "candidate"
        said.append(f"My answer number {len(said) + 1}.")
        assert server.json("POST", f"/api/runs/{run_id}/turn", {"text": said[-1]})["answered"] == "said"
    shown = server.wait(run_id, {"completed", "failed", "interrupted"})
    assert shown["status"] == "completed" and shown["kind"] == "scenario", shown
    assert len(said) == 3  # three rounds, the scripted interviewer never ends early
    messages = [e for e in server.events(run_id) if e["kind"] == "message.published"]
    spoken = [(m["sent_from"], m["content"]) for m in messages]
    assert [c for who, c in spoken if who == "candidate"] == said
    assert all(m["payload"]["human"] for m in messages if m["sent_from"] == "candidate")
    assert spoken[-1][0] == "assessor"


def test_a_person_who_leaves_stops_the_run_and_a_resume_asks_only_what_is_unanswered(server):
    server.start()
    body = {"kind": "scenario", "scenario": "interview", "humans": ["candidate"]}
    run_id = server.json("POST", "/api/runs", body)["id"]
    assert next_turn(server, run_id) is not None
    server.json("POST", f"/api/runs/{run_id}/turn", {"text": "First answer."})
    assert next_turn(server, run_id) is not None
    assert server.json("POST", f"/api/runs/{run_id}/turn", {"leave": True})["answered"] == "left"
    stopped = server.wait(run_id, {"completed", "failed", "interrupted"})
    assert stopped["status"] == "interrupted"  # resumable, not failed
    assert server.call("POST", f"/api/runs/{run_id}/turn", {"text": "too late"})[0] == 404
    server.json("POST", f"/api/runs/{run_id}/resume")
    asked = 0
    while next_turn(server, run_id) is not None:
        asked += 1
        server.json("POST", f"/api/runs/{run_id}/turn", {"text": f"Answer after the break {asked}."})
    assert server.wait(run_id, {"completed", "failed", "interrupted"})["status"] == "completed"
    assert asked == 2  # the first answer was kept; the second and third turns were asked
    candidate = [e["content"] for e in server.events(run_id) if e["kind"] == "message.published"
                 and e["sent_from"] == "candidate"]  # fmt: skip
    assert candidate[0] == "First answer." and candidate[-1] == "Answer after the break 2."


def test_bad_scenario_requests_are_refused_clearly(server):
    server.start()
    refused = [
        {"kind": "scenario"},  # which scenario
        {"kind": "scenario", "scenario": "no-such-thing"},
        {"kind": "scenario", "scenario": "company"},  # the pipeline, not a scenario
        {"kind": "scenario", "scenario": "../../etc/passwd"},  # a name, never a server path
        {"kind": "scenario", "scenario": "interview", "humans": ["ceo"]},
        {"kind": "scenario", "scenario": "interview", "inputs": {"salary": "1"}},
        {"kind": "scenario", "scenario": "debate", "review": ["prd"]},
        {"idea": "Write roman.py", "scenario": "debate"},  # scenario fields on a company run
        {"kind": "company", "idea": "  "},
    ]
    for body in refused:
        status, _, answer = server.call("POST", "/api/runs", body)
        assert status == 422, (body, status, answer[:300])
        assert "Traceback" not in answer.decode()
    assert server.json("GET", "/api/runs") == []
    assert server.call("POST", "/api/runs/20260101-000000-abcd/turn", {"text": "hi"})[0] == 404
