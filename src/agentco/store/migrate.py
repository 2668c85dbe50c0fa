"""Bringing a runs.db to the schema this agentco writes (schema.sql, every statement idempotent)."""

from __future__ import annotations

import logging
import sqlite3
from importlib import resources
from pathlib import Path

from agentco.errors import ConfigError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
"""1: runs, messages, calls, artifacts, steps; 2: adds the event stream (events)."""


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise ConfigError(
            f"has schema version {version}, newer than this agentco understands ({SCHEMA_VERSION}); upgrade agentco",
            source=str(path),
        )
    schema = resources.files("agentco.store").joinpath("schema.sql").read_text(encoding="utf-8")
    # executescript commits any open transaction first, so the transaction is part of the script.
    conn.executescript(f"BEGIN IMMEDIATE;\n{schema}\nPRAGMA user_version = {SCHEMA_VERSION};\nCOMMIT;")


OPEN_ATTEMPTS = 8
"""Tries to open a store that other processes are opening at the same moment (about 13 s in all)."""


def prepare(conn: sqlite3.Connection, path: Path) -> None:
    """A new connection made ready: WAL, full sync, foreign keys, the schema at its version."""
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if mode != "wal":
        log.warning("%s: SQLite refused WAL mode here (journal_mode=%s)", path, mode)
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    migrate(conn, path)
