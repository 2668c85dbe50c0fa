"""The composition root and the event stream: runs started through ``agentco.runtime`` with the
scripted company, real SQLite, real git and the real sandbox."""

from __future__ import annotations

import asyncio

import pytest

from agentco import events as ev
from agentco.config import load_settings
from agentco.errors import ConfigError
from agentco.events import Event, EventBus
from agentco.runtime import RunRequest, start_run
from agentco.store import RunStore


def settings_for(tmp_path, config: str = ""):
    path = tmp_path / "agentco.yaml"
    path.write_text(config)
    return load_settings({"workspace": str(tmp_path / "ws")}, paths=[path], environ={})


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events if e.seq is not None]


async def test_a_run_started_through_the_runtime_streams_every_event_in_order(tmp_path):
    recorder = Recorder()
    request = RunRequest(idea="Write roman.py with to_roman and from_roman.", model="fake:roman")
    outcome = await start_run(settings_for(tmp_path), request, events=[recorder])

    assert outcome.status == "passed"
    numbered = [e for e in recorder.events if e.seq is not None]
    assert [e.seq for e in numbered] == list(range(1, len(numbered) + 1))
    assert {e.run_id for e in recorder.events} == {outcome.run_id}
    kinds = recorder.kinds()
    assert kinds[0] == ev.RUN_STARTED and kinds[-1] == ev.RUN_FINISHED
    assert numbered[-1].data["status"] == "completed"
    stages = [e.data["name"] for e in numbered if e.kind == ev.STAGE_FINISHED]
    assert stages[:4] == ["prd", "design", "tasks", "code"] and stages[4].startswith("tests")
    # every model call starts, then finishes with its tokens, before the next one starts
    calls = [e for e in numbered if e.kind in (ev.CALL_STARTED, ev.CALL_FINISHED)]
    assert [e.kind for e in calls] == [ev.CALL_STARTED, ev.CALL_FINISHED] * outcome.summary["llm_calls"]
    finished = [e.data for e in calls if e.kind == ev.CALL_FINISHED]
    assert all(d["completion_tokens"] > 0 and d["cost_usd"] == 0 for d in finished)
    # a message is published after the stage that wrote it is done, and artifacts before that
    prd_done = kinds.index(ev.STAGE_FINISHED)
    assert ev.ARTIFACT in kinds[:prd_done] and kinds[prd_done + 1] == ev.MESSAGE
    assert kinds.index(ev.PROJECT_OPENED) < kinds.index(ev.ARTIFACT)
    assert ev.TEST_REPORT in kinds
    # the store holds the same stream, so a late reader replays it exactly
    with RunStore.open(tmp_path / "ws") as store:
        stored = store.events(outcome.run_id)
        record = store.get_run(outcome.run_id)
    assert [(e.seq, e.kind, e.data) for e in stored] == [(e.seq, e.kind, e.data) for e in numbered]
    assert RunRequest.stored(record.options) == request
    assert record.status == "completed" and record.stage == "done" and record.llm_calls == outcome.summary["llm_calls"]


async def test_a_subscriber_that_joins_mid_run_gets_the_earlier_events_then_the_live_ones(tmp_path):
    from agentco.company.run import run_company
    from agentco.company.workshop import CompanyOptions
    from agentco.llm.client import LLMClient
    from agentco.llm.meter import Meter
    from agentco.testing.company import ROMAN, company_model

    first, late = Recorder(), Recorder()
    with RunStore.open(tmp_path) as store:
        run_id = store.new_run_id()
        store.create_run(run_id, "roman", "", {})
        bus = EventBus(run_id, store)

        def join_after_the_design(event: Event) -> None:
            first(event)
            if event.kind == ev.STAGE_FINISHED and event.data["name"] == "design":
                bus.subscribe(late, since=0)

        bus.subscribe(join_after_the_design)
        llm = LLMClient(company_model(ROMAN), Meter(), observer=bus)
        await run_company("Write roman.py.", CompanyOptions(workspace=tmp_path), llm, events=bus, run_id=run_id)

    numbered = [(e.seq, e.kind) for e in first.events if e.seq is not None]
    late_numbered = [(e.seq, e.kind) for e in late.events if e.seq is not None]
    assert late_numbered == numbered  # the replayed part, then live: no gap, no repeat
    joined = next(e.seq for e in first.events if e.kind == ev.STAGE_FINISHED and e.data["name"] == "design")
    assert late.events[joined - 1].seq == joined and late.events[joined].seq == joined + 1


async def test_follow_replays_from_a_sequence_number_and_ends_with_the_run(tmp_path):
    with RunStore.open(tmp_path) as store:
        run_id = store.new_run_id()
        store.create_run(run_id, "x", "", {})
        bus = EventBus(run_id, store)
        bus.emit(ev.RUN_STARTED, idea="x", model="fake:x")
        bus.emit(ev.NOTE, text="one")

        async def finish_later() -> None:
            await asyncio.sleep(0.05)
            bus.emit(ev.CALL_TOKEN, role="r", text="t")
            bus.emit(ev.NOTE, text="two")
            bus.emit(ev.RUN_FINISHED, status="completed")

        task = asyncio.create_task(finish_later())
        seen = [(e.seq, e.kind) async for e in bus.follow(since=1)]
        await task
    assert seen == [(2, ev.NOTE), (None, ev.CALL_TOKEN), (3, ev.NOTE), (4, ev.RUN_FINISHED)]


async def test_a_resumed_run_numbers_its_events_after_the_stored_ones(tmp_path):
    with RunStore.open(tmp_path) as store:
        run_id = store.new_run_id()
        store.create_run(run_id, "x", "", {})
        EventBus(run_id, store).emit(ev.NOTE, text="before the crash")
        assert EventBus(run_id, store).emit(ev.NOTE, text="after").seq == 2


@pytest.mark.parametrize(("config", "calls"), [("code_review: false\n", 5), ("code_review: true\n", 6), ("", 6)])
async def test_code_review_in_the_config_file_turns_the_review_on_and_off(tmp_path, config, calls):
    request = RunRequest(idea="Write roman.py with to_roman and from_roman.", model="fake:roman")
    outcome = await start_run(settings_for(tmp_path, config), request)
    assert outcome.status == "passed"
    assert outcome.summary["llm_calls"] == calls  # PRD, design, tasks, code, (review,) tests


async def test_a_request_flag_wins_over_the_config_file(tmp_path):
    request = RunRequest(idea="Write roman.py.", model="fake:roman", code_review=False, run_tests=False)
    settings = settings_for(tmp_path, "code_review: true\nrun_tests: true\n")
    outcome = await start_run(settings, request)
    assert outcome.summary["llm_calls"] == 5 and outcome.summary["tests_passed"] is None


def test_a_bad_request_is_a_clear_error():
    with pytest.raises(ConfigError, match="investment"):
        RunRequest.build(idea="x", investment=-1)
    with pytest.raises(ConfigError, match="say what to build"):
        RunRequest.build(idea="  ")
    with pytest.raises(ConfigError, match="Extra inputs"):
        RunRequest.build(idea="x", cost_limit=3)


def test_an_unknown_event_kind_is_refused():
    with pytest.raises(ValueError, match="unknown event kind"):
        EventBus().emit("stage.strated")
