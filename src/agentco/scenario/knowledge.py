"""Where a role with ``knowledge: [NAME]`` gets its passages, and which of them its answer cited.

The seam is ``Retriever``; ``KbRetriever`` is the workspace's knowledge bases (``agentco.kb``,
imported when a scenario first uses one), and tests give a retriever of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

CITATION = re.compile(r"\[(\d{1,2})\]")


@dataclass(frozen=True)
class Passage:
    source: str
    text: str
    chunk: int
    score: float = 0.0


class Retriever(Protocol):
    def open(self, names: list[str]) -> None:
        """Check that every knowledge base named exists (``ConfigError`` naming the first that does not)."""
        ...

    def search(self, name: str, query: str, k: int) -> list[Passage]: ...

    def close(self) -> None: ...


class KbRetriever:
    """The knowledge bases of a workspace."""

    def __init__(self, workspace: Path):
        self.workspace = workspace
        self.bases: dict[str, Any] = {}

    def open(self, names: list[str]) -> None:
        from agentco.kb import KnowledgeBase

        for name in names:
            if name not in self.bases:
                self.bases[name] = KnowledgeBase.open(self.workspace, name)

    def search(self, name: str, query: str, k: int) -> list[Passage]:
        self.open([name])
        return [Passage(h.source, h.text, h.chunk, h.score) for h in self.bases[name].search(query, k=k)]

    def close(self) -> None:
        for base in self.bases.values():
            base.close()
        self.bases.clear()


def retrieve(retriever: Retriever, names: list[str], query: str, k: int = 4) -> list[Passage]:
    """The best ``k`` passages of the named bases for ``query``, best first, each once."""
    found = [p for name in names for p in retriever.search(name, query, k)]
    found.sort(key=lambda p: -p.score)
    unique = {(p.source, p.chunk): p for p in reversed(found)}  # the best copy of a chunk wins
    return sorted(unique.values(), key=lambda p: -p.score)[:k]


def citations(text: str, passages: list[Passage]) -> list[dict[str, Any]]:
    """The passages ``text`` cites as [n], in the order first cited; numbers with no passage are ignored."""
    numbers = dict.fromkeys(int(n) for n in CITATION.findall(text))
    return [
        {"n": n, "source": passages[n - 1].source, "chunk": passages[n - 1].chunk}
        for n in numbers
        if 1 <= n <= len(passages)
    ]
