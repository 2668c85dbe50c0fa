"""The real CLI in a subprocess, as a user runs it, and what a bad-input test checks afterwards."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path


def agentco(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {
        **os.environ,
        "HOME": str(cwd),
        "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache")),
    }
    full.pop("AGENTCO_LLM__MODEL", None)
    return subprocess.run(
        [sys.executable, "-m", "agentco", *args], cwd=cwd, env={**full, **(env or {})},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def snapshot(root: Path) -> dict[str, str]:
    """Every file (by content) and folder under root: a bad input may change none of them."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "folder"
        for p in root.rglob("*")
    }


def clear(done: subprocess.CompletedProcess) -> str:
    """The error output, after checking it is one line and no traceback."""
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    return done.stderr
