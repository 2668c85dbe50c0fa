"""A named knowledge base in a workspace: files in, cited passages out.

``add`` reads files (or every readable file under a folder), cuts them into chunks and indexes each
chunk for full-text search and, when the embedding model is installed, as a vector. Every search
first checks the added files again, so a file changed or deleted while a scenario runs counts from
the next retrieval on: a file whose size and modification time are as recorded is trusted (unless it
was modified within two seconds of being read, when the times cannot tell two versions apart: the
"racy git" rule), any other is hashed, and only a new hash re-indexes it. Results are the fusion, by
rank, of the full-text ranking and the vector ranking (``fusion.py``).
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from agentco.errors import ConfigError
from agentco.kb.chunks import chunk_text
from agentco.kb.embed import Embedder, default_embedder, require_embedder
from agentco.kb.fulltext import match_expression, query_terms, short_terms
from agentco.kb.fusion import fuse
from agentco.kb.readers import SUFFIXES, is_readable, read_text
from agentco.kb.store import KbStore, SourceRow

Mode = Literal["auto", "hybrid", "fulltext", "dense"]
NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
CANDIDATES = 50  # how deep each ranking goes before fusion
RACY_NS = 2_000_000_000


@dataclass(frozen=True)
class Hit:
    source: str  # the file's path as it was added (absolute)
    text: str
    score: float  # the fused score: higher is better
    chunk: int  # the chunk's index within its source


@dataclass(frozen=True)
class SourceInfo:
    source: str
    chunks: int
    hash: str
    added_at: str
    updated_at: str


@dataclass
class AddReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # files under a folder of kinds not read
    chunks: int = 0  # chunks indexed by this call


@dataclass
class RefreshReport:
    updated: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # kept as last indexed: the file cannot be read now


def kb_dir(workspace: Path) -> Path:
    return Path(workspace) / ".agentco" / "kb"


def kb_path(workspace: Path, name: str) -> Path:
    return kb_dir(workspace) / f"{check_name(name)}.sqlite"


def kb_names(workspace: Path) -> list[str]:
    folder = kb_dir(workspace)
    return sorted(p.stem for p in folder.glob("*.sqlite") if NAME.fullmatch(p.stem)) if folder.is_dir() else []


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise ConfigError(
            f"{name!r} is not a knowledge base name: use letters, digits, '-' and '_' (at most 64)", key="NAME"
        )
    return name


class KnowledgeBase:
    def __init__(self, store: KbStore, name: str, embedder: Embedder | None | Literal["auto"] = "auto"):
        self._store = store
        self.name = name
        self._embedder_choice = embedder

    @classmethod
    def open(
        cls, workspace: Path, name: str, *, create: bool = False, embedder: Embedder | None | Literal["auto"] = "auto"
    ) -> KnowledgeBase:
        """``embedder``: "auto" uses the packaged model when installed; None searches full text only."""
        path = kb_path(workspace, name)
        if not path.is_file() and not create:
            raise ConfigError(f"no knowledge base {name!r} in {workspace}; create it with: agentco kb create {name}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            store = KbStore.open(path)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot open the knowledge base {name!r} at {path}: {exc}") from None
        return cls(store, name, embedder)

    @property
    def path(self) -> Path:
        return self._store.path

    @property
    def embedder(self) -> Embedder | None:
        if self._embedder_choice == "auto":
            self._embedder_choice = default_embedder()
        return self._embedder_choice

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- files in -------------------------------------------------------------------------------

    def add(self, paths: str | Path | Iterable[str | Path]) -> AddReport:
        """Index files, or every readable file under folders; a file indexed before with the same
        content costs a stat (or a hash) and nothing else."""
        report = AddReport()
        for path in self._files(paths, report):
            status, chunks = self._index(path)
            getattr(report, status).append(str(path))
            report.chunks += chunks
        return report

    def _files(self, paths: str | Path | Iterable[str | Path], report: AddReport) -> list[Path]:
        given = [paths] if isinstance(paths, str | Path) else list(paths)
        files: list[Path] = []
        for raw in given:
            path = _absolute(raw)
            if path.is_dir():
                for found in sorted(p for p in path.rglob("*") if p.is_file()):
                    if any(part.startswith(".") for part in found.relative_to(path).parts):
                        continue  # .git, .venv, .agentco: never knowledge
                    if is_readable(found):
                        files.append(found)
                    else:
                        report.ignored.append(str(found))
            elif path.is_file():
                if not is_readable(path):
                    raise ConfigError(f"cannot add {raw}: a knowledge base reads {', '.join(sorted(SUFFIXES))}")
                files.append(path)
            else:
                raise ConfigError(f"cannot add {raw}: no such file or folder")
        return list(dict.fromkeys(files))

    def _index(self, path: Path) -> tuple[Literal["added", "updated", "unchanged"], int]:
        source = str(path)
        row = self._store.source(source)
        started = time.time_ns()
        stat = path.stat()
        if row is not None and _unchanged_by_stat(row, stat):
            return "unchanged", 0
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
        digest = hashlib.sha256(data).hexdigest()
        if row is not None and row.hash == digest:
            self._store.touch_source(source, stat.st_size, stat.st_mtime_ns, started)
            return "unchanged", 0
        chunks = chunk_text(read_text(path, data))
        vectors = self._vectors(chunks)
        self._store.put_source(source, digest, stat.st_size, stat.st_mtime_ns, started, chunks, vectors)
        return ("added" if row is None else "updated"), len(chunks)

    def _vectors(self, texts: list[str]) -> list[bytes | None] | None:
        embedder = self._synced_embedder()
        if embedder is None or not texts:
            return None
        return [row.tobytes() for row in embedder.embed(texts)]

    def _synced_embedder(self) -> Embedder | None:
        """The embedder, after dropping any vectors another one made."""
        embedder = self.embedder
        if embedder is not None and self._store.meta("embedder") != embedder.name:
            self._store.drop_vectors(embedder.name)
        return embedder

    def remove(self, source: str) -> bool:
        """Forget a source (as ``sources()`` names it, or its path), or every source under a folder."""
        known = [row.source for row in self._store.sources()]
        wanted = source if source in known else str(_absolute(source))
        under = [s for s in known if s == wanted or s.startswith(wanted.rstrip(os.sep) + os.sep)]
        return any([self._store.delete_source(s) for s in under])

    def sources(self) -> list[SourceInfo]:
        return [SourceInfo(r.source, r.chunks, r.hash, r.added_at, r.updated_at) for r in self._store.sources()]

    def refresh(self) -> RefreshReport:
        """Re-index added files that changed on disk; drop those that are gone."""
        report = RefreshReport()
        for row in self._store.sources():
            path = Path(row.source)
            if not path.is_file():
                self._store.delete_source(row.source)
                report.dropped.append(row.source)
                continue
            try:
                status, _ = self._index(path)
            except (ConfigError, OSError) as exc:
                report.failed[row.source] = str(exc)
                continue
            if status == "updated":
                report.updated.append(row.source)
        return report

    # --- passages out ---------------------------------------------------------------------------

    def search(self, query: str, k: int = 5, *, mode: Mode = "auto") -> list[Hit]:
        """The ``k`` best chunks for ``query``, best first. "auto" is the hybrid when the embedding
        model is installed, else full text; "hybrid" and "dense" require the model."""
        if not query.strip():
            raise ConfigError("the search query is empty: say what to look for")
        if k < 1:
            raise ConfigError(f"k must be at least 1, not {k}", key="--k")
        if mode not in ("auto", "hybrid", "fulltext", "dense"):
            raise ValueError(f"no search mode {mode!r}")
        self.refresh()
        if mode == "auto":
            mode = "hybrid" if self.embedder is not None else "fulltext"
        rankings: list[list[int]] = []
        if mode in ("fulltext", "hybrid"):
            terms = query_terms(query)
            rankings.append(self._store.fulltext(match_expression(terms), short_terms(terms), CANDIDATES))
        if mode in ("dense", "hybrid"):
            rankings.append(self._dense(query))
        best = fuse(rankings)[:k]
        rows = self._store.chunks([chunk_id for chunk_id, _ in best])
        return [Hit(rows[i].source, rows[i].text, score, rows[i].idx) for i, score in best if i in rows]

    def _dense(self, query: str) -> list[int]:
        import numpy as np

        embedder = self._synced_embedder()
        if embedder is None:
            require_embedder()  # names the extra to install when the model is missing
            raise ConfigError(f"the knowledge base {self.name!r} was opened without an embedding model")
        if missing := self._store.unembedded():  # chunks indexed before the model was installed
            vectors = embedder.embed([text for _, text in missing])
            self._store.set_vectors([(i, v.tobytes()) for (i, _), v in zip(missing, vectors, strict=True)])
        stored = self._store.vectors()
        if not stored:
            return []
        ids = np.array([i for i, _ in stored])
        matrix = np.frombuffer(b"".join(blob for _, blob in stored), dtype=np.float32).reshape(len(stored), -1)
        similarity = matrix @ embedder.embed([query])[0]
        order = np.argsort(-similarity, kind="stable")[:CANDIDATES]
        return [int(ids[i]) for i in order]


def _absolute(path: str | Path) -> Path:
    return Path(os.path.abspath(os.path.expanduser(str(path))))


def _unchanged_by_stat(row: SourceRow, stat: os.stat_result) -> bool:
    same = row.size == stat.st_size and row.mtime_ns == stat.st_mtime_ns
    return same and stat.st_mtime_ns + RACY_NS < row.indexed_ns
