"""What every run of a batch shares: the batch budget, the rate limit, and the way news reaches the driver.

One ``Hub`` per batch. On one machine the runs' threads call it directly; on a Ray cluster it lives
in one actor and the workers call that (``cluster.RemoteHub``), so the budget and the rate limit
hold across every worker of every node. Its methods are short and never wait: a call that must
wait for the rate limit is told how long, and waits where it runs.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class News:
    """What the driver's progress view is told: a run started on a worker, made a call, or ended."""

    kind: str  # "started", "call" or "ended"
    key: str
    worker: str = ""
    tokens: int = 0
    cost_usd: float = 0.0
    status: str = ""


class Hub:
    """The batch budget (dollars across all runs) and rate limit (calls a minute across all workers).

    The budget is checked before each call, as a run's own meter does: a call is refused when what
    the batch has spent, plus what this call and the calls already in flight could cost, would pass
    the budget. A call is counted at the cost of the dearest call of the batch so far (its exact worst
    case is known only inside the run), so a call dearer than any before can overshoot by its difference.
    """

    def __init__(self, budget: float | None = None, calls_per_minute: float | None = None, spent: float = 0.0):
        self.budget, self.spent = budget, spent
        self.rate = calls_per_minute / 60 if calls_per_minute else None
        self._burst = max(1.0, self.rate or 0.0)
        self._tokens, self._refilled = self._burst, time.monotonic()
        self._in_flight: Counter[str] = Counter()
        self._dearest = 0.0
        self._news: list[News] = []
        self._lock = threading.Lock()

    # --- the budget ----------------------------------------------------------------------------
    def admit(self, key: str) -> str | None:
        """Let a call of run ``key`` go out (None), or say why the batch budget refuses it."""
        with self._lock:
            if self._over(sum(self._in_flight.values()) + 1):
                return (
                    f"batch budget reached: ${self.spent:.4f} spent of ${self.budget:.4f} across the batch's runs; "
                    "run the batch again with a higher --budget to go on"
                )
            self._in_flight[key] += 1
            return None

    def settle(self, key: str, cost: float) -> None:
        """A call of run ``key`` finished and cost ``cost``."""
        with self._lock:
            if self._in_flight[key] > 0:
                self._in_flight[key] -= 1
            self.spent += cost
            self._dearest = max(self._dearest, cost)

    def release(self, key: str) -> None:
        """Run ``key`` stopped here: none of its calls is in flight any more (a failed attempt never settles)."""
        with self._lock:
            self._in_flight.pop(key, None)

    def exhausted(self) -> bool:
        """Whether the budget would refuse a call now, so that no further run should start."""
        with self._lock:
            return self._over(1)

    def _over(self, calls: int) -> bool:
        """Whether ``calls`` more calls at the dearest call's cost could pass the budget."""
        if self.budget is None:
            return False
        return self.spent >= self.budget or self.spent + calls * self._dearest > self.budget

    # --- the rate limit ------------------------------------------------------------------------
    def slot(self) -> float:
        """Take the next call slot of the token bucket; returns the seconds to wait before using it."""
        if self.rate is None:
            return 0.0
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._refilled) * self.rate)
            self._refilled = now
            self._tokens -= 1  # below zero: a queue of reserved slots, each 1/rate seconds after the last
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    # --- news for the driver -------------------------------------------------------------------
    def post(self, *news: News) -> None:
        with self._lock:
            self._news.extend(news)
        for item in news:
            if item.kind == "ended":
                self.release(item.key)

    def drain(self) -> list[News]:
        with self._lock:
            news, self._news = self._news, []
        return news

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {"budget": self.budget, "spent": round(self.spent, 6), "in_flight": sum(self._in_flight.values())}
