"""Bad input through the real CLI, as a new user or an attacker types it, with the scripted model:
each case ends with its exit status and one clear line, no traceback, no model call, and nothing
outside what the run itself created changed."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

IDEA = "Write roman.py with to_roman and from_roman."
KEY = "sk-" + "abcdefghijklmnopqrstuvwxyz0123456789"


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
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file() and ".agentco" not in p.parts
    }


def clear(done: subprocess.CompletedProcess) -> str:
    """The error output, after checking it is short and no traceback."""
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 3, done.stderr
    return done.stderr


CASES = {
    # argv, expected exit status, words the message must hold
    "misspelled command": (["lsit"], 2, ["not an agentco command", "runs list"]),
    "empty idea": (["run", ""], 2, ["say what to build"]),
    "blank idea": (["run", "   "], 2, ["say what to build"]),
    "empty model": (["run", IDEA, "--model", ""], 2, ["empty value"]),
    "project name .": (["run", IDEA, "--project-name", "."], 2, ["cannot name a project folder"]),
    "project name ..": (["run", IDEA, "--project-name", ".."], 2, ["cannot name a project folder"]),
    "project name ../x": (["run", IDEA, "--project-name", "../x"], 2, ["cannot name a project folder"]),
    "absolute project name": (["run", IDEA, "--project-name", "/tmp/elsewhere"], 2, ["cannot name a project folder"]),
    "markup project name": (["run", IDEA, "--project-name", "p[/]q"], 2, ["cannot name a project folder", "p[/]q"]),
    "300-character project name": (["run", IDEA, "--project-name", "x" * 300], 2, ["cannot name a project folder"]),
    "zero rounds": (["run", IDEA, "--n-round", "0"], 2, ["n_round", "1"]),
    "negative rounds": (["run", IDEA, "--n-round=-5"], 2, ["n_round", "1"]),
    "unknown run to resume": (["resume", "nope"], 2, ["no run nope"]),
    "unknown run to replay": (["run", "--replay", "nope"], 2, ["no run nope", "replay"]),
    "unknown run to show": (["runs", "show", "nope"], 1, ["no run nope"]),
    "unknown provider": (["run", IDEA, "--model", "nosuch:model"], 2, ["nosuch"]),
    "unknown scripted project": (["run", IDEA, "--model", "fake:nosuch"], 2, ["no scripted project"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_ends_with_one_clear_line_and_changes_nothing(case, tmp_path):
    argv, status, words = CASES[case]
    (tmp_path / "keep.txt").write_text("the user's file\n")
    before = snapshot(tmp_path)
    done = agentco(*argv, "--workspace", str(tmp_path / "ws"), cwd=tmp_path) if argv[0] in {"run", "resume"} else (
        agentco(*argv, cwd=tmp_path))  # fmt: skip
    message = clear(done)
    assert done.returncode == status, message
    assert all(word in message for word in words), message
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "elsewhere").exists() and not Path("/tmp/elsewhere").exists()


def test_a_workspace_that_is_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "ws").write_text("not a folder\n")
    done = agentco("run", IDEA, "--model", "fake:roman", "--workspace", str(tmp_path / "ws"), cwd=tmp_path)
    assert done.returncode == 2 and "cannot hold agentco's run store" in clear(done)
    assert (tmp_path / "ws").read_text() == "not a folder\n"


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"llm:\n  model: \xff\xfe\n", "not UTF-8"), (b"llm: [unclosed\n", "not valid YAML"), (b"- a\n- b\n", "mapping")],
)
def test_a_malformed_config_file_is_a_clear_error(tmp_path, content, words):
    (tmp_path / "agentco.yaml").write_bytes(content)
    done = agentco("run", IDEA, "--model", "fake:roman", "--workspace", str(tmp_path / "ws"), cwd=tmp_path)
    assert done.returncode == 2 and words in clear(done) and "agentco.yaml" in done.stderr
    assert not (tmp_path / "ws").exists()


def test_a_key_pasted_into_the_idea_is_never_stored_or_committed(tmp_path):
    done = agentco("run", f"{IDEA} My key is {KEY}.", "--model", "fake:roman", "-q", "--workspace", "ws", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "redacted" in done.stderr and KEY not in done.stderr + done.stdout
    stored = [p for p in (tmp_path / "ws").rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]
    assert stored == []
    log = subprocess.run(["git", "log", "-p"], cwd=tmp_path / "ws" / "roman", capture_output=True, text=True)
    assert KEY not in log.stdout


def test_a_replay_never_replaces_an_existing_folder(tmp_path):
    first = agentco("run", IDEA, "--model", "fake:roman", "-q", "--workspace", "ws", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    with sqlite3.connect(tmp_path / "ws" / ".agentco" / "runs.db") as db:
        (run_id,) = db.execute("SELECT id FROM runs").fetchone()
    before = snapshot(tmp_path / "ws" / "roman")
    for name in ("roman", "."):
        done = agentco("run", "--replay", run_id, "--project-name", name, "--workspace", "ws", cwd=tmp_path)
        assert done.returncode == 2 and ("already exists" in clear(done) or "cannot name" in done.stderr)
    assert snapshot(tmp_path / "ws" / "roman") == before
    assert (tmp_path / "ws" / ".agentco" / "runs.db").is_file()


def test_a_markup_like_note_or_error_is_printed_as_text(tmp_path):
    """An idea full of rich markup reaches the terminal as typed, and `runs list` still works."""
    idea = "Write roman.py [bold]with[/] to_roman [/] and from_roman [link=x]."
    done = agentco("run", idea, "--model", "fake:roman", "-q", "--workspace", "ws", cwd=tmp_path)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    listed = agentco("runs", "list", "--workspace", "ws", cwd=tmp_path)
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr


def test_a_rebuilt_project_folder_keeps_what_agentco_did_not_commit(tmp_path):
    """A resumed run rebuilds its own folder: a folder holding only its commits is replaced, one
    holding a file the user added is moved aside whole."""
    from agentco.company.project import ProjectFolder

    root = tmp_path / "proj"
    folder = ProjectFolder.create(root)
    folder.write("a.py", "x = 1\n")
    folder.commit("add a", "engineer")
    again = ProjectFolder.create(root, replace=True)
    assert again.set_aside is None and not (root / "a.py").exists()  # only its own commits: replaced

    again.write("a.py", "x = 1\n")
    again.commit("add a", "engineer")
    (root / "mine.txt").write_text("the user's notes\n")
    third = ProjectFolder.create(root, replace=True)
    assert third.set_aside is not None and (third.set_aside / "mine.txt").read_text() == "the user's notes\n"
    assert (third.set_aside / "a.py").is_file() and list(root.iterdir()) != []
