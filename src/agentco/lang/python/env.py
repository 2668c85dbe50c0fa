"""A generated project's Python environment: its venv, its requirements, and the sandbox it runs in.

Why the environment is built this way: a venv made by ``python -m venv`` with pip takes about
4 s, and installing pytest into it about 3 s more, on every project. Instead each project gets a
``--without-pip`` venv (about 0.1 s, no system site-packages, so the generated code sees only
what it asked for) plus a ``.pth`` file naming a shared, read-only folder holding pytest.
agentco fills that folder once per machine and Python version in
``~/.cache/agentco/py3.X/pytest-site`` (and pip in ``pip-site``, used only while installing).
The ``.pth`` entry comes after the venv's own site-packages, so a project's pinned packages win.

Requirements are installed by pip running inside the sandbox, with network but with write access
only to the project and agentco's own pip cache: installing a package runs its build code, and the
package names come from a model.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
import venv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from agentco.errors import RunFailed
from agentco.lang.base import Dropped, EnvResult
from agentco.sandbox import SandboxResult, run_sandboxed

PYTEST_REQUIREMENT = "pytest>=8"
PIP_REQUIREMENT = "pip>=23"
VENV_DIR = ".venv"
_PTH_NAME = "_agentco_pytest_site.pth"
_STAMP_NAME = "agentco-requirements.txt"
_STDLIB = {name.lower() for name in sys.stdlib_module_names}
# Import names models put in requirements files instead of the distribution's name.
_RENAMES = {
    "sklearn": "scikit-learn",
    "pil": "Pillow",
    "yaml": "PyYAML",
    "cv2": "opencv-python",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
    "dotenv": "python-dotenv",
}
_PASSTHROUGH = ("http_proxy", "https_proxy", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE")


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "agentco"


def tail(text: str, limit: int = 4000) -> str:
    return text if len(text) <= limit else "..." + text[-limit:]


def filter_requirements(lines: Iterable[str]) -> tuple[list[str], list[Dropped]]:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    kept: list[str] = []
    dropped: list[Dropped] = []
    for raw in lines:
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            dropped.append(Dropped(line, "pip options are not allowed in generated requirements"))
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            dropped.append(Dropped(line, f"not a valid requirement: {exc}"))
            continue
        if req.url:
            dropped.append(Dropped(line, "direct URL references are not allowed"))
            continue
        if req.name.split(".")[0].lower().replace("-", "_") in _STDLIB:
            dropped.append(Dropped(line, "part of the Python standard library"))
            continue
        renamed = _RENAMES.get(canonicalize_name(req.name))
        if renamed:
            dropped.append(Dropped(line, f"an import name; installing {renamed} instead"))
            req.name = renamed
        if str(req) in kept:
            dropped.append(Dropped(line, "duplicate"))
            continue
        kept.append(str(req))
    return kept, dropped


@dataclass(frozen=True)
class ProjectEnv:
    """Where a project's code runs: its own venv, agentco's shared sites, the sandbox's limits."""

    cache_dir: Path
    install_timeout: float = 600
    cpu_seconds: int = 300
    memory_mb: int = 4096

    def python(self, project: Path) -> Path:
        return Path(os.path.realpath(project)) / VENV_DIR / "bin" / "python"

    def prepare(self, project: Path, requirements: Sequence[str]) -> EnvResult:
        start = time.monotonic()
        project = Path(os.path.realpath(project))
        kept, dropped = filter_requirements(requirements)
        pytest_site, pip_site = self.shared_sites()
        venv_dir = project / VENV_DIR
        _ensure_venv(venv_dir)
        site_packages = next((venv_dir / "lib").glob("python*/site-packages"))
        stamp = venv_dir / _STAMP_NAME
        installed, failed, log_tail = list(kept), {}, ""
        if kept and (not _inside(project, stamp).is_file() or stamp.read_text() != "\n".join(kept)):
            _inside(project, site_packages / _PTH_NAME).unlink(missing_ok=True)  # pip must not count pytest's deps
            installed, failed, log_tail = self._install(project, kept, pip_site, start + self.install_timeout)
            if not failed:
                _inside(project, stamp).write_text("\n".join(kept))
        _inside(project, site_packages / _PTH_NAME).write_text(f"{pytest_site}\n")
        return EnvResult(not failed, installed, failed, dropped, time.monotonic() - start, log_tail)

    def shared_sites(self) -> tuple[Path, Path]:
        """pytest and pip, installed once per machine into agentco's cache; built side by side.
        ``AGENTCO_TOOLS_DIR`` names a folder that holds them prebuilt instead (a container image
        fills it at build time, so runs need no package index)."""
        base = Path(os.environ["AGENTCO_TOOLS_DIR"]) if os.environ.get("AGENTCO_TOOLS_DIR") else self.cache_dir
        root = base / "py{}.{}".format(*sys.version_info[:2])
        sites = {"pytest-site": PYTEST_REQUIREMENT, "pip-site": PIP_REQUIREMENT}
        building = {}
        for name, requirement in sites.items():
            if not (root / name).is_dir():
                root.mkdir(parents=True, exist_ok=True)
                tmp = root / f".{name}-{uuid.uuid4().hex[:8]}"
                cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
                cmd += ["--no-input", "--target", str(tmp), requirement]
                building[name] = (tmp, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
        for name, (tmp, proc) in building.items():
            output = proc.communicate()[0].decode(errors="replace")
            if proc.returncode != 0:
                shutil.rmtree(tmp, ignore_errors=True)
                raise RunFailed(f"could not install {sites[name]} into {root / name}: {tail(output, 2000)}")
            try:
                tmp.rename(root / name)
            except OSError:  # another process finished first
                shutil.rmtree(tmp, ignore_errors=True)
        return root / "pytest-site", root / "pip-site"

    def run(self, project: Path, argv: list[str], timeout: float) -> SandboxResult:
        """Run ``argv`` in the sandbox with the project's venv and the project importable."""
        paths = [str(project)] + ([str(project / "src")] if (project / "src").is_dir() else [])
        env = {
            "PATH": f"{project / VENV_DIR / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "VIRTUAL_ENV": str(project / VENV_DIR),
            "PYTHONPATH": os.pathsep.join(paths),
            "PYTHONDONTWRITEBYTECODE": "1",
            "MPLBACKEND": "Agg",
        }
        pytest_site = self.shared_sites()[0]
        return run_sandboxed(
            argv,
            project=project,
            timeout=timeout,
            cpu_seconds=self.cpu_seconds,
            memory_mb=self.memory_mb,
            env=env,
            extra_ro=[pytest_site],
        )

    def _install(
        self, project: Path, requirements: list[str], pip_site: Path, deadline: float
    ) -> tuple[list[str], dict[str, str], str]:
        """All at once first; on failure one by one, to name the culprits and keep the rest."""
        done = self._pip(project, requirements, pip_site, deadline)
        if done.ok:
            return list(requirements), {}, tail(done.stdout + done.stderr)
        if len(requirements) == 1:
            return [], {requirements[0]: _pip_error(done)}, tail(done.stdout + done.stderr)
        installed, failed = [], {}
        for requirement in requirements:
            if time.monotonic() >= deadline:
                failed[requirement] = "not attempted: the install time budget was spent"
                continue
            done = self._pip(project, [requirement], pip_site, deadline)
            if done.ok:
                installed.append(requirement)
            else:
                failed[requirement] = _pip_error(done)
        return installed, failed, tail(done.stdout + done.stderr)

    def _pip(self, project: Path, requirements: list[str], pip_site: Path, deadline: float) -> SandboxResult:
        pip_cache = self.cache_dir / "pip"
        pip_cache.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k.startswith("PIP_") or k.lower() in _PASSTHROUGH}
        env["PYTHONPATH"] = str(pip_site)
        local_links = [Path(p) for p in env.get("PIP_FIND_LINKS", "").split() if p.startswith("/") and Path(p).is_dir()]
        argv = [str(self.python(project)), "-m", "pip", "install", "--no-input", "--disable-pip-version-check"]
        argv += ["--progress-bar", "off", "--cache-dir", str(pip_cache), *requirements]
        return run_sandboxed(
            argv,
            project=project,
            timeout=max(1.0, deadline - time.monotonic()),
            cpu_seconds=self.cpu_seconds,
            memory_mb=self.memory_mb,
            env=env,
            allow_network=True,
            extra_ro=[pip_site, *local_links],
            extra_rw=[pip_cache],
        )


