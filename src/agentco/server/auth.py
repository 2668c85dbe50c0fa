"""Who is asking, and may they: bearer tokens for scripts, a signed-in session for the page.

- A script sends ``Authorization: Bearer TOKEN``. A browser never adds that header by itself, so
  a bearer request needs no CSRF check.
- The page signs in once with a token (``POST /api/session``) and gets an HttpOnly, SameSite=Strict
  session cookie and a CSRF token; every state-changing request it makes carries the CSRF token in
  ``X-CSRF-Token``. A session dies with its token (revoking a token ends its sessions) or after
  ``SESSION_S`` seconds.
- With no active token in the workspace the server is open to the machine it runs on: it binds
  to loopback only (``serve`` refuses anything else), the Host header must name loopback (so a web
  page on another site cannot reach it through DNS rebinding), and state-changing requests still
  need the CSRF token, which only a page of this origin can read.
"""

from __future__ import annotations

import ipaddress
import secrets
import time
from dataclasses import dataclass
from typing import Any

from agentco.server.tokens import TokenStore, allows

SESSION_COOKIE = "agentco_session"
CSRF_HEADER = "X-CSRF-Token"
SESSION_S = 12 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class Principal:
    scope: str
    via: str
    """``bearer``, ``session`` or ``open`` (no tokens: the machine's own user)."""
    csrf: str = ""
    token_id: str = ""


@dataclass
class _Session:
    token_id: str
    csrf: str
    expires: float


class AuthError(Exception):
    def __init__(self, status: int, detail: str):
        self.status, self.detail = status, detail
        super().__init__(detail)


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Auth:
    def __init__(self, tokens: TokenStore, *, loopback: bool):
        self.tokens, self.loopback = tokens, loopback
        self.sessions: dict[str, _Session] = {}
        self.open_csrf = secrets.token_urlsafe(24)

    def open_mode(self) -> bool:
        """No active token and bound to loopback: the server belongs to this machine's user."""
        return self.loopback and not self.tokens.has_active()

    def sign_in(self, token: str) -> tuple[str, Principal] | None:
        found = self.tokens.verify(token)
        if found is None:
            return None
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        self._forget_expired()
        self.sessions[session_id] = _Session(found.id, csrf, time.time() + SESSION_S)
        return session_id, Principal(found.scope, "session", csrf, found.id)

    def sign_out(self, session_id: str | None) -> None:
        self.sessions.pop(session_id or "", None)

    def identify(self, headers: Any, cookies: Any) -> Principal | None:
        header = headers.get("authorization") or ""
        if header:
            kind, _, value = header.partition(" ")
            found = self.tokens.verify(value.strip()) if kind.lower() == "bearer" else None
            return Principal(found.scope, "bearer", token_id=found.id) if found else None
        session = self.sessions.get(cookies.get(SESSION_COOKIE) or "")
        if session is not None:
            token = self.tokens.get(session.token_id)
            if token is not None and token.active and session.expires > time.time():
                return Principal(token.scope, "session", session.csrf, token.id)
            self.sessions.pop(cookies.get(SESSION_COOKIE), None)
            return None
        if self.open_mode():
            return Principal("admin", "open", self.open_csrf)
        return None

    def check(self, method: str, headers: Any, cookies: Any, needed: str) -> Principal:
        """The principal allowed ``needed`` for this request, or ``AuthError`` (401: who are you;
        403: not allowed, or a state-changing request without this origin's CSRF token)."""
        if self.loopback and not is_loopback(_host_name(headers.get("host") or "")):
            raise AuthError(403, "this server answers only to a loopback host name")
        principal = self.identify(headers, cookies)
        if principal is None:
            raise AuthError(401, "missing, wrong or revoked token")
        if not allows(principal.scope, needed):
            raise AuthError(403, f"this token's scope is {principal.scope}; this needs {needed}")
        if method not in SAFE_METHODS and principal.via != "bearer":
            sent = headers.get(CSRF_HEADER.lower()) or ""
            if not secrets.compare_digest(sent, principal.csrf):
                raise AuthError(403, f"a state-changing request from the page needs the {CSRF_HEADER} header")
        return principal

    def _forget_expired(self) -> None:
        now = time.time()
        for key in [k for k, s in self.sessions.items() if s.expires <= now]:
            del self.sessions[key]


def _host_name(host: str) -> str:
    """The name part of a Host header (``127.0.0.1:8765`` → ``127.0.0.1``; ``[::1]:80`` → ``::1``)."""
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
