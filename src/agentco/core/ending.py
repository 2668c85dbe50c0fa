"""How a run's end is announced on its event stream, whatever stops it (every product's loop uses it)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from agentco.errors import BudgetExceeded, RunPaused
from agentco.events import RUN_FINISHED, EventBus


@contextmanager
def announce_failure(events: EventBus) -> Iterator[None]:
    """Emit ``run.finished`` with the status of what ended the run early (a spent budget, the user,
    anything else), then let it propagate: the store records it and ``resume`` can go on."""
    try:
        yield
    except BudgetExceeded as exc:
        events.emit(RUN_FINISHED, status="budget_exceeded", error=str(exc))
        raise
    except RunPaused as exc:
        events.emit(RUN_FINISHED, status="interrupted", error=str(exc))
        raise
    except (KeyboardInterrupt, asyncio.CancelledError):
        events.emit(RUN_FINISHED, status="interrupted", error="interrupted by the user")
        raise
    except Exception as exc:
        events.emit(RUN_FINISHED, status="failed", error=f"{type(exc).__name__}: {exc}")
        raise
