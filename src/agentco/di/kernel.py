"""A Jupyter kernel in the sandbox, run one cell at a time, always shut down.

The kernel (ipykernel from the data-science environment) runs under bubblewrap like every other
piece of generated code: no network, writes only to its output folder (its ``data/`` read-only),
an address-space limit and a CPU-seconds limit for its whole life. It talks to us over Unix
sockets in a private runtime folder shared with the sandbox (TCP on loopback would need the
network namespace). A cell that runs past its wall-clock limit is interrupted; a kernel that does
not come back, or dies (memory, CPU), is killed and started afresh, and the caller replays the
cells that had succeeded. ``shutdown`` kills the whole sandbox whatever state the kernel is in,
and bwrap's ``--die-with-parent`` takes it down if agentco itself is killed.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agentco.errors import RunFailed
from agentco.sandbox import confine

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
START_TIMEOUT = 60.0
INTERRUPT_GRACE = 5.0
MAX_OUTPUTS = 50
"""Outputs kept per cell (images, tables, ...); a cell showing more is cut with a note."""
STREAM_CAP = 200_000
"""Characters of printed output kept per cell in the notebook (head and tail; see outputs.py for the model's share)."""


class KernelFailed(RunFailed):
    """The kernel could not be started, or kept dying on start."""


@dataclass
class CellRun:
    """What one execution of a cell gave: nbformat outputs, and how it ended."""

    status: Literal["ok", "error", "timeout", "died"]
    outputs: list[dict[str, Any]] = field(default_factory=list)
    execution_count: int | None = None
    duration_s: float = 0.0
    restarted: bool = False
    """The kernel was started afresh after this cell: its earlier state is gone until replayed."""
    cut: int = 0
    """Outputs or characters left out of ``outputs`` (a cell that printed without end)."""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def error(self) -> dict[str, Any] | None:
        return next((o for o in self.outputs if o["output_type"] == "error"), None)


@dataclass
class KernelLimits:
    memory_mb: int = 4096
    cpu_seconds: int = 3600
    """For the kernel's whole life (a restarted kernel starts a new count)."""


class SandboxKernel:
    """``with SandboxKernel(folder, python) as kernel: kernel.execute(code, timeout=60)``."""

    def __init__(
        self,
        folder: Path,
        python: Path,
        *,
        limits: KernelLimits | None = None,
        read_only: tuple[str, ...] = (".git", "data"),
        env: dict[str, str] | None = None,
    ):
        self.folder, self.python = Path(folder).resolve(), Path(python)
        self.limits = limits or KernelLimits()
        self.read_only, self.env = read_only, env or {}
        self._runtime: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._client: Any = None
        self._closed = False
        self.starts = 0

    # --- lifetime ---------------------------------------------------------------------------
    def __enter__(self) -> SandboxKernel:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Shut the kernel down for good: a cell still running in another thread ends as ``died``
        and no restart follows (Ctrl-C while a cell runs)."""
        self._closed = True
        self.shutdown()

    def start(self) -> None:
        from jupyter_client import BlockingKernelClient
        from jupyter_client.connect import write_connection_file

        self._runtime = Path(tempfile.mkdtemp(prefix="agentco-kernel-"))
        connection, _ = write_connection_file(
            str(self._runtime / "kernel.json"),
            transport="ipc",
            ip=str(self._runtime / "k"),
            key=os.urandom(16).hex().encode(),
        )
        env = {
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            "MPLCONFIGDIR": "/tmp/matplotlib",
            "PYTHONDONTWRITEBYTECODE": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            **self.env,
        }
        argv = [str(self.python), "-m", "ipykernel_launcher", "-f", connection, "--HistoryManager.enabled=False"]
        confined = confine(
            argv, project=self.folder, cpu_seconds=self.limits.cpu_seconds, memory_mb=self.limits.memory_mb,
            env=env, extra_ro=[self.python.parent.parent], extra_rw=[self._runtime], read_only=self.read_only,
        )  # fmt: skip
        log = open(self._runtime / "kernel.log", "wb")  # noqa: SIM115 (the kernel writes it while it runs)
        self._proc = subprocess.Popen(
            confined.argv, env=confined.env, cwd=confined.cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        self.starts += 1
        client = BlockingKernelClient(connection_file=connection)
        client.load_connection_file()
        client.start_channels()
        self._client = client
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self._proc.poll() is not None:
                tail = self._log_tail()
                self.shutdown()
                raise KernelFailed(f"the kernel exited while starting (status {self._proc.returncode}): {tail}")
            try:
                client.wait_for_ready(timeout=min(5.0, max(0.1, deadline - time.monotonic())))
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    tail = self._log_tail()
                    self.shutdown()
                    raise KernelFailed(f"the kernel did not answer within {START_TIMEOUT:.0f} s: {tail}") from None

    def restart(self) -> None:
        self.shutdown()
        self.start()

    def shutdown(self) -> None:
        """Stop the kernel: politely if it answers, else by killing its whole sandbox."""
        client, proc, self._client = self._client, self._proc, None
        if client is not None:
            try:
                if proc is not None and proc.poll() is None:
                    client.shutdown()
            except Exception:  # noqa: BLE001 (a broken channel: the kill below still stops it)
                pass
            client.stop_channels()
        if proc is not None and proc.poll() is None:
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                _kill(proc)
        if self._runtime is not None:
            shutil.rmtree(self._runtime, ignore_errors=True)
            self._runtime = None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # --- cells ------------------------------------------------------------------------------
    def execute(self, code: str, *, timeout: float, history: bool = True) -> CellRun:
        """Run one cell. A cell past ``timeout`` seconds is interrupted; a kernel that then stays
        busy, or that died, is restarted (``restarted``; the caller replays what it needs)."""
        if self._closed:
            raise KernelFailed("the kernel was shut down")
        if self._client is None or not self.alive:
            self.restart()
        started = time.monotonic()
        collected = _Collector()
        msg_id = self._client.execute(code, store_history=history, allow_stdin=False, stop_on_error=True)
        status = self._follow(msg_id, collected, started + timeout)
        run = CellRun(status, collected.outputs, collected.count, time.monotonic() - started, cut=collected.cut)
        if status == "timeout" and not self._closed:
            self._interrupt()
            if self._follow(msg_id, _Collector(), time.monotonic() + INTERRUPT_GRACE) != "ok":
                run.restarted = True
            run.outputs.append(
                _error_output("TimeoutError", f"the cell ran past its limit of {timeout:.0f} s and was stopped")
            )
        elif status == "died":
            run.restarted = True
            reason = _death(self._proc)
            run.outputs.append(
                _error_output(
                    "KernelDied",
                    f"the kernel died while running this cell ({reason}); it was restarted and earlier cells' state is gone unless replayed",
                )
            )  # noqa: E501
        elif collected.error:
            run.status = "error"
        if run.restarted and not self._closed:
            self.restart()
        return run

    def _follow(self, msg_id: str, collected: _Collector, deadline: float) -> Literal["ok", "timeout", "died"]:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout"
            client = self._client
            if not self.alive or client is None:
                return "died"
            try:
                msg = client.get_iopub_msg(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            except Exception:  # noqa: BLE001 (channels closed under us by close())
                return "died"
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
                return "ok"
            collected.add(msg["msg_type"], msg["content"])

    def _interrupt(self) -> None:
        """ipykernel interrupts itself on an ``interrupt_request`` (a signal from outside would
        have to cross the sandbox's PID namespace)."""
        with contextlib.suppress(Exception):  # a broken channel: the grace period ends in a restart
            self._client.control_channel.send(self._client.session.msg("interrupt_request", {}))

    def _log_tail(self) -> str:
        try:
            text = (self._runtime / "kernel.log").read_text(errors="replace") if self._runtime else ""
        except OSError:
            text = ""
        return " | ".join(text.strip().splitlines()[-3:]) or "no output"


class _Collector:
    """Turns iopub messages into nbformat outputs, within MAX_OUTPUTS and STREAM_CAP."""

    def __init__(self) -> None:
        self.outputs: list[dict[str, Any]] = []
        self.count: int | None = None
        self.error = False
        self.cut = 0
        self._chars = 0

    def add(self, kind: str, content: dict[str, Any]) -> None:
        if kind == "execute_input":
            self.count = content.get("execution_count")
        elif kind == "clear_output":
            self.outputs.clear()
        elif kind == "stream":
            self._stream(content.get("name", "stdout"), str(content.get("text", "")))
        elif kind in ("execute_result", "display_data", "error"):
            if kind == "error":
                self.error = True
            if len(self.outputs) >= MAX_OUTPUTS:
                self.cut += 1
                return
            self.outputs.append(_output(kind, content))

    def _stream(self, name: str, text: str) -> None:
        room = STREAM_CAP - self._chars
        if room <= 0:
            self.cut += len(text)
            return
        if len(text) > room:
            self.cut += len(text) - room
            text = text[:room]
        self._chars += len(text)
        last = self.outputs[-1] if self.outputs else None
        if last and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        elif len(self.outputs) < MAX_OUTPUTS:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})
        else:
            self.cut += len(text)


def _output(kind: str, content: dict[str, Any]) -> dict[str, Any]:
    if kind == "error":
        return _error_output(
            str(content.get("ename", "Error")), str(content.get("evalue", "")), content.get("traceback")
        )
    out: dict[str, Any] = {
        "output_type": kind,
        "data": dict(content.get("data", {})),
        "metadata": dict(content.get("metadata", {})),
    }  # noqa: E501
    if kind == "execute_result":
        out["execution_count"] = content.get("execution_count")
    return out


def _error_output(ename: str, evalue: str, traceback: list[str] | None = None) -> dict[str, Any]:
    lines = [_ANSI.sub("", str(line)) for line in (traceback or [f"{ename}: {evalue}"])]
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": lines}


def _death(proc: subprocess.Popen[bytes] | None) -> str:
    code = proc.returncode if proc is not None else None
    if code is None:
        return "no answer"
    signum = code - 128 if code > 128 else -code
    if signum == signal.SIGXCPU:
        return "its CPU time ran out"
    if signum == signal.SIGKILL:
        return "killed, most likely for memory"
    return f"exit status {code}"


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
