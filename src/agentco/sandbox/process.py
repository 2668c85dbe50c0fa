"""Runs a command with a wall-clock deadline and keeps only the tail of its output.

The whole process group is killed at the deadline, and each stream keeps its last ``cap`` bytes,
so a program stuck in a print loop costs neither time nor memory.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

OUTPUT_CAP = 64 * 1024
_DRAIN_GRACE_S = 2.0


@dataclass(frozen=True)
class Captured:
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool
    duration_s: float


class _Tail:
    def __init__(self, cap: int):
        self.cap, self.buf, self.cut = cap, bytearray(), 0

    def add(self, data: bytes) -> None:
        self.buf += data
        extra = len(self.buf) - self.cap
        if extra > 0:
            del self.buf[:extra]
            self.cut += extra

    def text(self) -> str:
        text = self.buf.decode("utf-8", errors="replace")
        return f"[... {self.cut} bytes cut ...]\n{text}" if self.cut else text


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def run_capped(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    timeout: float,
    cap: int = OUTPUT_CAP,
) -> Captured:
    start = time.monotonic()
    proc = subprocess.Popen(
        list(cmd),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env),
        cwd=cwd,
        start_new_session=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    tails = {proc.stdout.fileno(): _Tail(cap), proc.stderr.fileno(): _Tail(cap)}
    deadline, timed_out = start + timeout, False
    try:
        with selectors.DefaultSelector() as sel:
            for fd in tails:
                sel.register(fd, selectors.EVENT_READ)
            while sel.get_map():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    if timed_out:
                        break  # killed, yet something still holds the pipes open
                    timed_out = True
                    _kill_group(proc)
                    deadline = time.monotonic() + _DRAIN_GRACE_S
                    continue
                for key, _ in sel.select(remaining):
                    data = os.read(key.fd, 65536)
                    if data:
                        tails[key.fd].add(data)
                    else:
                        sel.unregister(key.fd)
        try:
            returncode = proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            returncode = proc.wait()
    finally:
        if proc.poll() is None:
            _kill_group(proc)
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    out, err = tails.values()
    return Captured(returncode, out.text(), err.text(), timed_out, time.monotonic() - start)
