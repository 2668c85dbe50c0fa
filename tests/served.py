"""A real ``agentco serve`` process on loopback and a plain-HTTP client of it (urllib), for the server
and browser tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

IDEA = "Write roman.py"


def env() -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTCO_LLM", "AGENTCO_FAKE"))}
    return {k: v for k, v in keep.items() if not k.endswith("_API_KEY")}


def agentco(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agentco", *args], cwd=cwd, env=env(), capture_output=True,
                          text=True, timeout=60)  # fmt: skip


class Server:
    def __init__(self, workspace: Path, model: str = "fake:roman"):
        self.workspace, self.model = workspace, model
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.token: str | None = None
        self.csrf = ""

    def start(self) -> Server:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agentco", "serve", "--port", str(self.port), "--workspace", str(self.workspace),
             "--model", self.model],
            cwd=self.workspace.parent, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(self.process.stderr.read().decode() if self.process.stderr else "server died")
            try:
                if self.call("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("the server did not answer /healthz in 60 s")
        if self.token is None:  # open mode (no tokens): the page's CSRF token, as the page reads it
            self.csrf = json.loads(self.call("GET", "/api/session")[2])["csrf"]
        return self

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def call(self, method: str, path: str, body: object = None, *, token: str | None = "default",
             headers: dict[str, str] | None = None, raw: bytes | None = None) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
        sent = dict(headers or {})
        token = self.token if token == "default" else token
        if token:
            sent["Authorization"] = f"Bearer {token}"
        elif self.csrf and method != "GET":
            sent.setdefault("X-CSRF-Token", self.csrf)
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, lower(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, lower(exc.headers), exc.read()

    def json(self, method: str, path: str, body: object = None, **kw: object) -> object:
        status, _, data = self.call(method, path, body, **kw)  # type: ignore[arg-type]
        assert status < 300, (status, data[:500])
        return json.loads(data)

    def events(self, run_id: str, *, last_id: int | None = None, stop_after: int | None = None) -> list[dict]:
        """The numbered events of the stream (tokens left out), to its end or ``stop_after`` of them."""
        headers = {"Accept": "text/event-stream"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if last_id is not None:
            headers["Last-Event-ID"] = str(last_id)
        request = urllib.request.Request(f"{self.base}/api/runs/{run_id}/events", headers=headers)
        found, current = [], {}
        with urllib.request.urlopen(request, timeout=120) as response:
            for raw in response:
                line = raw.decode().rstrip("\n")
                if line.startswith(":"):
                    continue
                if line:
                    key, _, value = line.partition(": ")
                    current[key] = value
                    continue
                if "id" in current:
                    found.append({**json.loads(current["data"]), "event_id": int(current["id"])})
                    if stop_after is not None and len(found) >= stop_after:
                        break
                current = {}
        return found

    def wait(self, run_id: str, until: set[str], timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.json("GET", f"/api/runs/{run_id}")
            if shown["status"] in until:  # type: ignore[index]
                return shown  # type: ignore[return-value]
            time.sleep(0.3)
        raise AssertionError(f"run {run_id} did not reach {until}: {shown}")


def lower(headers: object) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}  # type: ignore[attr-defined]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_tokens(workspace: Path) -> dict[str, str]:
    made = {}
    for scope in ("read", "run", "admin", "gone"):
        done = agentco("tokens", "create", scope, "--scope", "read" if scope == "gone" else scope, "--workspace",
                       str(workspace), cwd=workspace.parent)  # fmt: skip
        assert done.returncode == 0, done.stderr
        made[scope] = done.stdout.strip().splitlines()[-1]
    done = agentco("tokens", "revoke", "gone", "--workspace", str(workspace), cwd=workspace.parent)
    assert done.returncode == 0, done.stderr
    listed = agentco("tokens", "list", "--workspace", str(workspace), cwd=workspace.parent).stdout
    assert "revoked" in listed and not any(token in listed for token in made.values())
    return made
