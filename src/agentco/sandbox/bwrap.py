"""Runs generated code under bubblewrap: no network, writes only to its project folder.

Inside the sandbox the process sees a read-only system (/usr and the /lib, /bin links, a few files
from /etc, the Python installation agentco runs on), a fresh /tmp, /dev and /proc, and the
project folder read-write at its real absolute path, so virtual environments created outside keep
working. Everything else, /root included, is simply not there. The process runs in new user,
PID, network, IPC and UTS namespaces with every capability dropped; a user namespace matters
because we often run as root, and root keeps all its capabilities inside bwrap otherwise.

Resource limits are applied inside the sandbox with util-linux ``prlimit`` (thread-safe, unlike a
``preexec_fn``): CPU seconds, address space, file size, no core dumps. The wall-clock timeout kills
the whole process group; bwrap's PID namespace takes every descendant down with it.

``AGENTCO_SANDBOX=none`` (or ``mode="none"``) runs without bwrap, still with the limits and the
timeout, and logs a warning each time: only for machines where namespaces are unavailable and the
user accepts the risk. There the code sees the whole machine, and a process that starts its own
session outlives the timeout.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from agentco.errors import ConfigError
from agentco.sandbox.process import OUTPUT_CAP, run_capped

log = logging.getLogger(__name__)

INSTALL_HINT = "install it with: apt-get install bubblewrap"
SANDBOX_UID = 1000
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Enough of /etc for the dynamic loader, name lookups, TLS and pip; never shadow or ssh keys.
_ETC_ENTRIES = (
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime", "timezone",
    "passwd", "group", "nsswitch.conf", "hosts", "host.conf", "gai.conf", "resolv.conf",
    "protocols", "services", "mime.types", "os-release", "ssl", "ca-certificates", "pki",
    "pip.conf", "xdg/pip",
)  # fmt: skip
_MEMORY_MARKERS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory")


class SandboxUnavailable(ConfigError):
    """bubblewrap is missing or cannot create namespaces on this machine."""


@dataclass(frozen=True)
class SandboxResult:
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool
    killed_reason: str | None  # "timeout", "cpu", "memory", "signal SIGSEGV", ...
    duration_s: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def describe(self) -> str:
        """One line for a report or a prompt."""
        if self.ok:
            return f"exited 0 in {self.duration_s:.1f}s"
        reason = f" ({self.killed_reason})" if self.killed_reason else ""
        return f"exited {self.returncode}{reason} after {self.duration_s:.1f}s"


def sandbox_mode(mode: str | None = None) -> str:
    mode = (mode or os.environ.get("AGENTCO_SANDBOX") or "bwrap").strip().lower()
    if mode not in ("bwrap", "none"):
        raise ConfigError(f"unknown sandbox {mode!r}; use 'bwrap' or 'none'", key="AGENTCO_SANDBOX")
    return mode


def _system_mounts() -> list[str]:
    args: list[str] = []
    for path in _SYSTEM_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for entry in _ETC_ENTRIES:
        args += ["--ro-bind-try", f"/etc/{entry}", f"/etc/{entry}"]
    return args + ["--proc", "/proc", "--dev", "/dev"]


def _namespace_flags(allow_network: bool) -> list[str]:
    flags = ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID)]
    flags += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    flags += ["--hostname", "sandbox", "--cap-drop", "ALL", "--die-with-parent"]
    return flags if allow_network else [*flags, "--unshare-net"]


def _bind(path: Path, *, writable: bool) -> list[str]:
    """Bind at the real path, plus a link at the given path when it goes through a symlink."""
    given, real = os.path.abspath(path), os.path.realpath(path)
    args = ["--bind" if writable else "--ro-bind", real, real]
    return args + (["--symlink", real, given] if given != real else [])


def _python_prefixes() -> list[Path]:
    prefixes = {Path(os.path.realpath(p)) for p in (sys.base_prefix, sys.base_exec_prefix)}
    return sorted(p for p in prefixes if not p.is_relative_to("/usr"))


@functools.cache
def _probe(bwrap: str) -> str | None:
    """Runs ``true`` in a sandbox like the real ones; returns why it failed, or None."""
    cmd = [bwrap, *_system_mounts(), "--size", str(1 << 20), "--tmpfs", "/tmp"]
    cmd += [*_namespace_flags(allow_network=False), "--remount-ro", "/", "true"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return None if done.returncode == 0 else (done.stderr.strip() or f"exit status {done.returncode}")


def ensure_available() -> str:
    """Returns the bwrap path, or raises SandboxUnavailable saying what to do."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable(f"bubblewrap (bwrap) is not installed; {INSTALL_HINT}", key="sandbox")
    problem = _probe(bwrap)
    if problem:
        raise SandboxUnavailable(
            f"bubblewrap cannot create namespaces here: {problem}. It needs user namespaces "
            f"(a container may need --privileged or a seccomp profile allowing them; {INSTALL_HINT} "
            "if it is missing). AGENTCO_SANDBOX=none runs generated code unsandboxed, at your own risk.",
            key="sandbox",
        )
    return bwrap


def is_available() -> bool:
    """Whether bwrap is installed and really works here (checked once per process)."""
    try:
        ensure_available()
    except SandboxUnavailable:
        return False
    return True


