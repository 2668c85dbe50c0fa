"""API tokens of a workspace's team server: created once, shown once, stored hashed, revocable.

A token reads ``agentco_<id>_<secret>``: the id finds its row, the secret is checked against the
stored SHA-256 (a random 256-bit secret needs no slow hash). Scopes are ordered: ``read`` sees runs,
events and files; ``run`` also starts, cancels and resumes runs and answers gates; ``admin`` is all.
The file lives beside the run store, readable by its owner alone.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from agentco.errors import ConfigError

SCOPES = ("read", "run", "admin")
PREFIX = "agentco_"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    scope      TEXT NOT NULL CHECK (scope IN ('read', 'run', 'admin')),
    secret_sha TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
"""


@dataclass(frozen=True)
class Token:
    id: str
    name: str
    scope: str
    created_at: str
    revoked_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def allows(scope: str, needed: str) -> bool:
    """Whether a token of ``scope`` may do what needs ``needed``."""
    return SCOPES.index(scope) >= SCOPES.index(needed)


def tokens_path(workspace: Path) -> Path:
    return Path(workspace) / ".agentco" / "tokens.db"


class TokenStore:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)  # created private, before SQLite opens it
            os.close(fd)
            self._conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
            self._conn.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot open the token file {path}: {exc}", key="workspace") from None

    @classmethod
    def open(cls, workspace: Path) -> TokenStore:
        return cls(tokens_path(workspace))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def create(self, name: str, scope: str) -> str:
        """A new token; the returned text is the only time its secret exists outside the caller."""
        if scope not in SCOPES:
            raise ConfigError(f"no scope {scope!r}; choose one of {', '.join(SCOPES)}", key="--scope")
        if not name.strip() or len(name) > 80:
            raise ConfigError("a token needs a name of 1 to 80 characters (what or who uses it)")
        token_id, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
        with self._lock:
            self._conn.execute(
                "INSERT INTO tokens (id, name, scope, secret_sha, created_at) VALUES (?, ?, ?, ?, ?)",
                (token_id, name.strip(), scope, _sha(secret), _now()),
            )
        return f"{PREFIX}{token_id}_{secret}"

    def verify(self, token: str) -> Token | None:
        """The active token this text is, or None (unknown, wrong secret, revoked or malformed)."""
        if not token.startswith(PREFIX) or token.count("_") < 2:
            return None
        token_id, _, secret = token.removeprefix(PREFIX).partition("_")
        with self._lock:
            row = self._conn.execute(
                "SELECT id, name, scope, created_at, revoked_at, secret_sha FROM tokens WHERE id = ?", (token_id,)
            ).fetchone()
        if row is None or not hmac.compare_digest(row[5], _sha(secret)) or row[4] is not None:
            return None
        return Token(*row[:5])

    def get(self, token_id: str) -> Token | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT id, name, scope, created_at, revoked_at FROM tokens WHERE id = ?", (token_id,)
            ).fetchone()
        return Token(*row) if row else None

    def list(self) -> list[Token]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, name, scope, created_at, revoked_at FROM tokens ORDER BY created_at"
            ).fetchall()
        return [Token(*row) for row in rows]

    def revoke(self, name_or_id: str) -> list[Token]:
        """Revoke the active tokens with this id or name; returns them (none: nothing matched)."""
        found = [t for t in self.list() if t.active and name_or_id in (t.id, t.name)]
        with self._lock:
            for token in found:
                self._conn.execute("UPDATE tokens SET revoked_at = ? WHERE id = ?", (_now(), token.id))
        return found

    def has_active(self) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM tokens WHERE revoked_at IS NULL LIMIT 1").fetchone() is not None


def _sha(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
