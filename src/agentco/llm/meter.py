"""Token and cost accounting with hard budgets checked before every call."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

from agentco.errors import BudgetExceeded
from agentco.llm.base import ModelRef, Usage

FREE_PROVIDERS = {"local", "fake", "ollama", "vllm", "llamacpp"}


def estimate_prompt_tokens(chars: int) -> int:
    """An upper-leaning estimate (about 3 characters a token) used for worst-case budgeting."""
    return math.ceil(chars / 3) + 16


@functools.lru_cache(maxsize=256)
def _prices(provider: str, model: str) -> tuple[float, float] | None:
    """Dollars per token (input, output) from genai-prices, or None when unknown."""
    if provider in FREE_PROVIDERS:
        return None
    from genai_prices import Usage as PriceUsage
    from genai_prices import calc_price

    provider_id = {"azure": "azure", "gemini": "google"}.get(provider, provider)
    try:
        price = calc_price(
            PriceUsage(input_tokens=1_000_000, output_tokens=0), model_ref=model, provider_id=provider_id
        )
        out = calc_price(PriceUsage(input_tokens=0, output_tokens=1_000_000), model_ref=model, provider_id=provider_id)
    except LookupError:
        try:
            price = calc_price(PriceUsage(input_tokens=1_000_000, output_tokens=0), model_ref=model)
            out = calc_price(PriceUsage(input_tokens=0, output_tokens=1_000_000), model_ref=model)
        except LookupError:
            return None
    return float(price.total_price) / 1e6, float(out.total_price) / 1e6


def price_of(ref: ModelRef, usage: Usage) -> float:
    prices = _prices(ref.provider, ref.model)
    if prices is None:
        return 0.0
    return usage.prompt_tokens * prices[0] + usage.completion_tokens * prices[1]


@dataclass
class Meter:
    """Counts every call of a run and refuses a call that could pass a budget.

    Concurrent calls reserve their worst case, so together they cannot overshoot.
    """

    max_budget: float | None = None
    max_tokens: int | None = None
    custom_prices: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Dollars per million tokens (input, output) by ``provider:model``; overrides genai-prices."""
    llm_calls: int = 0
    replayed_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    _reserved_usd: float = field(default=0.0, repr=False)
    _reserved_tokens: int = field(default=0, repr=False)

    def reserve(self, ref: ModelRef, prompt_chars: int, max_completion: int) -> tuple[float, int]:
        worst_usage = Usage(estimate_prompt_tokens(prompt_chars), max_completion)
        worst_usd = self.price(ref, worst_usage)
        worst_tokens = worst_usage.prompt_tokens + worst_usage.completion_tokens
        if self.max_budget is not None and self.cost_usd + self._reserved_usd + worst_usd > self.max_budget:
            raise BudgetExceeded(
                f"budget reached: ${self.cost_usd:.4f} spent of ${self.max_budget:.4f}; the next call to "
                f"{ref} could cost up to ${worst_usd:.4f}. Resume with a higher --investment."
            )
        if self.max_tokens is not None and self.total_tokens + self._reserved_tokens + worst_tokens > self.max_tokens:
            raise BudgetExceeded(
                f"token budget reached: {self.total_tokens} of {self.max_tokens} tokens used; the next call "
                f"could use up to {worst_tokens}."
            )
        self._reserved_usd += worst_usd
        self._reserved_tokens += worst_tokens
        return worst_usd, worst_tokens

    def price(self, ref: ModelRef, usage: Usage) -> float:
        custom = self.custom_prices.get(str(ref))
        if custom is not None:
            return (usage.prompt_tokens * custom[0] + usage.completion_tokens * custom[1]) / 1e6
        return price_of(ref, usage)

    def release(self, reservation: tuple[float, int]) -> None:
        self._reserved_usd -= reservation[0]
        self._reserved_tokens -= reservation[1]

    def record(self, ref: ModelRef, usage: Usage, *, replayed: bool = False) -> float:
        cost = self.price(ref, usage)
        self.llm_calls += 1
        self.replayed_calls += replayed
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.cost_usd += cost
        return cost

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def summary(self) -> dict[str, float | int]:
        return {
            "llm_calls": self.llm_calls,
            "replayed_calls": self.replayed_calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": round(self.cost_usd, 6),
        }
