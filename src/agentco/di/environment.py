"""The data-science environment the interpreter's kernel runs in.

A virtual environment of its own under ``di.env_dir`` (pinned pandas, numpy, scipy, matplotlib,
scikit-learn, statsmodels and ipykernel from ``requirements.txt``), created with pip on first use
and never agentco's own: the user's packages and agentco's pins cannot clash with the kernel's.
It is named by a digest of the pins and the Python version, built in a scratch folder and renamed
into place when complete, so a half-built environment is never used and two processes never
build into the same folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

from agentco.errors import ConfigError

READY = ".agentco-ready"


def pins() -> str:
    return (files("agentco.di") / "requirements.txt").read_text(encoding="utf-8")


def environment_path(env_dir: Path) -> Path:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    digest = hashlib.sha256(f"{version}\n{pins()}".encode()).hexdigest()[:12]
    return env_dir.expanduser() / f"ds-py{version}-{digest}"


def python_of(env: Path) -> Path:
    return env / "bin" / "python"


def ensure_environment(env_dir: Path, *, say: Callable[[str], None] = lambda _: None) -> Path:
    """The environment's folder, created first if it is missing (minutes, once)."""
    target = environment_path(env_dir)
    if (target / READY).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    import fcntl

    with open(target.parent / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building it: wait for it
        if (target / READY).is_file():
            return target
        say(f"creating the data-science environment in {target} (once; pandas, numpy, scipy, matplotlib, ...)")
        scratch = target.parent / f".{target.name}.building"
        shutil.rmtree(scratch, ignore_errors=True)
        try:
            _build(scratch)
            if target.exists():  # a folder without the ready mark: an older failed attempt
                shutil.rmtree(target)
            os.replace(scratch, target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return target


def _build(folder: Path) -> None:
    venv.EnvBuilder(with_pip=True, symlinks=True).create(folder)
    requirements = folder / "requirements.txt"
    requirements.write_text(pins(), encoding="utf-8")
    argv = [str(python_of(folder)), "-m", "pip", "install", "--no-input", "--disable-pip-version-check",
            "--only-binary", ":all:", "-r", str(requirements)]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=1800)
    if done.returncode != 0:
        last = " | ".join(line.strip() for line in (done.stderr or done.stdout).strip().splitlines()[-3:])
        raise ConfigError(
            f"cannot create the data-science environment (pip exited {done.returncode}: {last}); "
            "it needs access to PyPI once, or a pip configured for a mirror",
            key="di.env_dir",
        )
    (folder / READY).write_text(pins(), encoding="utf-8")
