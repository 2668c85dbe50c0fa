"""One ordered event stream per run: what the store, the terminal view and the web page watch.

Every event but a streamed token gets the next sequence number of its run and is written to the
event log (the run store) before anyone sees it, so a subscriber that comes late replays from any
number and then follows live without a gap or a repeat. Tokens are live only (``seq`` None): the
text they add up to is in the ``call.finished`` event and the stored call.

This module imports nothing of agentco's, so every layer may emit.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

RUN_STARTED = "run.started"
RUN_FINISHED = "run.finished"
STAGE_STARTED = "stage.started"
STAGE_FINISHED = "stage.finished"
PROJECT_OPENED = "project.opened"
MESSAGE = "message.published"
ARTIFACT = "artifact.written"
CALL_STARTED = "call.started"
CALL_TOKEN = "call.token"
CALL_FINISHED = "call.finished"
TEST_REPORT = "test.report"
NOTE = "note"
PLAN = "plan.made"
"""The Data Interpreter's plan (its tasks), each time it is made or remade."""
CELL = "cell.executed"
"""A cell the Data Interpreter ran: task, attempt, code, status, what it showed."""
REVIEW_WAITING = "review.waiting"
"""A review gate asks its question (stage, gate number) and the run waits for the answer."""
REVIEW_ANSWERED = "review.answered"
"""The answer at a review gate: decision, and the feedback or the edited document (kept for resume)."""
KINDS = frozenset(
    {RUN_STARTED, RUN_FINISHED, STAGE_STARTED, STAGE_FINISHED, PROJECT_OPENED, MESSAGE, ARTIFACT,
     CALL_STARTED, CALL_TOKEN, CALL_FINISHED, TEST_REPORT, NOTE, PLAN, CELL, REVIEW_WAITING, REVIEW_ANSWERED}
)  # fmt: skip
TRANSIENT = frozenset({CALL_TOKEN})


@dataclass(frozen=True)
class Event:
    kind: str
    data: dict[str, Any]
    seq: int | None = None
    """Per run, from 1; None for a live-only event (a streamed token)."""
    run_id: str | None = None
    at: float = field(default_factory=time.time)


class EventLog(Protocol):
    """Where a run's events are kept (the run store)."""

    def append_event(self, run_id: str, kind: str, data: dict[str, Any], at: float) -> int:
        """Store the event; returns its sequence number."""
        ...

    def events(self, run_id: str, after: int = 0) -> list[Event]:
        """The stored events with ``seq > after``, in order."""
        ...


Subscriber = Callable[[Event], None]


class EventBus:
    """Numbers, stores and delivers the events of one run, in one order for everyone.

    Subscribers are called synchronously in the emitting thread (the local model streams tokens
    from a worker thread), under a lock, so they see events in sequence order; they must be quick.
    """

    def __init__(self, run_id: str | None = None, log: EventLog | None = None):
        self.run_id, self.log = run_id, log
        self._subscribers: list[Subscriber] = []
        self._lock = threading.RLock()
        self._last_seq = 0
        if log is not None and run_id is not None:
            stored = log.events(run_id)
            self._last_seq = stored[-1].seq or 0 if stored else 0

    @property
    def last_seq(self) -> int:
        return self._last_seq

    def emit(self, kind: str, **data: Any) -> Event:
        if kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        with self._lock:
            at = time.time()
            seq = None
            if kind not in TRANSIENT:
                # what a live subscriber sees is exactly what a late one replays from the log
                data = json.loads(json.dumps(data, ensure_ascii=False, default=str))
                if self.log is not None and self.run_id is not None:
                    seq = self.log.append_event(self.run_id, kind, data, at)
                else:
                    seq = self._last_seq + 1
                self._last_seq = seq
            event = Event(kind, data, seq, self.run_id, at)
            for subscriber in list(self._subscribers):
                subscriber(event)
        return event

    def subscribe(self, subscriber: Subscriber, since: int | None = None) -> Callable[[], None]:
        """Deliver every event from now on; with ``since``, first replay the stored ones after it.
        Returns a function that unsubscribes."""
        with self._lock:  # no event can be emitted between the replay and joining the live stream
            if since is not None:
                for event in self.history(since):
                    subscriber(event)
            self._subscribers.append(subscriber)
        return lambda: self._unsubscribe(subscriber)

    def _unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

    def history(self, since: int = 0) -> list[Event]:
        if self.log is None or self.run_id is None:
            raise RuntimeError("this event stream keeps no log to replay from")
        return self.log.events(self.run_id, since)

    async def follow(self, since: int = 0) -> AsyncIterator[Event]:
        """The stored events after ``since``, then the live ones, until the run finishes."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Event] = asyncio.Queue()
        unsubscribe = self.subscribe(lambda e: loop.call_soon_threadsafe(queue.put_nowait, e), since)
        try:
            while True:
                event = await queue.get()
                yield event
                if event.kind == RUN_FINISHED:
                    return
        finally:
            unsubscribe()

    # --- a CallObserver for LLMClient: model calls as events -------------------------------
    def call_started(self, who: str, what: str, model: str = "") -> None:
        self.emit(CALL_STARTED, role=who, what=what, model=model)

    def token(self, who: str, text: str) -> None:
        self.emit(CALL_TOKEN, role=who, text=text)

    def call_finished(self, who: str, completion: Any, cost: float) -> None:
        usage = completion.usage
        self.emit(
            CALL_FINISHED,
            role=who,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cost_usd=cost,
            finish_reason=completion.finish_reason,
        )
