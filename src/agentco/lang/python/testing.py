"""Running a project's tests with pytest in the sandbox, and reading its junit report."""

from __future__ import annotations

import os
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from agentco.lang.base import TestCase, TestReport
from agentco.lang.python.env import VENV_DIR, ProjectEnv, tail
from agentco.lang.python.paths import is_test_file
from agentco.sandbox import SandboxResult

_TRACE_PATH = re.compile(r'File "(?P<quoted>[^"]+)", line \d+|(?P<bare>[\w./-]+\.py):\d+')
_OUTCOMES = (("failure", "failed"), ("error", "error"), ("skipped", "skipped"))


def run_tests(env: ProjectEnv, python: Path, project: Path, test_paths: Sequence[str], timeout: float) -> TestReport:
    junit = project / f".agentco-junit-{uuid.uuid4().hex[:8]}.xml"
    argv = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--tb=short"]
    argv += ["-o", "junit_family=xunit1", f"--junitxml={junit}", *test_paths]
    try:
        done = env.run(project, argv, timeout)
        cases, problem = _parse_junit(junit, project)
    finally:
        junit.unlink(missing_ok=True)
    if problem is None and not cases:
        problem = _no_results(done, timeout)
    failing = [case for case in cases if case.outcome in ("failed", "error")]
    sources = list(dict.fromkeys(f for case in failing for f in case.files if not is_test_file(f)))
    return TestReport(
        cases=cases,
        output_tail=tail(done.stdout + done.stderr),
        returncode=done.returncode,
        duration_s=done.duration_s,
        timed_out=done.timed_out,
        killed_reason=done.killed_reason,
        problem=problem,
        source_files=sources,
    )


def _no_results(done: SandboxResult, timeout: float) -> str:
    if done.timed_out:
        return f"the tests timed out after {timeout:.0f}s"
    if done.killed_reason:
        return f"pytest was stopped: {done.killed_reason}"
    if done.returncode == 5:
        return "no tests were collected"
    return f"pytest exited {done.returncode} without a test report"


def _parse_junit(junit: Path, project: Path) -> tuple[list[TestCase], str | None]:
    if not junit.is_file():
        return [], None
    try:
        root = ET.parse(junit).getroot()
    except ET.ParseError as exc:
        return [], f"unreadable pytest report: {exc}"
    return [_case(element, project) for element in root.iter("testcase")], None


def _case(element: ET.Element, project: Path) -> TestCase:
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
    files = () if outcome in ("passed", "skipped") else _project_files(text, project)
    return TestCase(name, outcome, message, text, files, failed_line(text, files))


def _project_files(text: str, project: Path) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for match in _TRACE_PATH.finditer(text):
        path = Path(match["quoted"] or match["bare"])
        full = Path(os.path.realpath(path if path.is_absolute() else project / path))
        if full.is_relative_to(project) and not full.is_relative_to(project / VENV_DIR) and full.is_file():
            found[str(full.relative_to(project))] = None
    return tuple(found)


def failed_line(text: str, files: Sequence[str]) -> str:
    """ "path:line: source" of the last frame of a ``--tb=short`` traceback (or of a program's own
    traceback quoted in it) that is in a project source file (a small model shown only the failure's message could not find the line that failed); such a
    frame is "path:line: in function" followed by the line's source."""
    sources = {f for f in files if not is_test_file(f)}
    lines = [*text.splitlines(), ""]
    for i in range(len(lines) - 2, -1, -1):
        frame = re.match(r"([\w./-]+\.py):(\d+): in ", lines[i]) or _PROGRAM_FRAME.match(lines[i])
        path = frame and next((f for f in sources if frame[1] == f or frame[1].endswith(f"/{f}")), None)
        if frame and path:
            source = re.sub(r"^E\s+", "", lines[i + 1].strip())
            return f"{path}:{frame[2]}: {source}".rstrip(": ")
    return ""


# a frame of a program's own traceback, as a command check's failure quotes its stderr (csvstats on
# 86d71b7 crashed in its module, and the engineer was told only of `__main__.py`)
_PROGRAM_FRAME = re.compile(r'\s*(?:E\s+)?File "([^"]+\.py)", line (\d+), in ')
