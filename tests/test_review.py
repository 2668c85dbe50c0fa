"""Human review gates, driven as a person does: the real CLI in a pseudo-terminal (pexpect), the
scripted company (``fake:roman``), the real store, git and sandbox. A reviewer approves, edits in
``$EDITOR`` (an invalid document comes back with its errors), sends feedback the role revises
with, or aborts; a run killed while it waits resumes to the same question; with no terminal and
no answers file, the run is refused before anything is spent or written."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from agentco.sandbox import is_available
from agentco.store import db_path

pexpect = pytest.importorskip("pexpect")
pytestmark = pytest.mark.skipif(not is_available(), reason="bubblewrap cannot run here")

IDEA = "Write roman.py"
PROMPT = "approve / edit / feedback / abort"


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTCO_LLM", "AGENTCO_FAKE"))}
    env = {k: v for k, v in env.items() if not k.endswith("_API_KEY")}
    env.update(COLUMNS="200", PYTHONUNBUFFERED="1", AGENTCO_FAKE_CALL_LOG=str(tmp_path / "calls.log"), **extra)
    return env


def spawn(tmp_path: Path, *args: str, **extra: str):
    child = pexpect.spawn(
        sys.executable, ["-m", "agentco", *args], cwd=str(tmp_path), env=env_for(tmp_path, **extra),
        encoding="utf-8", timeout=120, dimensions=(50, 200),
    )  # fmt: skip
    child.logfile_read = (tmp_path / "terminal.log").open("a", encoding="utf-8")
    return child


def start_run(tmp_path: Path, *review: str, **extra: str):
    return spawn(tmp_path, IDEA, "--model", "fake:roman", "-q", "--workspace", "ws", *review, **extra)


def answer(child, stage: str, reply: str) -> None:
    child.expect_exact(f"{stage}: {PROMPT}")
    child.sendline(reply)


def finish(child) -> int:
    child.expect(pexpect.EOF, timeout=180)
    child.close()
    return child.exitstatus


def project(tmp_path: Path) -> Path:
    return tmp_path / "ws" / "roman"


def git_log(folder: Path) -> list[str]:
    done = subprocess.run(["git", "log", "--format=%an|%s"], cwd=folder, capture_output=True, text=True, check=True)
    return done.stdout.splitlines()[::-1]


def stored(tmp_path: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(db_path(tmp_path / "ws"))) as db:
        return db.execute(sql).fetchall()


def calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def test_approving_every_gate_finishes_the_run_with_the_answers_recorded(tmp_path):
    child = start_run(tmp_path, "--human-review")
    for stage in ("prd", "design", "tasks"):
        child.expect_exact(f"review: the {stage}")
        answer(child, stage, "approve")
    assert finish(child) == 0, (tmp_path / "terminal.log").read_text()
    answers = stored(tmp_path, "SELECT data_json FROM events WHERE kind = 'review.answered' ORDER BY seq")
    assert [json.loads(a)["stage"] for (a,) in answers] == ["prd", "design", "tasks"]
    assert all(json.loads(a)["decision"] == "approve" for (a,) in answers)
    assert not any(line.startswith("Reviewer") for line in git_log(project(tmp_path)))


def test_an_invalid_edit_is_shown_again_with_its_errors_and_the_valid_one_is_kept(tmp_path):
    # the "editor": first it breaks the JSON, then it changes one field of the design properly
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import json, pathlib, sys\n"
        f"count = pathlib.Path({str(tmp_path / 'edits')!r})\n"
        "n = int(count.read_text()) if count.exists() else 0\n"
        "count.write_text(str(n + 1))\n"
        "path = pathlib.Path(sys.argv[1])\n"
        "if n == 0:\n"
        "    path.write_text(path.read_text().replace('\"file_list\"', '\"file_lis\"'))\n"
        "else:\n"
        "    design = json.loads(path.read_text())\n"
        "    design['file_list'] = ['roman.py']\n"
        "    design['implementation_approach'] = 'Edited by the reviewer: one module, no classes.'\n"
        "    path.write_text(json.dumps(design))\n"
    )
    child = start_run(tmp_path, "--review", "design", EDITOR=f"{sys.executable} {editor}")
    answer(child, "design", "edit")
    child.expect_exact("the edited document is not valid")
    child.expect_exact("file_list")  # the error names the field
    assert finish(child) == 0, (tmp_path / "terminal.log").read_text()
    design = json.loads((project(tmp_path) / "docs" / "design.json").read_text())
    assert design["implementation_approach"] == "Edited by the reviewer: one module, no classes."
    assert "Edited by the reviewer" in (project(tmp_path) / "docs" / "design.md").read_text()
    assert "Reviewer (human)|Edit the design (reviewer)" in git_log(project(tmp_path))
    assert (tmp_path / "edits").read_text() == "2"


def test_feedback_makes_the_role_revise_its_document_once(tmp_path):
    child = start_run(tmp_path, "--review", "prd")
    answer(child, "prd", "feedback")
    child.expect_exact("what should change")
    child.sendline("Name every error the converter raises")
    answer(child, "prd", "approve")  # the revision is reviewed again
    assert finish(child) == 0, (tmp_path / "terminal.log").read_text()
    assert calls(tmp_path).count("PRD") == 2
    revised = stored(tmp_path, "SELECT request_json FROM calls WHERE request_json LIKE '%Name every error%'")
    assert len(revised) == 1 and "Your last version" in revised[0][0]
    answers = stored(tmp_path, "SELECT data_json FROM events WHERE kind = 'review.answered' ORDER BY seq")
    assert [json.loads(a)["decision"] for (a,) in answers] == ["reject", "approve"]
    assert json.loads(answers[0][0])["feedback"] == "Name every error the converter raises"


def test_abort_stops_the_run_at_the_gate(tmp_path):
    child = start_run(tmp_path, "--review", "prd")
    answer(child, "prd", "abort")
    child.expect_exact("stopped by the reviewer at the prd")
    assert finish(child) == 1
    assert stored(tmp_path, "SELECT status FROM runs") == [("failed",)]
    assert not (project(tmp_path) / "docs" / "design.json").exists()
    assert "SystemDesign" not in calls(tmp_path)


def test_a_run_killed_while_it_waits_resumes_to_the_same_question(tmp_path):
    child = start_run(tmp_path, "--review", "prd,design")
    answer(child, "prd", "approve")
    child.expect_exact(f"design: {PROMPT}")
    os.kill(child.pid, signal.SIGKILL)
    child.close()
    made = calls(tmp_path)
    assert made == ["PRD", "SystemDesign"]
    (run_id,) = stored(tmp_path, "SELECT id FROM runs")[0]

    resumed = spawn(tmp_path, "resume", run_id, "--workspace", "ws", "-q")
    index = resumed.expect_exact([f"design: {PROMPT}", f"prd: {PROMPT}"])
    assert index == 0, "the resumed run asked an answered question again"
    resumed.sendline("approve")
    assert finish(resumed) == 0, (tmp_path / "terminal.log").read_text()
    assert calls(tmp_path)[:2] == made and calls(tmp_path).count("PRD") == 1  # nothing asked of the model twice
    assert stored(tmp_path, "SELECT status FROM runs") == [("completed",)]


def test_no_terminal_and_no_answers_file_is_refused_before_anything_is_written(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "agentco", IDEA, "--model", "fake:roman", "--workspace", "ws", "--review", "prd"],
        cwd=tmp_path, env=env_for(tmp_path), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "nobody can answer" in lines[0] and "--review-answers" in lines[0]
    assert not (tmp_path / "ws").exists() and calls(tmp_path) == []


def test_an_answers_file_drives_every_gate(tmp_path):
    design = {
        "implementation_approach": "From the answers file.",
        "file_list": ["roman.py"],
        "data_structures": [],
        "call_flow": [{"caller": "User", "callee": "roman", "message": "convert"}],
        "api_spec": "",
    }
    (tmp_path / "design.json").write_text(json.dumps(design))
    (tmp_path / "answers.txt").write_text(
        "# one answer per gate\nfeedback: Say which numbers are out of range\napprove\nedit: design.json\napprove\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "agentco", IDEA, "--model", "fake:roman", "-q", "--workspace", "ws",
         "--human-review", "--review-answers", "answers.txt"],
        cwd=tmp_path, env=env_for(tmp_path), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert calls(tmp_path).count("PRD") == 2
    saved = json.loads((project(tmp_path) / "docs" / "design.json").read_text())
    assert saved["implementation_approach"] == "From the answers file."
    assert "Reviewer (human)|Edit the design (reviewer)" in git_log(project(tmp_path))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("approve\nmaybe later\n", "answers.txt:2: 'maybe later' is not an answer"),
        ("edit: missing.json\n", "no file"),
    ],
)
def test_a_bad_answers_file_is_a_clear_error_before_the_run(tmp_path, content, expected):
    (tmp_path / "answers.txt").write_text(content)
    done = subprocess.run(
        [sys.executable, "-m", "agentco", IDEA, "--model", "fake:roman", "--workspace", "ws", "--review", "prd",
         "--review-answers", "answers.txt"],
        cwd=tmp_path, env=env_for(tmp_path), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and expected in done.stderr, done.stderr
    assert not (tmp_path / "ws").exists()
