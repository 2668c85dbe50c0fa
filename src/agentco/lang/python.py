"""The Python toolchain: ast syntax checks, a per-project venv, pytest and imports in the sandbox.

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

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
import venv
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath

from agentco.errors import RunFailed
from agentco.lang.base import Dropped, EnvResult, TestCase, TestReport
from agentco.sandbox import SandboxResult, run_sandboxed

PYTEST_REQUIREMENT = "pytest>=8"
PIP_REQUIREMENT = "pip>=23"
VENV_DIR = ".venv"
_PTH_NAME = "_agentco_pytest_site.pth"
_STAMP_NAME = "agentco-requirements.txt"
_TAIL = 4000
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
_TRACE_PATH = re.compile(r'File "(?P<quoted>[^"]+)", line \d+|(?P<bare>[\w./-]+\.py):\d+')
_MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_IMPORT_SCRIPT = """
import importlib, json, sys, traceback
with open(sys.argv[1], "a") as out:
    for name in sys.argv[2:]:
        error = None
        try:
            importlib.import_module(name)
        except BaseException as exc:
            report = traceback.TracebackException.from_exception(exc)
            report.stack = traceback.StackSummary.from_list(
                [f for f in report.stack[2:] if not f.filename.startswith("<frozen ")]
            )  # [2:]: this script's frame and import_module's
            error = "".join(report.format())
        out.write(json.dumps({"module": name, "error": error}) + "\\n")
        out.flush()
