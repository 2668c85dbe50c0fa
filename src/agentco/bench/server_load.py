"""The team server under load: many live followers of one run, and a queue of runs behind it.

A real ``agentco serve`` process on loopback with the scripted company. ``clients`` event streams
follow the first run from its start; ``queued`` more runs are asked for at once and wait for their
slots. Meanwhile the API is asked for the runs list and single runs, each call timed. Reported:
events each follower missed or got twice against the run's stored stream (goal: none), API latency
(p50, p95), the server process's peak memory (VmHWM), and how the runs ended.
"""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

IDEA = "Write roman.py"


class _Client:
    def __init__(self, base: str):
        self.base, self.csrf = base, ""
        self.latencies: list[float] = []
        self._lock = threading.Lock()

    def call(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json", "X-CSRF-Token": self.csrf} if method != "GET" else {}
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        with self._lock:
            self.latencies.append(time.perf_counter() - start)
        return status, json.loads(raw) if raw else None

    def follow(self, run_id: str, into: list[int]) -> None:
        """The numbers of the numbered events of the run's stream, to its end."""
        request = urllib.request.Request(f"{self.base}/api/runs/{run_id}/events")
        with urllib.request.urlopen(request, timeout=600) as response:
            for raw in response:
                line = raw.decode()
                if line.startswith("id: "):
                    into.append(int(line[4:]))


def run_server_load(clients: int = 50, queued: int = 20, model: str = "fake:roman?delay=0.05") -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="agentco-load-") as tmp:
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "agentco", "serve", "--port", str(port), "--workspace", str(Path(tmp) / "ws"),
             "--model", model, "--max-parallel", "4"],
            cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            return _measure(_Client(f"http://127.0.0.1:{port}"), server, clients, queued, model)
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()


def _measure(api: _Client, server: subprocess.Popen[bytes], clients: int, queued: int, model: str) -> dict[str, Any]:
    _wait_healthy(api, server)
    api.csrf = api.call("GET", "/api/session")[1]["csrf"]
    started = time.perf_counter()
    first = api.call("POST", "/api/runs", {"idea": IDEA, "project_name": "load-0"})[1]["id"]
    seen: list[list[int]] = [[] for _ in range(clients)]
    followers = [threading.Thread(target=api.follow, args=(first, into), daemon=True) for into in seen]
    for follower in followers:
        follower.start()
    runs = [first] + [
        api.call("POST", "/api/runs", {"idea": IDEA, "project_name": f"load-{n}"})[1]["id"]
        for n in range(1, queued + 1)
    ]
    ended: dict[str, str] = {}
    while len(ended) < len(runs) and time.perf_counter() - started < 1800:
        for run in api.call("GET", "/api/runs")[1]:
            if run["status"] not in ("queued", "running") and run["id"] in runs:
                ended[run["id"]] = run["status"]
        api.call("GET", f"/api/runs/{runs[-1]}")
        time.sleep(0.2)
    for follower in followers:
        follower.join(60)
    stored = [e["seq"] for e in api.call("GET", f"/api/runs/{first}/history")[1]]
    missed = sum(len(set(stored) - set(got)) for got in seen)
    twice = sum(len(got) - len(set(got)) for got in seen)
    latencies = sorted(api.latencies)
    return {
        "clients": clients,
        "queued_runs": queued,
        "model": model,
        "events_in_followed_run": len(stored),
        "events_delivered": sum(len(got) for got in seen),
        "dropped_events": missed,
        "duplicate_events": twice,
        "api_calls": len(latencies),
        "api_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "api_p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000, 1),
        "server_peak_rss_mb": _peak_rss_mb(server.pid),
        "runs": len(runs),
        "runs_by_status": {status: list(ended.values()).count(status) for status in sorted(set(ended.values()))},
        "wall_s": round(time.perf_counter() - started, 1),
    }


def _wait_healthy(api: _Client, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server ended: {server.stderr.read().decode() if server.stderr else ''}")
        try:
            if api.call("GET", "/healthz")[0] == 200:
                api.latencies.clear()
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not answer /healthz in 60 s")


def _peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_load_table(report: dict[str, Any]) -> Any:
    from rich.table import Table

    table = Table(title="team server under load")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key in ("clients", "queued_runs", "events_in_followed_run", "events_delivered", "dropped_events",
                "duplicate_events", "api_calls", "api_p50_ms", "api_p95_ms", "server_peak_rss_mb", "runs_by_status",
                "wall_s"):  # fmt: skip
        table.add_row(key, str(report.get(key)))
    return table
