"""One run of a scenario: its limits on the meter, the conversation, its transcript, its outcome."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentco.core.ending import announce_failure
from agentco.core.message import Message
from agentco.events import RUN_FINISHED, RUN_STARTED, EventBus
from agentco.llm.client import LLMClient
from agentco.scenario.engine import Conversation, Setup
from agentco.scenario.schema import Scenario


@dataclass
class ScenarioOutcome:
    run_id: str | None
    status: str
    """``finished`` (it reached END), or ``limit`` (it used up its messages)."""
    project: Path | None
    """The folder holding the transcript (transcript.md, transcript.json)."""
    summary: dict[str, Any]
    notes: list[str]
    answer: str
    """The transcript as text."""
    transcript: list[dict[str, Any]]


async def run_scenario(
    scenario: Scenario,
    setup: Setup,
    llm: LLMClient,
    *,
    workspace: Path,
    events: EventBus | None = None,
    store: Any = None,
    run_id: str | None = None,
    previous_wall_s: float = 0.0,
) -> ScenarioOutcome:
    """Hold the conversation. Raises what stops it (a budget, the person leaving) after announcing
    it; ``resume`` then goes through it again with the answers served from the store."""
    from agentco.store.recorder import follow_run

    events = events or EventBus(run_id, store)
    wall_s = follow_run(events, store, run_id, llm.meter.summary, previous_wall_s)
    tighten(llm, scenario)
    events.emit(RUN_STARTED, idea=f"scenario {scenario.name}", model=str(llm.ref), scenario=scenario.name,
                inputs=setup.inputs)  # fmt: skip
    conversation = Conversation(scenario, setup, events)
    with announce_failure(events):
        if setup.retriever is not None and scenario.knowledge():
            setup.retriever.open(scenario.knowledge())  # a missing knowledge base is said before any call
        try:
            await conversation.run()
        finally:
            if setup.retriever is not None:
                setup.retriever.close()
        lines = [turn_record(m) for m in conversation.said]
        folder = write_transcript(workspace / f"{scenario.name}-{run_id or 'run'}", lines)
    summary = {"status": conversation.ended, "scenario": scenario.name, **llm.meter.summary(), "wall_s": wall_s(),
               "tests_passed": None, "tests_failed": None, "model": str(llm.ref), "notes": conversation.notes,
               "transcript": lines}  # fmt: skip
    events.emit(RUN_FINISHED, status="completed", result=conversation.ended, project=str(folder))
    return ScenarioOutcome(run_id, conversation.ended, folder, summary, conversation.notes, as_text(lines), lines)


def tighten(llm: LLMClient, scenario: Scenario) -> None:
    """The scenario's token and dollar limits on the run's meter, where they are tighter than the
    settings' (the meter checks them before every call)."""
    meter, limits = llm.meter, scenario.limits
    if limits.tokens is not None:
        meter.max_tokens = min(limits.tokens, meter.max_tokens or limits.tokens)
    if limits.budget is not None:
        meter.max_budget = min(limits.budget, meter.max_budget if meter.max_budget is not None else limits.budget)


def turn_record(message: Message) -> dict[str, Any]:
    record = dict(message.payload or {})
    return {"id": message.id, "speaker": message.sent_from, "stage": message.cause_by, "content": message.content,
            **{key: record.get(key) for key in ("visit", "round", "model", "fields", "private", "human")},
            "citations": record.get("citations") or []}  # fmt: skip


def as_text(lines: list[dict[str, Any]]) -> str:
    out = []
    for line in lines:
        private = " (private)" if line["private"] else ""
        out.append(f"[{line['stage']}{private}] {line['speaker']}: {line['content']}")
        out += [f"    [{c['n']}] {c['source']} (chunk {c['chunk']})" for c in line["citations"]]
    return "\n".join(out)


def write_transcript(folder: Path, lines: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "transcript.json").write_text(json.dumps(lines, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "transcript.md").write_text(as_text(lines) + "\n", encoding="utf-8")
    return folder
