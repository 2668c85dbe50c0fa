"""One knowledge base is one SQLite file: its sources, their chunks, the full-text index and vectors.

Like the run store: WAL journal (a CLI ``kb add`` and a running scenario's searches can share the
file), one short ``BEGIN IMMEDIATE ... COMMIT`` per change, so a source is indexed whole or not at
all. The full-text table's rowid is the chunk's id. A vector is the chunk's embedding as float32
bytes, written by the embedder named in ``meta``; another embedder's vectors are dropped, never mixed.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentco.kb.fulltext import index_terms
from agentco.store.locks import closed, immediate

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
    source TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    indexed_ns INTEGER NOT NULL,
    chunks INTEGER NOT NULL,
    added_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL REFERENCES sources(source),
    idx INTEGER NOT NULL,
    text TEXT NOT NULL,
    vector BLOB,
    UNIQUE (source, idx)
);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(terms, tokenize='porter unicode61 remove_diacritics 2');
"""
VERSION = "1"


@dataclass(frozen=True)
class SourceRow:
    source: str
    hash: str
    size: int
    mtime_ns: int
    indexed_ns: int
    chunks: int
    added_at: str
    updated_at: str


@dataclass(frozen=True)
class ChunkRow:
    id: int
    source: str
    idx: int
    text: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class KbStore:
    def __init__(self, conn: sqlite3.Connection, path: Path):
        self._conn = conn
        self._lock = threading.RLock()
        self.path = path

    @classmethod
    def open(cls, path: Path) -> KbStore:
        conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # an index can be rebuilt from its files
            conn.executescript(SCHEMA)
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('version', ?)", (VERSION,))
        except BaseException:
            conn.close()
            raise
        return cls(conn, path)

    def close(self) -> None:
        closed(self._conn, self._lock)

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate(self._conn, self._lock)

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    # meta

    def meta(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # sources

    def sources(self) -> list[SourceRow]:
        return [SourceRow(*row) for row in self._read(f"SELECT {_SOURCE_COLUMNS} FROM sources ORDER BY source")]

    def source(self, source: str) -> SourceRow | None:
        rows = self._read(f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE source = ?", (source,))
        return SourceRow(*rows[0]) if rows else None

    def put_source(
        self, source: str, digest: str, size: int, mtime_ns: int, indexed_ns: int, chunks: Sequence[str],
        vectors: Sequence[bytes | None] | None = None,
    ) -> None:  # fmt: skip
        """Replace everything indexed for ``source`` with these chunks, in one transaction."""
        now = _now()
        with self._write() as db:
            added = db.execute("SELECT added_at FROM sources WHERE source = ?", (source,)).fetchone()
            self._delete(db, source)
            db.execute(
                f"INSERT INTO sources ({_SOURCE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (source, digest, size, mtime_ns, indexed_ns, len(chunks), added[0] if added else now, now),
            )
            for idx, text in enumerate(chunks):
                vector = vectors[idx] if vectors is not None else None
                cursor = db.execute(
                    "INSERT INTO chunks (source, idx, text, vector) VALUES (?, ?, ?, ?)", (source, idx, text, vector)
                )
                db.execute("INSERT INTO chunks_fts (rowid, terms) VALUES (?, ?)", (cursor.lastrowid, index_terms(text)))

    def touch_source(self, source: str, size: int, mtime_ns: int, indexed_ns: int) -> None:
        """The file's times changed and its content did not: remember the new times only."""
        with self._write() as db:
            db.execute(
                "UPDATE sources SET size = ?, mtime_ns = ?, indexed_ns = ? WHERE source = ?",
                (size, mtime_ns, indexed_ns, source),
            )

    def delete_source(self, source: str) -> bool:
        with self._write() as db:
            return self._delete(db, source)

    @staticmethod
    def _delete(db: sqlite3.Connection, source: str) -> bool:
        db.execute("DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE source = ?)", (source,))
        db.execute("DELETE FROM chunks WHERE source = ?", (source,))
        return db.execute("DELETE FROM sources WHERE source = ?", (source,)).rowcount > 0

    # retrieval

    def fulltext(self, match: str | None, likes: Sequence[str], limit: int) -> list[int]:
        """Chunk ids, best first: the FTS5 match by bm25, then chunks found only by LIKE."""
        found: list[int] = []
        if match:
            rows = self._read(
                "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts) LIMIT ?",
                (match, limit),
            )
            found = [row[0] for row in rows]
        if likes:
            hits = " + ".join("(instr(text, ?) > 0)" for _ in likes)
            rows = self._read(
                f"SELECT id FROM chunks WHERE ({hits}) > 0 ORDER BY ({hits}) DESC, id LIMIT ?",
                [*likes, *likes, limit],
            )
            found += [row[0] for row in rows if row[0] not in found]
        return found[:limit]

    def chunks(self, ids: Sequence[int]) -> dict[int, ChunkRow]:
        marks = ",".join("?" * len(ids))
        rows = self._read(f"SELECT id, source, idx, text FROM chunks WHERE id IN ({marks})", ids) if ids else []
        return {row[0]: ChunkRow(*row) for row in rows}

    def vectors(self) -> list[tuple[int, bytes]]:
        return [(row[0], row[1]) for row in self._read("SELECT id, vector FROM chunks WHERE vector IS NOT NULL")]

    def unembedded(self) -> list[tuple[int, str]]:
        return [(row[0], row[1]) for row in self._read("SELECT id, text FROM chunks WHERE vector IS NULL ORDER BY id")]

    def set_vectors(self, vectors: Sequence[tuple[int, bytes]]) -> None:
        with self._write() as db:
            db.executemany("UPDATE chunks SET vector = ? WHERE id = ?", [(blob, i) for i, blob in vectors])

    def drop_vectors(self, embedder: str) -> None:
        """Forget vectors made by another embedder; ``embedder`` makes them from now on."""
        with self._write() as db:
            db.execute("UPDATE chunks SET vector = NULL")
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('embedder', ?)", (embedder,))


_SOURCE_COLUMNS = "source, hash, size, mtime_ns, indexed_ns, chunks, added_at, updated_at"
