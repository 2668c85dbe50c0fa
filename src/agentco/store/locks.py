"""Which process works on a run: an exclusive lock on a file beside the database.

The OS drops the lock when the process ends, however it ends, so a run the store says is
running but nobody holds was killed.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import Any


class RunBusy(RuntimeError):
    """Another process is working on this run."""


@contextmanager
def hold(path: Path, what: str) -> Iterator[None]:
    """Hold the lock at ``path`` for the duration, or raise RunBusy at once if someone else does."""
    path.parent.mkdir(exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RunBusy(f"{what} is being worked on by another agentco process") from None
    try:
        yield
    finally:
        os.close(fd)


def is_held(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also drops the shared lock just taken
    return False


@contextmanager
def immediate(conn: sqlite3.Connection, lock: AbstractContextManager[Any]) -> Iterator[sqlite3.Connection]:
    """One write transaction on a connection shared by threads: taken at once (``BEGIN IMMEDIATE``, so
    two writers wait for each other instead of failing half-way), committed, or rolled back on any error."""
    with lock:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def closed(conn: sqlite3.Connection, lock: AbstractContextManager[Any]) -> None:
    """Close a shared connection, first letting SQLite update its query planner's statistics."""
    with lock:
        with suppress(sqlite3.Error):
            conn.execute("PRAGMA optimize")
        conn.close()
