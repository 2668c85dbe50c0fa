"""Scenario runs through the runtime and the command line, on the scripted ``fake:scenario`` model:
recorded in the run store, resumable, continued, listed, with model aliases per role and people
taking part from an answers file or a real pseudo-terminal."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentco.config import load_settings
from agentco.errors import ConfigError
from agentco.runtime import ScenarioRequest, resume_run, start_run
from agentco.scenario.human import HumanLeft
from agentco.scenario.models import resolve, role_models
from agentco.scenario.registry import load
from agentco.store import RunStore


def settings(tmp_path, **extra):
    return load_settings({"workspace": str(tmp_path), **extra}, paths=[], environ={})


def agentco(*args, cwd, env=None, timeout=60):
    return subprocess.run([sys.executable, "-m", "agentco", *args], capture_output=True, text=True, cwd=cwd,
                          stdin=subprocess.DEVNULL, timeout=timeout, env={**os.environ, **(env or {})})  # fmt: skip


async def test_a_debate_is_recorded_and_listed_with_the_model_of_every_turn(tmp_path):
    request = ScenarioRequest.build(scenario="debate", model="fake:scenario", inputs={"motion": "Tabs beat spaces."})
    outcome = await start_run(settings(tmp_path), request)
    assert outcome.status == "finished"
    assert [t["speaker"] for t in outcome.transcript] == ["proposer", "opposer", "proposer", "opposer", "judge"]
    assert {t["model"] for t in outcome.transcript} == {"fake:scenario"}
    assert outcome.transcript[-1]["fields"]["winner"] == "proposer"
    with RunStore.open(tmp_path) as store:
        record = store.get_run(outcome.run_id)
        assert record.status == "completed" and record.options["kind"] == "scenario"
        assert record.options["inputs"] == {"motion": "Tabs beat spaces."}
        assert [m.sent_from for m in store.messages(outcome.run_id)][-1] == "judge"
    assert (outcome.project / "transcript.md").read_text().startswith("[arguments] proposer:")
    listed = agentco("runs", "list", "--workspace", str(tmp_path), cwd=tmp_path)
    assert outcome.run_id in listed.stdout and "completed" in listed.stdout


def test_aliases_resolve_per_role_and_an_unset_alias_is_the_runs_model():
    debate = load("debate")
    models, notes = role_models(debate, {"opposer": "fake:other"}, {"strong": "fake:big"}, "fake:scenario")
    assert models == {"proposer": "fake:scenario", "opposer": "fake:other", "judge": "fake:big"}
    models, notes = role_models(debate, {}, {}, "fake:scenario")
    assert models["judge"] == "fake:scenario" and notes[0].endswith("fake:scenario: judge (strong)")
    assert resolve("small", {"small": "local:qwen2.5-coder-0.5b"}, "x:y") == "local:qwen2.5-coder-0.5b"
    with pytest.raises(ConfigError, match="neither a model alias"):
        resolve("huge", {}, "x:y", "judge")
    with pytest.raises(ConfigError, match="no role 'jury'"):
        role_models(debate, {"jury": "fake:x"}, {}, "fake:scenario")


def test_the_config_checks_its_model_aliases(tmp_path):
    assert settings(tmp_path, models={"strong": "openai:gpt-4o"}).models == {"strong": "openai:gpt-4o"}
    with pytest.raises(ConfigError, match="must look like provider:model"):
        settings(tmp_path, models={"strong": "gpt-4o"})
    aliased = load_settings({}, paths=[], environ={"AGENTCO_MODELS__SMALL": "local:qwen2.5-coder-0.5b"})
    assert aliased.models == {"small": "local:qwen2.5-coder-0.5b"}


async def test_a_role_model_and_an_alias_choose_each_roles_client(tmp_path):
    request = ScenarioRequest.build(scenario="debate", model="fake:scenario", role_models={"opposer": "strong"})
    outcome = await start_run(settings(tmp_path, models={"strong": "fake:scenario-strong"}), request)
    models = {t["speaker"]: t["model"] for t in outcome.transcript}
    assert models == {"proposer": "fake:scenario", "opposer": "fake:scenario-strong", "judge": "fake:scenario-strong"}
    with RunStore.open(tmp_path) as store:  # every call's model is on the event stream too
        calls = [(e.data["role"], e.data["model"]) for e in store.events(outcome.run_id) if e.kind == "call.started"]
    assert len(calls) == 5 and set(calls) == {(speaker, model) for speaker, model in models.items()}


def test_a_request_names_what_the_scenario_has():
    with pytest.raises(ConfigError, match="needs the input 'question'"):
        ScenarioRequest.build(scenario="service-desk")
    with pytest.raises(ConfigError, match="has no input 'topik'"):
        ScenarioRequest.build(scenario="question-bank", inputs={"topik": "x"})
    with pytest.raises(ConfigError, match="has no role 'audience'"):
        ScenarioRequest.build(scenario="debate", humans=["audience"])


class Leaves:
    """A person who answers ``lines`` and then leaves."""

    def __init__(self, *lines):
        self.lines, self.asked = list(lines), 0

    async def speak(self, turn):
        self.asked += 1
        if not self.lines:
            raise HumanLeft("the candidate left")
        return self.lines.pop(0)


async def test_a_run_stopped_at_a_human_turn_resumes_with_its_answers_and_calls_from_the_store(tmp_path, monkeypatch):
    log = tmp_path / "calls.log"
    monkeypatch.setenv("AGENTCO_FAKE_CALL_LOG", str(log))
    request = ScenarioRequest.build(scenario="interview", model="fake:scenario", humans=["candidate"])
    with pytest.raises(HumanLeft):
        await start_run(settings(tmp_path), request, human=Leaves("I know Python."))
    assert log.read_text().split() == ["interviewer", "interviewer"]
    with RunStore.open(tmp_path) as store:
        run_id = store.list_runs()[0].id
        assert store.get_run(run_id).status == "interrupted"  # resumable, not failed
        waits = [e.data for e in store.events(run_id) if e.kind == "note" and e.data.get("source") == "human"]
        assert [w["turn"] for w in waits] == ["interview.1.1.candidate", "interview.1.2.candidate"]
    person = Leaves("Generators.", "Tests first.")
    outcome = await resume_run(settings(tmp_path), run_id, human=person)
    assert person.asked == 2  # the first answer was served from the run
    said = [(t["speaker"], t["content"]) for t in outcome.transcript]
    assert said[1] == ("candidate", "I know Python.") and said[3] == ("candidate", "Generators.")
    assert said[-1][0] == "assessor" and outcome.transcript[-1]["private"]
    assert outcome.summary["replayed_calls"] == 2
    assert log.read_text().split() == ["interviewer"] * 2 + ["interviewer", "assessor"]


async def test_continue_goes_on_with_an_earlier_conversation(tmp_path):
    first = await start_run(settings(tmp_path), ScenarioRequest.build(scenario="debate", model="fake:scenario"))
    request = ScenarioRequest.build(scenario="debate", model="fake:scenario", continue_from=first.run_id)
    second = await start_run(settings(tmp_path), request)
    from agentco.runtime.scenario import earlier_conversation

    with RunStore.open(tmp_path) as store:
        earlier = earlier_conversation(store, second.run_id)
        assert len(earlier) == 10 and {m.cause_by for m in earlier} == {"earlier"}
        with pytest.raises(ConfigError, match="no run nope"):
            earlier_conversation(store, "nope")
    assert len(second.transcript) == 5  # its own turns; the earlier ones were shown to it


def test_the_cli_lists_shows_and_runs_scenarios_as_json(tmp_path):
    listed = agentco("scenarios", "list", cwd=tmp_path)
    assert listed.returncode == 0 and "question-bank" in listed.stdout and "company" in listed.stdout
    shown = agentco("scenarios", "show", "question-bank", cwd=tmp_path)
    assert "solve: solver_a, solver_b (parallel" in shown.stdout and "if verdict = agree -> END" in shown.stdout
    done = agentco("scenario", "run", "question-bank", "--input", "topic=sets", "--model", "fake:scenario",
                   "--workspace", str(tmp_path), "--json", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["status"] == "finished" and out["scenario"] == "question-bank"
    stages = [(t["stage"], t["speaker"]) for t in out["transcript"]]
    assert stages == [("write", "author"), ("solve", "solver_a"), ("solve", "solver_b"), ("solve", "majority"),
                      ("check", "critic")]  # fmt: skip


def test_the_cli_runs_a_scenario_file_and_reports_a_bad_one_with_its_line(tmp_path):
    good = tmp_path / "pair.yaml"
    good.write_text("roles:\n  a: {persona: A.}\n  b: {persona: B.}\nstages:\n  - {name: talk, speakers: [a, b]}\n")
    done = agentco("scenario", "run", str(good), "--model", "fake:scenario", "--workspace", str(tmp_path), "-q",
                   cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "[talk] a: a speaks (1)." in done.stdout and "[talk] b: b speaks (1)." in done.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("speakers: [a, b]", "speakers: [a, b], mode: sideways"))
    failed = agentco("scenario", "run", str(bad), "--model", "fake:scenario", "--workspace", str(tmp_path),
                     cwd=tmp_path)  # fmt: skip
    assert failed.returncode == 2
    assert f"{bad}:5: stages[talk].mode: Input should be 'round_robin' or 'parallel'" in failed.stderr


def test_human_turns_from_an_answers_file_and_a_refusal_with_nobody_to_answer(tmp_path):
    answers = tmp_path / "answers.txt"
    answers.write_text("# the candidate\nI write Python daily.\nI test with pytest.\nThanks!\n")
    done = agentco("scenario", "run", "interview", "--human", "candidate", "--answers", str(answers), "--model",
                   "fake:scenario", "--workspace", str(tmp_path), "--json", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    turns = json.loads(done.stdout)["transcript"]
    assert [t["content"] for t in turns if t["human"]] == ["I write Python daily.", "I test with pytest.", "Thanks!"]
    refused = agentco("scenario", "run", "interview", "--human", "candidate", "--model", "fake:scenario",
                      "--workspace", str(tmp_path), cwd=tmp_path)  # fmt: skip
    assert refused.returncode == 2 and "give --answers FILE" in refused.stderr


@pytest.mark.slow
def test_chat_through_a_pseudo_terminal(tmp_path):
    import pexpect

    child = pexpect.spawn(
        sys.executable,
        [
            "-m",
            "agentco",
            "chat",
            "interview",
            "--human",
            "candidate",
            "--model",
            "fake:scenario",
            "--workspace",
            str(tmp_path),
        ],  # fmt: skip
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    child.expect("interviewer speaks \\(1\\)")
    child.expect("candidate>")
    child.sendline("")  # an empty line asks again
    child.expect("candidate>")
    child.sendline("I have built two CLIs.")
    child.expect("interviewer speaks \\(2\\)")
    child.expect("candidate>")
    child.sendline("I use pytest.")
    child.expect("candidate>")
    child.sendline("/quit")
    child.expect("left the conversation")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus != 0
    with RunStore.open(tmp_path) as store:
        run = store.list_runs()[0]
    resumed = pexpect.spawn(sys.executable, ["-m", "agentco", "scenario", "resume", run.id, "--workspace",
                                             str(tmp_path)], cwd=str(tmp_path), encoding="utf-8", timeout=60)  # fmt: skip
    resumed.expect("I use pytest.")  # the conversation so far, then the turn it stopped at
    resumed.expect("candidate>")
    resumed.sendline("Thank you.")
    resumed.expect("assessor")
    resumed.expect(pexpect.EOF)
    resumed.close()
    assert resumed.exitstatus == 0
    transcript = json.loads(next(Path(tmp_path).glob("interview-*/transcript.json")).read_text())
    assert [t["content"] for t in transcript if t["human"]] == ["I have built two CLIs.", "I use pytest.", "Thank you."]