"""


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "agentco"


def _tail(text: str, limit: int = _TAIL) -> str:
    return text if len(text) <= limit else "..." + text[-limit:]


def _is_test_file(relative: str) -> bool:
    path = Path(relative)
    return (
        path.name.startswith("test_")
        or path.name.endswith("_test.py")
        or path.name == "conftest.py"
        or any(part in ("tests", "test") for part in path.parts[:-1])
    )


class PythonToolchain:
    name = "python"
    file_extensions = (".py",)
    requirements_file = "requirements.txt"
    install_command = "python -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt pytest"
    test_command = "python -m pytest -q"

    def __init__(
        self,
        *,
        cache_dir: Path | None = None,
        test_timeout: float = 300,
        install_timeout: float = 600,
        cpu_seconds: int = 300,
        memory_mb: int = 4096,
    ):
        self.cache_dir = cache_dir or default_cache_dir()
        self.test_timeout, self.install_timeout = test_timeout, install_timeout
        self.cpu_seconds, self.memory_mb = cpu_seconds, memory_mb

    def run_command(self, entry: str) -> str:
        return f"python {entry}" if entry.endswith(".py") else f"python -m {entry}"

    def test_file_for(self, project_name: str) -> str:
        slug = re.sub(r"\W+", "_", project_name).strip("_").lower() or "project"
        return f"tests/test_{slug}.py"

    @staticmethod
    def module_for(path: str) -> str | None:
        """The import name of a project file; the project root and ``src/`` are both on sys.path."""
        file = PurePosixPath(path)
        if file.suffix != ".py":
            return None
        parts = list(file.with_suffix("").parts)
        if parts[:1] == ["src"] and len(parts) > 1:
            parts = parts[1:]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        return ".".join(parts) if parts and all(p.isidentifier() for p in parts) else None

    def programs(self, files: Mapping[str, str]) -> list[str]:
        """What runs as ``python -m NAME``: packages with a ``__main__.py``, modules with a main guard."""
        names = set()
        for path, text in files.items():
            module = self.module_for(path)
            if module and module.endswith(".__main__"):
                names.add(module.removesuffix(".__main__"))
            elif module and re.search(r"""__name__\s*==\s*['"]__main__['"]""", text):
                names.add(module)
        return sorted(names)

    def public_names(self, files: Mapping[str, str]) -> dict[str, str]:
        """The functions and classes the project's modules define at their top level: name → module."""
        names: dict[str, str] = {}
        for name, module, _ in _definitions(files):
            if not module.endswith("__main__"):
                names.setdefault(name, module)
        return {name: module for name, module in names.items() if not name.startswith("_")}

    def import_hint(self, files: Sequence[str]) -> str:
        names = [(f, self.module_for(f)) for f in files if not _is_test_file(f)]
        return ", ".join(f"`import {module}`" for _, module in names if module and not module.endswith("__main__"))

    def outline(self, source: str) -> str:
        from agentco.lang.python_outline import outline

        return outline(source)

    def fallback(self, path: str) -> str | None:
        """A package's ``__init__.py`` may be empty: the package still imports and runs."""
        return "" if PurePosixPath(path).name == "__init__.py" else None

    def lint(self, project: Path, files: Sequence[str]) -> dict[str, list[str]]:
        from agentco.lang.python_lint import lint

        return lint(project, [f for f in files if not _is_test_file(f)])

    # -- checks that need no environment ---------------------------------------------------------

    def check_syntax(self, source: str | Path, filename: str = "<generated>") -> str | None:
        if isinstance(source, Path):
            filename, source = (str(source) if filename == "<generated>" else filename), source.read_bytes()
        try:
            ast.parse(source, filename=filename)
        except SyntaxError as exc:
            where = f"{exc.filename}:{exc.lineno}" + (f":{exc.offset}" if exc.offset else "")
            line = (exc.text or "").strip()
            return f"{where}: {type(exc).__name__}: {exc.msg}" + (f"\n    {line}" if line else "")
        except (ValueError, RecursionError, MemoryError) as exc:
            return f"{filename}: {type(exc).__name__}: {exc}"
        return None

    def filter_requirements(self, lines: Iterable[str]) -> tuple[list[str], list[Dropped]]:
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

    # -- the project's environment ---------------------------------------------------------------

    def venv_python(self, project: Path) -> Path:
        return Path(os.path.realpath(project)) / VENV_DIR / "bin" / "python"

    def prepare_env(self, project: Path, requirements: Sequence[str] | None = None) -> EnvResult:
        start = time.monotonic()
        project = Path(os.path.realpath(project))
        if requirements is None:
            req_file = project / self.requirements_file
            requirements = req_file.read_text(errors="replace").splitlines() if req_file.is_file() else []
        kept, dropped = self.filter_requirements(requirements)
        pytest_site, pip_site = self._shared_sites()
        venv_dir = project / VENV_DIR
        self._ensure_venv(venv_dir)
        site_packages = next((venv_dir / "lib").glob("python*/site-packages"))
        stamp = venv_dir / _STAMP_NAME
        installed, failed, log_tail = list(kept), {}, ""
        if kept and (not stamp.is_file() or stamp.read_text() != "\n".join(kept)):
            (site_packages / _PTH_NAME).unlink(missing_ok=True)  # pip must not count pytest's deps
            installed, failed, log_tail = self._install(project, kept, pip_site, start + self.install_timeout)
            if not failed:
                stamp.write_text("\n".join(kept))
        (site_packages / _PTH_NAME).write_text(f"{pytest_site}\n")
        return EnvResult(not failed, installed, failed, dropped, time.monotonic() - start, log_tail)

    def _ensure_venv(self, venv_dir: Path) -> None:
        cfg = venv_dir / "pyvenv.cfg"
        version = "{}.{}".format(*sys.version_info[:2])
        fresh = (venv_dir / "bin" / "python").exists() and cfg.is_file()
        if fresh and re.search(rf"^version\s*=\s*{re.escape(version)}\.", cfg.read_text(), re.MULTILINE):
            return
        venv.EnvBuilder(with_pip=False, symlinks=True, clear=True).create(venv_dir)

    def _shared_sites(self) -> tuple[Path, Path]:
        """pytest and pip, installed once per machine into agentco's cache; built side by side."""
        root = self.cache_dir / "py{}.{}".format(*sys.version_info[:2])
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
                raise RunFailed(f"could not install {sites[name]} into {root / name}: {_tail(output, 2000)}")
            try:
                tmp.rename(root / name)
            except OSError:  # another process finished first
                shutil.rmtree(tmp, ignore_errors=True)
        return root / "pytest-site", root / "pip-site"

    def _install(
        self, project: Path, requirements: list[str], pip_site: Path, deadline: float
    ) -> tuple[list[str], dict[str, str], str]:
        """All at once first; on failure one by one, to name the culprits and keep the rest."""
        done = self._pip(project, requirements, pip_site, deadline)
        if done.ok:
            return list(requirements), {}, _tail(done.stdout + done.stderr)
        if len(requirements) == 1:
            return [], {requirements[0]: self._pip_error(done)}, _tail(done.stdout + done.stderr)
        installed, failed = [], {}
        for requirement in requirements:
            if time.monotonic() >= deadline:
                failed[requirement] = "not attempted: the install time budget was spent"
                continue
            done = self._pip(project, [requirement], pip_site, deadline)
            if done.ok:
                installed.append(requirement)
            else:
                failed[requirement] = self._pip_error(done)
        return installed, failed, _tail(done.stdout + done.stderr)

    def _pip(self, project: Path, requirements: list[str], pip_site: Path, deadline: float) -> SandboxResult:
        pip_cache = self.cache_dir / "pip"
        pip_cache.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k.startswith("PIP_") or k.lower() in _PASSTHROUGH}
        env["PYTHONPATH"] = str(pip_site)
        local_links = [Path(p) for p in env.get("PIP_FIND_LINKS", "").split() if p.startswith("/") and Path(p).is_dir()]
        argv = [str(self.venv_python(project)), "-m", "pip", "install", "--no-input", "--disable-pip-version-check"]
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

    @staticmethod
    def _pip_error(done: SandboxResult) -> str:
        if done.timed_out:
            return f"pip timed out after {done.duration_s:.0f}s"
        errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR:")]
        return "\n".join(errors) if errors else _tail(done.stderr or done.stdout, 1000)

    # -- running the project's code --------------------------------------------------------------

    def _run(self, project: Path, argv: list[str], timeout: float) -> SandboxResult:
        paths = [str(project)] + ([str(project / "src")] if (project / "src").is_dir() else [])
        env = {
            "PATH": f"{project / VENV_DIR / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "VIRTUAL_ENV": str(project / VENV_DIR),
            "PYTHONPATH": os.pathsep.join(paths),
            "PYTHONDONTWRITEBYTECODE": "1",
            "MPLBACKEND": "Agg",
        }
        pytest_site = self._shared_sites()[0]
        return run_sandboxed(
            argv,
            project=project,
            timeout=timeout,
            cpu_seconds=self.cpu_seconds,
            memory_mb=self.memory_mb,
            env=env,
            extra_ro=[pytest_site],
        )

    def _ready(self, project: Path) -> Path:
        """The project's interpreter, preparing the environment first when there is none."""
        python = self.venv_python(project)
        if not python.exists():
            self.prepare_env(project)
        return python

    def run_tests(self, project: Path, test_paths: Sequence[str] = ()) -> TestReport:
        project = Path(os.path.realpath(project))
        python = self._ready(project)
        junit = project / f".agentco-junit-{uuid.uuid4().hex[:8]}.xml"
        argv = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--tb=short"]
        argv += ["-o", "junit_family=xunit1", f"--junitxml={junit}", *test_paths]
        try:
            done = self._run(project, argv, self.test_timeout)
            cases, problem = self._parse_junit(junit, project)
        finally:
            junit.unlink(missing_ok=True)
        if problem is None and not cases:
            problem = self._no_results(done)
        failing = [case for case in cases if case.outcome in ("failed", "error")]
        sources = list(dict.fromkeys(f for case in failing for f in case.files if not _is_test_file(f)))
        return TestReport(
            cases=cases,
            output_tail=_tail(done.stdout + done.stderr),
            returncode=done.returncode,
            duration_s=done.duration_s,
            timed_out=done.timed_out,
            killed_reason=done.killed_reason,
            problem=problem,
            source_files=sources,
        )

    def _no_results(self, done: SandboxResult) -> str:
        if done.timed_out:
            return f"the tests timed out after {self.test_timeout:.0f}s"
        if done.killed_reason:
            return f"pytest was stopped: {done.killed_reason}"
        if done.returncode == 5:
            return "no tests were collected"
        return f"pytest exited {done.returncode} without a test report"

    def _parse_junit(self, junit: Path, project: Path) -> tuple[list[TestCase], str | None]:
        if not junit.is_file():
            return [], None
        try:
            root = ET.parse(junit).getroot()
        except ET.ParseError as exc:
            return [], f"unreadable pytest report: {exc}"
        return [self._case(element, project) for element in root.iter("testcase")], None

    def _case(self, element: ET.Element, project: Path) -> TestCase:
        file, classname, name = element.get("file"), element.get("classname", ""), element.get("name", "")
        if file:
            module = file.removesuffix(".py").replace("/", ".")
            inner = classname[len(module) + 1 :] if classname.startswith(module + ".") else ""
            name = "::".join(part for part in (file, inner, name) if part)
        elif classname:
            name = f"{classname}::{name}"
        problems = {child.tag: child for child in element if child.tag in ("failure", "error", "skipped")}
        outcome = next((o for tag, o in _OUTCOMES if tag in problems), "passed")
        message = "\n".join(child.get("message", "") for child in problems.values()).strip()
        text = "\n".join((child.text or "") for child in problems.values()).strip()
        if message == "collection failure":  # says nothing; the error itself is the traceback's last E line
            message = next((line[1:].strip() for line in reversed(text.splitlines()) if line.startswith("E ")), message)
        files = () if outcome in ("passed", "skipped") else self._project_files(text, project)
        return TestCase(name, outcome, message, text, files, _failed_line(text, files))

    @staticmethod
    def _project_files(text: str, project: Path) -> tuple[str, ...]:
        found: dict[str, None] = {}
        for match in _TRACE_PATH.finditer(text):
            path = Path(match["quoted"] or match["bare"])
            full = Path(os.path.realpath(path if path.is_absolute() else project / path))
            if full.is_relative_to(project) and not full.is_relative_to(project / VENV_DIR) and full.is_file():
                found[str(full.relative_to(project))] = None
        return tuple(found)

    def import_check(self, project: Path, modules: Sequence[str]) -> dict[str, list[str]]:
        project = Path(os.path.realpath(project))
        wanted: dict[str, str] = {}  # as given -> module name
        errors: dict[str, list[str]] = {}
        for given in modules:
            if (project / given).is_file():  # a file: data, docs and scripts with odd names are skipped
                module = self.module_for(given)
                # a package's __main__ may run its program on import (and exit): the command tests cover it
                if module and not module.endswith("__main__"):
                    wanted[given] = module
            elif _MODULE_NAME.match(given):
                wanted[given] = given
            else:
                errors[given] = ["not a valid module name"]
        if not wanted:
            return errors
        results = project / f".agentco-imports-{uuid.uuid4().hex[:8]}.jsonl"
        try:
            argv = [str(self._ready(project)), "-c", _IMPORT_SCRIPT, str(results), *dict.fromkeys(wanted.values())]
            done = self._run(project, argv, min(self.test_timeout, 60))
            lines = results.read_text().splitlines() if results.is_file() else []
        finally:
            results.unlink(missing_ok=True)
        outcome = {record["module"]: record["error"] for record in map(json.loads, lines)}
        for given, module in wanted.items():
            if module not in outcome:
                errors[given] = [f"the import did not finish ({done.describe()}): {_tail(done.stderr, 1000)}"]
            elif outcome[module]:
                hint = _where_to_import(outcome[module], project, [m for m in modules if (project / m).is_file()])
                errors[given] = [_tail(outcome[module], 3000), *([hint] if hint else [])]
        return errors


