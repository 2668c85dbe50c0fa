"""The server's runs: recorded at once, queued, each worked on in a thread of its own, watched live.

A run is recorded in the store when it is asked for (so a server that dies loses no request: the
run reads ``interrupted`` at stage ``queued`` and can be resumed), then waits for a slot: local-model
runs one at a time, since they share the CPU; hosted ones up to ``max_parallel`` at once. Each run
works in its own thread with its own event loop, because a run blocks while its tests run in the
sandbox and the server must keep answering meanwhile. Its events reach every listener through a
queue on the server's loop; a listener that falls too far behind is dropped and reconnects from
the last event it got.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentco.config import Settings
from agentco.core.review import ReviewAborted, Verdict, document_text, edited_verdict
from agentco.events import Event
from agentco.llm.base import parse_model_string
from agentco.runtime import RunAlreadyCompleted, record_run, resume_run
from agentco.runtime.request import AnyRequest

log = logging.getLogger(__name__)

MAX_BACKLOG = 20_000
"""Events a listener may have unread before it is dropped (it reconnects with ``Last-Event-ID``)."""
END = None
"""Put on a listener's queue when the run's work here ends."""


class Busy(Exception):
    """The run is already queued or running here."""


@dataclass
class Pending:
    """A question a run waits on (a gate's document, a person's turn) and where its answer goes (the
    run's own loop)."""

    asked: Any
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


class Waiting:
    """One question at a time that a run waits on until it is answered over HTTP."""

    def __init__(self) -> None:
        self.pending: Pending | None = None
        self._lock = threading.Lock()

    async def wait(self, asked: Any) -> Any:
        loop = asyncio.get_running_loop()
        with self._lock:
            self.pending = Pending(asked, loop.create_future(), loop)
            future = self.pending.future
        try:
            return await future
        finally:
            with self._lock:
                self.pending = None

    def settle(self, answer: Callable[[Any], Any], nothing: str) -> None:
        """Answer the waiting question with ``answer(asked)`` (an exception is raised in the run).
        ``LookupError(nothing)`` when none waits; what ``answer`` raises, the question still waiting."""
        with self._lock:
            pending = self.pending
            if pending is None or pending.future.done():
                raise LookupError(nothing)
            result = answer(pending.asked)
            future = pending.future
            setter = future.set_exception if isinstance(result, BaseException) else future.set_result
            pending.loop.call_soon_threadsafe(_settle, future, setter, result)
            self.pending = None  # answered: a look right after this must not see the same question


class WebReviewer(Waiting):
    """A run's reviewer whose answers come over HTTP (``answer``); the run waits at the gate until then."""

    async def review(self, message: Any) -> Verdict:
        return await self.wait(message)  # type: ignore[no-any-return]

    def view(self) -> dict[str, Any] | None:
        if (pending := self.pending) is None:
            return None
        message = pending.asked
        return {"stage": _stage(message), "from": message.sent_from, "content": message.content,
                "document": document_text(message) if message.payload is not None else None}  # fmt: skip

    def answer(self, decision: str, *, document: str = "", feedback: str = "") -> None:
        """Answer the waiting gate. ``LookupError``: no gate waits; ``ValueError``: a bad answer (an
        edited document that does not validate, with why; the gate keeps waiting)."""

        def verdict(message: Any) -> Any:
            if decision == "abort":
                return ReviewAborted(f"stopped by the reviewer at the {_stage(message)}")
            if decision == "approve":
                return Verdict.approve()
            if decision == "feedback":
                return Verdict.reject(feedback)  # ValueError when empty
            if decision == "edit":
                return edited_verdict(message, document)
            raise ValueError(f"no decision {decision!r}: approve, edit, feedback or abort")

        self.settle(verdict, "no gate is waiting for an answer")


class WebSeat(Waiting):
    """A scenario's human seat taken over HTTP (``answer``): the run waits at the person's turn until then."""

    async def speak(self, turn: Any) -> str:
        return str(await self.wait(turn))

    def view(self) -> dict[str, Any] | None:
        if (pending := self.pending) is None:
            return None
        t = pending.asked
        return {"role": t.role, "stage": t.stage, "instruction": t.instruction,
                "new": [{"speaker": m.sent_from, "stage": m.cause_by, "content": m.content} for m in t.new]}  # fmt: skip

    def answer(self, text: str, *, leave: bool = False) -> None:
        """Say ``text`` at the waiting turn, or leave. ``LookupError``: nobody's turn is waiting."""
        from agentco.scenario.human import HumanLeft

        self.settle(lambda turn: HumanLeft(f"{turn.role} left the conversation") if leave else text,
                    "no person's turn is waiting")  # fmt: skip


def _settle(future: asyncio.Future[Any], setter: Any, result: Any) -> None:
    if not future.done():
        setter(result)


def _stage(message: Any) -> str:
    from agentco.company.stages import REVIEWABLE as COMPANY
    from agentco.di.schemas import REVIEWABLE as DI

    return {**COMPANY, **DI}.get(message.cause_by, str(message.cause_by))


@dataclass
class LiveRun:
    run_id: str
    kind: str
    """``local`` or ``hosted``: which slots it waits for."""
    state: str = "queued"
    reviewer: WebReviewer = field(default_factory=WebReviewer)
    seat: WebSeat = field(default_factory=WebSeat)
    listeners: set[asyncio.Queue[Event | None]] = field(default_factory=set)
    task: asyncio.Task[None] | None = None
    loop: asyncio.AbstractEventLoop | None = None
    """The run's own loop (set while it works), for cancelling it from the server's."""
    work: asyncio.Task[Any] | None = None
    cancelled: bool = False


class RunManager:
    def __init__(self, settings: Settings, *, max_parallel: int = 4):
        self.settings = settings
        self.live: dict[str, LiveRun] = {}
        self.slots = {"local": asyncio.Semaphore(1), "hosted": asyncio.Semaphore(max_parallel)}
        self.loop: asyncio.AbstractEventLoop | None = None

    # --- starting, cancelling, resuming -------------------------------------------------------
    async def create(self, request: AnyRequest) -> str:
        run_id = await asyncio.to_thread(record_run, self.settings, request)
        self._launch(run_id, request)
        return run_id

    def resume(self, run_id: str, request: AnyRequest) -> None:
        if run_id in self.live:
            raise Busy(f"run {run_id} is already {self.live[run_id].state} here")
        self._launch(run_id, request)

    def cancel(self, run_id: str) -> bool:
        """Stop a queued or running run (it reads ``interrupted``, and can be resumed); False if not here."""
        live = self.live.get(run_id)
        if live is None:
            return False
        live.cancelled = True
        if live.loop is not None and live.work is not None:
            live.loop.call_soon_threadsafe(live.work.cancel)
        elif live.task is not None:
            live.task.cancel()
        return True

    def _launch(self, run_id: str, request: AnyRequest) -> None:
        self.loop = asyncio.get_running_loop()
        model = request.model or self.settings.llm.model
        kind = "local" if parse_model_string(model).provider == "local" else "hosted"
        live = LiveRun(run_id, kind)
        self.live[run_id] = live
        live.task = asyncio.create_task(self._run(live))

    async def _run(self, live: LiveRun) -> None:
        try:
            async with self.slots[live.kind]:
                if live.cancelled:
                    return
                live.state = "running"
                await asyncio.to_thread(self._work, live)
        except asyncio.CancelledError:
            pass  # cancelled while queued: the store already reads interrupted
        finally:
            self.live.pop(live.run_id, None)
            for queue in list(live.listeners):
                queue.put_nowait(END)

    def _work(self, live: LiveRun) -> None:
        """The run, in this thread's own event loop."""

        async def main() -> None:
            live.loop, live.work = asyncio.get_running_loop(), asyncio.current_task()
            if live.cancelled:
                return
            await resume_run(self.settings, live.run_id, events=[lambda e: self._publish(live, e)],
                             reviewer=live.reviewer, human=live.seat)  # fmt: skip

        try:
            asyncio.run(main())
        except (asyncio.CancelledError, RunAlreadyCompleted):
            pass
        except Exception as exc:  # the store has recorded how it ended; the server goes on
            log.info("run %s ended: %s: %s", live.run_id, type(exc).__name__, exc)

    # --- watching --------------------------------------------------------------------------------
    def listen(self, run_id: str) -> asyncio.Queue[Event | None] | None:
        """A queue of the run's events from now on, ending with ``END``; None when it is not live here."""
        live = self.live.get(run_id)
        if live is None:
            return None
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        live.listeners.add(queue)
        return queue

    def unlisten(self, run_id: str, queue: asyncio.Queue[Event | None]) -> None:
        if (live := self.live.get(run_id)) is not None:
            live.listeners.discard(queue)

    def _publish(self, live: LiveRun, event: Event) -> None:
        """Called in the run's thread for each event: hand it to the listeners on the server's loop."""
        if self.loop is not None and live.listeners:
            self.loop.call_soon_threadsafe(self._deliver, live, event)

    @staticmethod
    def _deliver(live: LiveRun, event: Event) -> None:
        for queue in list(live.listeners):
            if queue.qsize() > MAX_BACKLOG:
                live.listeners.discard(queue)
                queue.put_nowait(END)
            else:
                queue.put_nowait(event)

    def state(self, run_id: str) -> str | None:
        live = self.live.get(run_id)
        return live.state if live else None

    def gate(self, run_id: str) -> WebReviewer | None:
        live = self.live.get(run_id)
        return live.reviewer if live else None

    def seat(self, run_id: str) -> WebSeat | None:
        live = self.live.get(run_id)
        return live.seat if live else None

    async def shutdown(self) -> None:
        for run_id in list(self.live):
            self.cancel(run_id)
        tasks = [live.task for live in self.live.values() if live.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=10)
