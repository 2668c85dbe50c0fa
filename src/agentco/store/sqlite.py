"""The run store: one SQLite file per workspace, written one committed transaction at a time.

Durability choices:

- WAL journal, so ``agentco runs list`` in another terminal reads while a run writes.
- ``synchronous=FULL``: every commit is fsynced. In WAL mode ``NORMAL`` already survives a
  killed process, but a power cut or OS crash may roll back the last commits, and a lost
  ``calls`` row is a model call paid for twice. Writes here are a few per model call, and a
  model call takes seconds, so the fsync costs nothing anyone can see.
- One connection per store, opened with ``check_same_thread=False`` and used only under a
  lock: the run's asyncio loop and the local model's worker threads share it. Every method
  is short and synchronous; none holds the lock across an ``await``.
- Every write is its own ``BEGIN IMMEDIATE ... COMMIT``; when a method returns, its rows are
  on disk, and a crash leaves each row either whole or absent.

Secrets never reach the file (``redact.py``).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from secrets import token_hex
from typing import Any

from agentco.errors import ConfigError
from agentco.events import Event
from agentco.llm.base import ChatRequest, Completion, ModelRef, Usage
from agentco.store.calls import RunCallCache
from agentco.store.locks import closed, hold, immediate, is_held
from agentco.store.migrate import OPEN_ATTEMPTS, prepare
from agentco.store.records import ArtifactRecord, MessageRecord, RunRecord, StepRecord
from agentco.store.redact import options_json as _options_json
from agentco.store.redact import redact as _redact

log = logging.getLogger(__name__)

STATUSES = ("running", "completed", "failed", "interrupted", "budget_exceeded")
_UPDATABLE = frozenset(
    {"status", "stage", "idea", "project_path", "options", "llm_calls", "replayed_calls", "prompt_tokens",
     "completion_tokens", "cost_usd", "wall_s", "error"}
)  # fmt: skip


class RunNotFound(LookupError):
    """No run with this id in the store."""


def db_path(workspace: Path) -> Path:
    return Path(workspace) / ".agentco" / "runs.db"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _timestamp(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _project_column(path: Path | str | None) -> str:
    # Empty means "no project folder yet"; resolving it would name the current directory, which a
    # resume would then take for the run's own folder and be allowed to replace.
    return str(Path(path).resolve()) if path else ""


def _run_from_row(row: sqlite3.Row) -> RunRecord:
    fields = dict(row)
    fields["options"] = json.loads(fields.pop("options_json"))
    return RunRecord(**fields)


class RunStore:
    """Everything a run must not lose: its state, messages, model calls, artifacts and done steps."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self._conn = conn
        self._lock = threading.RLock()
        self.path = path

    @classmethod
    def open(cls, workspace: Path) -> RunStore:
        path = db_path(workspace)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ConfigError(
                f"the workspace {workspace} cannot hold agentco's run store ({why}); "
                "choose a writable folder with --workspace",
                key="workspace",
            ) from None
        try:
            conn.row_factory = sqlite3.Row
            for attempt in range(OPEN_ATTEMPTS):
                try:
                    prepare(conn, path)
                    break
                except sqlite3.OperationalError as exc:
                    # several processes opening a new store at once: switching it to WAL and creating
                    # its tables can answer "locked" without waiting; the next try finds it done
                    if "locked" not in str(exc) and "busy" not in str(exc) or attempt == OPEN_ATTEMPTS - 1:
                        raise
                    time.sleep(0.05 * 2**attempt)
        except BaseException:
            conn.close()
            raise
        return cls(conn, path)

    def close(self) -> None:
        closed(self._conn, self._lock)

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate(self._conn, self._lock)

    def _read(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    # runs

    def claim(self, run_id: str) -> AbstractContextManager[None]:
        """Hold ``run_id`` while this process works on it (see ``locks.hold``)."""
        return hold(self._lock_file(run_id), f"run {run_id}")

    def is_live(self, run_id: str) -> bool:
        """Whether a process holds ``run_id`` now (``claim``)."""
        return is_held(self._lock_file(run_id))

    def _lock_file(self, run_id: str) -> Path:
        return self.path.parent / "locks" / f"{run_id}.lock"

    def new_run_id(self) -> str:
        """Short, sortable by start time (UTC) and easy to type: ``20261122-024512-ab12``."""
        while True:
            run_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + token_hex(2)
            if self.get_run(run_id) is None:
                return run_id

    def create_run(self, run_id: str, idea: str, project_path: Path | str, options: Mapping[str, Any]) -> RunRecord:
        now = _now()
        try:
            with self._write() as db:
                db.execute(
                    "INSERT INTO runs (id, created_at, updated_at, idea, project_path, options_json)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (run_id, now, now, _redact(idea), _project_column(project_path), _options_json(options)),
                )
        except sqlite3.IntegrityError:
            raise ValueError(f"run {run_id} already exists in {self.path}") from None
        record = self.get_run(run_id)
        assert record is not None
        return record

    def get_run(self, run_id: str) -> RunRecord | None:
        rows = self._read("SELECT * FROM runs WHERE id = ?", (run_id,))
        return _run_from_row(rows[0]) if rows else None

    def list_runs(self) -> list[RunRecord]:
        """Newest first."""
        return [_run_from_row(r) for r in self._read("SELECT * FROM runs ORDER BY created_at DESC, id DESC")]

    def find_run_by_project(self, project_path: Path | str) -> RunRecord | None:
        """The newest run that wrote into this project folder."""
        rows = self._read(
            "SELECT * FROM runs WHERE project_path = ? ORDER BY created_at DESC, id DESC LIMIT 1",
            (str(Path(project_path).resolve()),),
        )
        return _run_from_row(rows[0]) if rows else None

    def update_run(self, run_id: str, **fields: Any) -> None:
        """Set any of status, stage, idea, project_path, options, the meter's counters, wall_s, error.

        ``store.update_run(run_id, stage="design", **meter.summary())`` is the usual call.
        """
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise TypeError(f"update_run() got unknown fields: {', '.join(sorted(unknown))}")
        if "status" in fields and fields["status"] not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {fields['status']!r}")
        columns: dict[str, Any] = {}
        for name, value in fields.items():
            if name == "options":
                columns["options_json"] = _options_json(value)
            elif name == "project_path":
                columns[name] = _project_column(value)
            elif name in ("idea", "error"):
                columns[name] = _redact(value)
            else:
                columns[name] = value
        columns["updated_at"] = _now()
        assignments = ", ".join(f"{name} = ?" for name in columns)
        with self._write() as db:
            cursor = db.execute(f"UPDATE runs SET {assignments} WHERE id = ?", (*columns.values(), run_id))
            if cursor.rowcount == 0:
                raise RunNotFound(f"no run {run_id} in {self.path}")

    # messages

    def record_message(
        self,
        run_id: str,
        *,
        id: str,
        sent_from: str,
        cause_by: str,
        send_to: Iterable[str],
        content: str,
        payload: Any = None,
    ) -> int:
        """Append a message to the run's history; returns its sequence number (from 1)."""
        targets = sorted(send_to) if isinstance(send_to, set | frozenset) else list(send_to)
        payload_json = None if payload is None else _redact(json.dumps(payload, ensure_ascii=False))
        with self._write() as db:
            seq = _next_seq(db, "messages", run_id)
            db.execute(
                "INSERT INTO messages (run_id, seq, id, sent_from, cause_by, send_to_json, content, payload_json,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, seq, id, sent_from, cause_by, json.dumps(targets), _redact(content), payload_json, _now()),
            )
        return seq

    def messages(self, run_id: str) -> list[MessageRecord]:
        rows = self._read("SELECT * FROM messages WHERE run_id = ? ORDER BY seq", (run_id,))
        return [
            MessageRecord(
                run_id=r["run_id"],
                seq=r["seq"],
                id=r["id"],
                sent_from=r["sent_from"],
                cause_by=r["cause_by"],
                send_to=json.loads(r["send_to_json"]),
                content=r["content"],
                payload=None if r["payload_json"] is None else json.loads(r["payload_json"]),
                created_at=r["created_at"],
            )
            for r in rows
        ]

    # the event stream

    def append_event(self, run_id: str, kind: str, data: dict[str, Any], at: float) -> int:
        """Append an event to the run's stream; returns its sequence number (from 1)."""
        data_json = _redact(json.dumps(data, ensure_ascii=False, default=str))
        when = datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")
        with self._write() as db:
            seq = _next_seq(db, "events", run_id)
            db.execute(
                "INSERT INTO events (run_id, seq, kind, data_json, created_at) VALUES (?, ?, ?, ?, ?)",
                (run_id, seq, kind, data_json, when),
            )
        return seq

    def events(self, run_id: str, after: int = 0) -> list[Event]:
        rows = self._read("SELECT * FROM events WHERE run_id = ? AND seq > ? ORDER BY seq", (run_id, after))
        return [
            Event(r["kind"], json.loads(r["data_json"]), r["seq"], run_id, _timestamp(r["created_at"])) for r in rows
        ]

    # artifacts and steps

    def record_artifact(self, run_id: str, path: Path | str, sha256: str, stage: str) -> int:
        with self._write() as db:
            seq = _next_seq(db, "artifacts", run_id)
            db.execute(
                "INSERT INTO artifacts (run_id, seq, path, sha256, stage, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, seq, str(path), sha256, stage, _now()),
            )
        return seq

    def artifacts(self, run_id: str) -> list[ArtifactRecord]:
        rows = self._read("SELECT * FROM artifacts WHERE run_id = ? ORDER BY seq", (run_id,))
        return [ArtifactRecord(**dict(r)) for r in rows]

    def mark_step(self, run_id: str, name: str, status: str = "done") -> None:
        """Record that a named step finished; marking it again only updates its status."""
        with self._write() as db:
            db.execute(
                "INSERT INTO steps (run_id, seq, name, status, created_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (run_id, name) DO UPDATE SET status = excluded.status",
                (run_id, _next_seq(db, "steps", run_id), name, status, _now()),
            )

    def steps(self, run_id: str) -> list[StepRecord]:
        """In the order they were first marked."""
        rows = self._read("SELECT * FROM steps WHERE run_id = ? ORDER BY seq", (run_id,))
        return [StepRecord(**dict(r)) for r in rows]

    # model calls

    def call_cache(self, run_id: str) -> RunCallCache:
        return RunCallCache(self, run_id)

    def lookup_call(self, run_id: str, key: str) -> Completion | None:
        rows = self._read(
            "SELECT response_text, response_model, finish_reason, prompt_tokens, completion_tokens"
            " FROM calls WHERE run_id = ? AND key = ?",
            (run_id, key),
        )
        if not rows:
            return None
        r = rows[0]
        return Completion(
            text=r["response_text"],
            usage=Usage(r["prompt_tokens"], r["completion_tokens"]),
            model=r["response_model"],
            finish_reason=r["finish_reason"],
        )

    def save_call(
        self, run_id: str, key: str, ref: ModelRef, request: ChatRequest, completion: Completion, cost: float
    ) -> None:
        """Store a finished call. A key already stored keeps its first answer."""
        request_json = _redact(json.dumps(request.key_material(), ensure_ascii=False))
        with self._write() as db:
            db.execute(
                "INSERT INTO calls (run_id, key, seq, provider, model, request_json, response_text, response_model,"
                " finish_reason, prompt_tokens, completion_tokens, cost_usd, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, key) DO NOTHING",
                (
                    run_id,
                    key,
                    _next_seq(db, "calls", run_id),
                    ref.provider,
                    ref.model,
                    request_json,
                    _redact(completion.text),
                    completion.model,
                    completion.finish_reason,
                    completion.usage.prompt_tokens,
                    completion.usage.completion_tokens,
                    cost,
                    _now(),
                ),
            )

    def call_models(self, run_id: str) -> list[str]:
        """``provider:model`` of every model the run's recorded calls went to, in order of first use
        (the first is what a replay must impersonate)."""
        rows = self._read("SELECT provider, model, MIN(seq) AS first FROM calls WHERE run_id = ? "
                          "GROUP BY provider, model ORDER BY first", (run_id,))  # fmt: skip
        return [f"{row['provider']}:{row['model']}" for row in rows]

    def call_totals(self, run_id: str) -> dict[str, int | float]:
        """What the stored calls add up to; true even when the run was killed before update_run."""
        row = self._read(
            "SELECT COUNT(*) AS calls, COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens,"
            " COALESCE(SUM(completion_tokens), 0) AS completion_tokens, COALESCE(SUM(cost_usd), 0.0) AS cost_usd"
            " FROM calls WHERE run_id = ?",
            (run_id,),
        )[0]
        return dict(row)


def _next_seq(db: sqlite3.Connection, table: str, run_id: str) -> int:
    # Safe only inside a write transaction: BEGIN IMMEDIATE keeps other writers out until COMMIT.
    return db.execute(f"SELECT COALESCE(MAX(seq), 0) + 1 FROM {table} WHERE run_id = ?", (run_id,)).fetchone()[0]


def find_store(run_id: str, workspace_candidates: Iterable[Path] | None = None) -> Path | None:
    """The workspace whose runs.db holds ``run_id``, or None.

    Default candidates: ``./workspace`` and the current directory. Creates nothing: a
    candidate without a runs.db is skipped.
    """
    if workspace_candidates is None:
        workspace_candidates = [Path.cwd() / "workspace", Path.cwd()]
    seen: set[Path] = set()
    for workspace in workspace_candidates:
        resolved = Path(workspace).resolve()
        if resolved in seen or not db_path(resolved).is_file():
            continue
        seen.add(resolved)
        with RunStore.open(resolved) as store:
            if store.get_run(run_id) is not None:
                return resolved
    return None