def _limits(cpu_seconds: int, memory_mb: int, file_mb: int) -> list[str]:
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        raise SandboxUnavailable("prlimit is missing; install it with: apt-get install util-linux", key="sandbox")
    mb = 1024 * 1024
    return [
        prlimit,
        f"--cpu={cpu_seconds}:{cpu_seconds + 1}",
        f"--as={memory_mb * mb}",
        f"--fsize={file_mb * mb}",
        "--core=0",
        "--",
    ]


def _killed_reason(returncode: int, stderr: str, timed_out: bool, sandboxed: bool) -> str | None:
    if timed_out:
        return "timeout"
    signum = returncode - 128 if sandboxed and returncode > 128 else -returncode
    if signum == signal.SIGXCPU:
        return "cpu"
    if returncode != 0 and any(marker in stderr[-4000:] for marker in _MEMORY_MARKERS):
        return "memory"
    if signum == signal.SIGXFSZ:
        return "file size"
    if 0 < signum < signal.NSIG:
        return f"signal {signal.Signals(signum).name}"
    return None


@dataclass(frozen=True)
class Confined:
    """A command line that runs a program in the sandbox, with the environment and folder to start it in."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    sandboxed: bool


def confine(
    argv: Sequence[str],
    *,
    project: Path,
    cpu_seconds: int,
    memory_mb: int,
    env: Mapping[str, str] | None = None,
    allow_network: bool = False,
    extra_ro: Sequence[Path] = (),
    extra_rw: Sequence[Path] = (),
    cwd: Path | None = None,
    read_only: Sequence[str] = (".git",),
    file_mb: int = 512,
    mode: str | None = None,
) -> Confined:
    """The sandboxed command for ``argv``, confined to ``project``: for a caller that keeps the
    process running (a Jupyter kernel); ``run_sandboxed`` runs one to its end.

    ``env`` is added to a minimal environment (PATH, HOME=/tmp, LANG); nothing else from ours
    leaks in, API keys included. ``extra_rw`` is for caches a trusted caller shares (pip's).
    ``read_only`` names what inside ``project`` the code may read but not change, replace or
    plant into: the project's ``.git``, whose hooks and configuration the host's git would obey.
    Raises SandboxUnavailable only for our own setup problems.
    """
    project = Path(os.path.realpath(project))
    if not project.is_dir():
        raise ConfigError(f"project folder {project} does not exist", key="sandbox")
    if project == Path("/") or Path.home().resolve().is_relative_to(project):
        raise ConfigError(f"refusing to give sandboxed code write access to {project}", key="sandbox")
    cwd = Path(os.path.realpath(cwd)) if cwd else project
    full_env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "USER": "sandbox",
        "LOGNAME": "sandbox",
        **(env or {}),
    }
    sandboxed = sandbox_mode(mode) == "bwrap"
    bwrap = ensure_available() if sandboxed else ""
    for path in [*extra_ro, *extra_rw]:
        if not Path(path).exists():
            raise ConfigError(f"{path} does not exist and cannot be shared with the sandbox", key="sandbox")
    limits = _limits(cpu_seconds, memory_mb, file_mb)
    if not sandboxed:
        log.warning("AGENTCO_SANDBOX=none: running %s without a sandbox", argv[0] if argv else "?")
        return Confined([*limits, *argv], full_env, cwd, sandboxed)
    cmd = [bwrap, *_system_mounts(), "--size", str(memory_mb * 1024 * 1024), "--tmpfs", "/tmp"]
    for path in [*_python_prefixes(), *extra_ro]:
        cmd += _bind(path, writable=False)
    for path in [project, *extra_rw]:
        cmd += _bind(path, writable=True)
    for name in read_only:  # mounted over the writable project: cannot be written, renamed or removed
        if (project / name).is_symlink():
            raise ConfigError(f"{project / name} is a symbolic link; refusing to run code there", key="sandbox")
        cmd += ["--ro-bind-try", str(project / name), str(project / name)]
    cmd += [*_namespace_flags(allow_network), "--remount-ro", "/", "--chdir", str(cwd), "--"]
    return Confined([*cmd, *limits, *argv], full_env, cwd, sandboxed)


def run_sandboxed(
    argv: Sequence[str],
    *,
    project: Path,
    timeout: float,
    cpu_seconds: int,
    memory_mb: int,
    env: Mapping[str, str] | None = None,
    allow_network: bool = False,
    extra_ro: Sequence[Path] = (),
    extra_rw: Sequence[Path] = (),
    cwd: Path | None = None,
    read_only: Sequence[str] = (".git",),
    file_mb: int = 512,
    output_cap: int = OUTPUT_CAP,
    mode: str | None = None,
) -> SandboxResult:
    """Runs ``argv`` confined to ``project`` (see ``confine``); a misbehaving program is reported,
    never raised."""
    confined = confine(
        argv, project=project, cpu_seconds=cpu_seconds, memory_mb=memory_mb, env=env, allow_network=allow_network,
        extra_ro=extra_ro, extra_rw=extra_rw, cwd=cwd, read_only=read_only, file_mb=file_mb, mode=mode,
    )  # fmt: skip
    done = run_capped(confined.argv, env=confined.env, cwd=confined.cwd, timeout=timeout, cap=output_cap)
    return SandboxResult(
        returncode=done.returncode,
        stdout=done.stdout,
        stderr=done.stderr,
        timed_out=done.timed_out,
        killed_reason=_killed_reason(done.returncode, done.stderr, done.timed_out, confined.sandboxed),
        duration_s=done.duration_s,
    )
