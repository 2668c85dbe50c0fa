"""The sandbox against real misbehaving programs, under the real bwrap."""

from __future__ import annotations

import logging
import os
import socket
import sys
import textwrap
from pathlib import Path

import pytest

from agentco.sandbox import SandboxUnavailable, is_available, run_sandboxed

PYTHON = os.path.join(sys.base_prefix, "bin", "python3")
needs_bwrap = pytest.mark.skipif(not is_available(), reason="bubblewrap cannot run here")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    path = tmp_path / "outside"
    path.mkdir()
    (path / "secret.txt").write_text("top secret")
    return path


def run_python(project: Path, code: str, **limits):
    limits = {"timeout": 20, "cpu_seconds": 10, "memory_mb": 512, **limits}
    return run_sandboxed([PYTHON, "-c", textwrap.dedent(code)], project=project, **limits)


@needs_bwrap
def test_a_normal_program_writes_in_its_project_and_its_output_is_captured(project, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
    result = run_python(
        project,
        """
        import os, sys
        open("out.txt", "w").write("written")
        print("hello from", os.getcwd(), os.environ.get("OPENAI_API_KEY"))
        print("to stderr", file=sys.stderr)
        """,
    )
    assert result.ok, result.stderr
    assert result.stdout == f"hello from {project} None\n"
    assert result.stderr == "to stderr\n"
    assert (project / "out.txt").read_text() == "written"


@needs_bwrap
def test_files_outside_the_project_cannot_be_read(project, outside):
    targets = [outside / "secret.txt", Path.home() / ".bashrc", Path("/etc/shadow"), Path.home() / ".ssh"]
    result = run_python(
        project,
        f"""
        import os
        for path in {[str(t) for t in targets]!r}:
            try:
                print(path, "READ", os.listdir(path) if os.path.isdir(path) else open(path).read()[:20])
            except OSError as exc:
                print(path, "DENIED", type(exc).__name__)
        """,
    )
    assert result.ok, result.stderr
    assert "READ" not in result.stdout
    assert result.stdout.count("DENIED") == len(targets)


@needs_bwrap
def test_writes_outside_the_project_fail_and_leave_nothing_on_the_host(project, outside):
    targets = [outside / "planted.txt", Path("/usr/agentco-planted"), Path("/etc/agentco-planted"), Path("/planted")]
    result = run_python(
        project,
        f"""
        for path in {[str(t) for t in targets]!r}:
            try:
                open(path, "w").write("x")
                print(path, "WROTE")
            except OSError as exc:
                print(path, "DENIED", type(exc).__name__)
        """,
    )
    assert result.ok, result.stderr
    assert "WROTE" not in result.stdout
    assert not any(t.exists() for t in targets)


@needs_bwrap
def test_there_is_no_network_not_even_the_hosts_loopback(project):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)
        port = server.getsockname()[1]
        result = run_python(
            project,
            f"""
            import socket
            for address in [("127.0.0.1", {port}), ("1.1.1.1", 53)]:
                try:
                    socket.create_connection(address, timeout=3).close()
                    print(address, "CONNECTED")
                except OSError as exc:
                    print(address, "FAILED", type(exc).__name__)
            """,
        )
        with pytest.raises(BlockingIOError):
            server.accept()
    assert result.ok, result.stderr
    assert "CONNECTED" not in result.stdout
    assert result.stdout.count("FAILED") == 2


@needs_bwrap
def test_an_endless_loop_is_killed_at_the_timeout(project):
    result = run_python(project, "print('started', flush=True)\nwhile True: pass", timeout=1)
    assert result.timed_out and result.killed_reason == "timeout"
    assert not result.ok
    assert result.stdout == "started\n"
    assert result.duration_s < 5


@needs_bwrap
def test_burning_cpu_is_stopped_by_the_cpu_limit(project):
    result = run_python(project, "while True: pass", cpu_seconds=1, timeout=30)
    assert not result.timed_out
    assert result.killed_reason == "cpu"
    assert "cpu" in result.describe()


@needs_bwrap
def test_allocating_too_much_memory_fails(project):
    result = run_python(project, "block = bytearray(2 * 1024**3)", memory_mb=256)
    assert result.returncode != 0
    assert result.killed_reason == "memory"
    assert "MemoryError" in result.stderr


@needs_bwrap
def test_a_print_loop_keeps_only_the_tail_of_its_output(project):
    result = run_sandboxed(
        [PYTHON, "-c", "for i in range(200_000): print(i)"],
        project=project,
        timeout=20,
        cpu_seconds=10,
        memory_mb=512,
        output_cap=1000,
    )
    assert result.ok
    assert result.stdout.startswith("[... ") and result.stdout.endswith("199999\n")
    assert len(result.stdout) < 1100


def test_a_missing_bwrap_is_a_clear_setup_error(project, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        run_sandboxed(["true"], project=project, timeout=5, cpu_seconds=1, memory_mb=64, mode="bwrap")


def test_opting_out_runs_unsandboxed_with_a_warning(project, caplog):
    with caplog.at_level(logging.WARNING, logger="agentco.sandbox"):
        result = run_sandboxed(
            [PYTHON, "-c", "print('plain')"], project=project, timeout=10, cpu_seconds=5, memory_mb=512, mode="none"
        )
    assert result.stdout == "plain\n"
    assert "without a sandbox" in caplog.text
