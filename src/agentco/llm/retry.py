"""Retries transient provider failures with capped exponential backoff."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from agentco.errors import ProviderError, TransientProviderError

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass
class RetryPolicy:
    max_retries: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                raise ProviderError(f"provider asked to wait {retry_after:.0f}s, more than allowed")
            return retry_after
        backoff = min(self.max_delay, self.base_delay * 2**attempt)
        return backoff * (0.5 + random.random() / 2)


async def with_retries(call: Callable[[], Awaitable[T]], policy: RetryPolicy, what: str = "model call") -> T:
    for attempt in range(policy.max_retries + 1):
        try:
            return await call()
        except TransientProviderError as exc:
            if attempt == policy.max_retries:
                raise ProviderError(f"{what} failed after {attempt + 1} attempts: {exc}") from exc
            delay = policy.delay(attempt, exc.retry_after)
            log.warning("%s: %s; retrying in %.1fs", what, exc, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")
