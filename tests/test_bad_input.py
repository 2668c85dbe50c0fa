"""Bad input through the real CLI, as a new user or an attacker types it, with the scripted model:
each case ends with its exit status and one clear line, no traceback, no model call, and nothing
outside what the run itself created changed."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from cli_probe import agentco, clear, snapshot

IDEA = "Write roman.py with to_roman and from_roman."
KEY = "sk-" + "abcdefghijklmnopqrstuvwxyz0123456789"


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
    # the same kinds of input for every command
    "empty idea, no command": ([""], 2, ["say what to build"]),
    "empty workspace": (["run", IDEA, "--workspace", ""], 2, ["--workspace", "empty value"]),
    "empty project name": (["run", IDEA, "--project-name", ""], 2, ["--project-name", "empty value"]),
    "empty value after =": (["run", IDEA, "--project-name="], 2, ["--project-name", "empty value"]),
    "empty replay": (["run", "--replay", ""], 2, ["--replay", "empty value"]),
    "negative budget": (["run", IDEA, "--investment", "-1"], 2, ["max_budget", "greater than or equal to 0"]),
    "budget not a number": (["run", IDEA, "--investment", "lots"], 2, ["--investment", "run --help"]),
    "misspelled option": (["run", IDEA, "--modle", "x"], 2, ["--modle", "--model"]),
    "unknown global option": (["--verbose"], 2, ["--verbose"]),
    "resume nothing": (["resume"], 2, ["RUN_ID"]),
    "resume empty id": (["resume", ""], 2, ["empty argument"]),
    "resume empty model": (["resume", "abc", "--model", ""], 2, ["--model", "empty value"]),
    "resume missing project": (["resume", "--recover-path", "gone/proj"], 2, ["no agentco run store", "gone/proj"]),
    "runs misspelled": (["runs", "lst"], 2, ["lst", "runs --help"]),
    "runs list of a missing folder": (["runs", "list", "--workspace", "gone"], 2, ["no folder gone"]),
    "runs show in a missing folder": (["runs", "show", "abc", "--workspace", "gone"], 2, ["no folder gone"]),
    "runs show empty id": (["runs", "show", ""], 2, ["empty argument"]),
    "runs show no id": (["runs", "show"], 2, ["Missing argument"]),
    "models misspelled": (["models", "pul"], 2, ["pul"]),
    "pull unknown model": (["models", "pull", "nosuch"], 2, ["nosuch"]),
    "pull empty name": (["models", "pull", ""], 2, ["empty argument"]),
    "ask empty": (["ask", ""], 2, ["empty argument"]),
    "ask zero tokens": (["ask", "hi", "--max-tokens", "0"], 2, ["--max-tokens"]),
    "ask unknown provider": (["ask", "hi", "--model", "nosuch:x"], 2, ["nosuch"]),
    "ask empty system prompt": (["ask", "hi", "--system", ""], 2, ["--system", "empty value"]),
    "bench misspelled": (["bench", "suit"], 2, ["suit"]),
    "bench missing tasks folder": (["bench", "suite", "gone", "--model", "fake:roman"], 2, ["gone", "does not exist"]),
    "bench folder without tasks": (["bench", "suite", ".", "--model", "fake:roman"], 2, ["no tasks in"]),
    "bench unknown task": (["bench", "suite", ".", "-t", "nosuch", "--model", "fake:roman"], 2, ["no task nosuch"]),
    "bench zero repeat": (["bench", "suite", "--repeat", "0"], 2, ["--repeat"]),
    "bench zero timeout": (["bench", "suite", "--timeout", "0"], 2, ["--timeout"]),
    "bench out is a folder": (["bench", "suite", "--out", "."], 2, ["--out", "is a folder"]),
    "humaneval scripted model": (["bench", "humaneval", "--model", "fake:roman"], 2, ["needs a real model"]),
    "humaneval unknown problem": (
        ["bench", "humaneval", "--task-id", "HumanEval/999", "--model", "local:qwen2.5-coder-0.5b"],
        2,
        ["no problem HumanEval/999"],
    ),
    "humaneval past the end": (
        ["bench", "humaneval", "--offset", "500", "--model", "local:qwen2.5-coder-0.5b"],
        2,
        ["no problems from offset 500"],
    ),
    "humaneval zero limit": (["bench", "humaneval", "--limit", "0"], 2, ["--limit"]),
    "humaneval unknown mode": (["bench", "humaneval", "--mode", "fast"], 2, ["--mode"]),
    "humaneval missing slice": (["bench", "humaneval", "--merge", "gone.json"], 2, ["gone.json", "not a saved"]),
    "humaneval slice not JSON": (["bench", "humaneval", "--merge", "keep.txt"], 2, ["keep.txt", "not a saved"]),
    "local unknown model": (["bench", "local", "--models", "nosuch"], 2, ["nosuch"]),
    "init-config over a file": (["init-config", "--path", "keep.txt"], 1, ["already exists"]),
    "init-config into a folder": (["init-config", "--path", ".", "--force"], 2, ["is a folder"]),
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