def _inside(project: Path, path: Path) -> Path:
    """``path``, once it is sure that writing or deleting it stays inside ``project``: a symbolic
    link there (sandboxed code may plant one, pointing anywhere) is removed, never followed."""
    if path.is_symlink():
        path.unlink()
    if not path.parent.resolve().is_relative_to(project.resolve()):
        raise RunFailed(f"refusing to write {path}: it leads outside the project {project}")
    return path


def _ensure_venv(venv_dir: Path) -> None:
    """A real ``.venv`` directory inside the project: anything else there (a symbolic link that
    sandboxed code put in its place, a file) is removed first, so clearing it cannot reach outside."""
    if venv_dir.is_symlink() or (venv_dir.exists() and not venv_dir.is_dir()):
        venv_dir.unlink()
    _inside(venv_dir.parent, venv_dir)
    cfg = venv_dir / "pyvenv.cfg"
    version = "{}.{}".format(*sys.version_info[:2])
    real = venv_dir.resolve()
    inner = ("bin", "lib", f"lib/python{version}/site-packages", "pyvenv.cfg")
    contained = all((venv_dir / name).resolve().is_relative_to(real) for name in inner)
    fresh = contained and (venv_dir / "bin" / "python").exists() and cfg.is_file()
    if fresh and re.search(rf"^version\s*=\s*{re.escape(version)}\.", cfg.read_text(), re.MULTILINE):
        return
    venv.EnvBuilder(with_pip=False, symlinks=True, clear=True).create(venv_dir)


def _pip_error(done: SandboxResult) -> str:
    if done.timed_out:
        return f"pip timed out after {done.duration_s:.0f}s"
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR:")]
    return "\n".join(errors) if errors else tail(done.stderr or done.stdout, 1000)
