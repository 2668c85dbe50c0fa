"""Reciprocal rank fusion: rankings from different retrievers merged by rank alone.

bm25 scores and cosine similarities are on scales that cannot be added; ranks can. A chunk's fused
score is the sum over the rankings that hold it of 1 / (K + rank), rank counted from 1 (Cormack,
Clarke and Buettcher, SIGIR 2009, where K = 60 is the constant they found robust).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

K = 60
T = TypeVar("T", bound=Hashable)


def fuse(rankings: Sequence[Sequence[T]], k: int = K) -> list[tuple[T, float]]:
    """Items with their fused scores, best first; ties keep the order of first appearance."""
    scores: dict[T, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])