def _failed_line(text: str, files: Sequence[str]) -> str:
    """ "path:line: source" of the last frame of a ``--tb=short`` traceback that is in a project source
    file; such a frame is "path:line: in function" followed by the line's source."""
    sources = {f for f in files if not _is_test_file(f)}
    lines = [*text.splitlines(), ""]
    for i in range(len(lines) - 2, -1, -1):
        frame = re.match(r"([\w./-]+\.py):(\d+): in ", lines[i])
        if frame and frame[1] in sources:
            return f"{frame[1]}:{frame[2]}: {lines[i + 1].strip()}".rstrip(": ")
    return ""


_CANNOT_IMPORT = re.compile(r"cannot import name '(\w+)' from (?:partially initialized module )?'([\w.]+)'")


def _where_to_import(error: str, project: Path, paths: Sequence[str]) -> str | None:
    """For "cannot import name X from M": where the project does define X (a small model, shown the
    bare error, returned ``from . import main`` unchanged twice; ``main`` was in ``__main__.py``)."""
    found = _CANNOT_IMPORT.search(error)
    if found is None:
        return None
    name, module = found.groups()
    texts = {path: (project / path).read_text(encoding="utf-8", errors="replace") for path in paths}
    for defined, where, path in _definitions(texts):
        if defined == name and where != module:
            return f"`{name}` is defined in `{where}` ({path}), not in `{module}`: import it from there, or not at all"
    return f"no file of the project defines `{name}` at its top level: define it in `{module}`, or do not import it"


def _definitions(files: Mapping[str, str]) -> Iterator[tuple[str, str, str]]:
    """(name, module, path) of each function and class the project's modules (path → text) define
    at their top level; files that do not parse are skipped (the syntax check reports them)."""
    for path, text in files.items():
        module = PythonToolchain.module_for(path)
        try:
            tree = ast.parse(text) if module else None
        except (SyntaxError, ValueError):
            continue
        for node in tree.body if tree else []:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                yield node.name, module, path


_OUTCOMES = (("failure", "failed"), ("error", "error"), ("skipped", "skipped"))
