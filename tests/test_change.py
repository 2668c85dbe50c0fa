"""Changing an existing project (``--inc --project-path``) and QA of one file (``--reqa-file``), with
the scripted change team, a real git repository, the real sandbox and the project's own tests."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from agentco.change.edit import EditError, merge
from agentco.config import LLMSettings, Settings
from agentco.runtime import ChangeRequest, RunRequest, start_run
from agentco.sandbox import is_available
from agentco.testing.changes import CALC, CALC_CLI

sandboxed = pytest.mark.skipif(not is_available(), reason="bubblewrap cannot run here")


def git(folder: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, check=True)
    return done.stdout


def calc_project(tmp_path: Path, files: dict[str, str] = CALC) -> Path:
    """A plain project with its own tests, committed, as a user has it."""
    root = tmp_path / "calc"
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    git(root.parent, "init", "-q", str(root))
    git(root, "add", "-A")
    git(root, "-c", "user.name=u", "-c", "user.email=u@x", "commit", "-qm", "base")
    return root


def change(tmp_path: Path, model: str, project: Path, idea: str = "", **fields: object):
    settings = Settings(llm=LLMSettings(model=model), workspace=tmp_path / "ws")
    request = ChangeRequest.build(idea=idea, project_path=str(project), **fields)
    return asyncio.run(start_run(settings, request))


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file() and ".git" not in p.parts}


@sandboxed
def test_a_change_to_a_plain_project_adds_a_function_and_its_test_and_keeps_the_old_tests(tmp_path):
    root = calc_project(tmp_path)
    start = git(root, "rev-parse", "HEAD").strip()
    outcome = change(tmp_path, "fake:calc_mul", root, "Add mul(a, b) to calc.py, returning a * b.")
    assert outcome.status == "passed", outcome.notes
    assert outcome.summary["tests_before"] == 2 and outcome.summary["regressions"] == 0
    changed = set(git(root, "diff", "--name-only", start, "HEAD").split())
    tests = [p for p in changed if p.startswith("tests/test_change_")]
    docs = {p for p in changed if p.startswith("docs/changes/")}
    assert changed == {"calc.py", "docs/design.md", "docs/design.json", *tests, *docs} and len(tests) == 1
    code = (root / "calc.py").read_text()
    assert CALC["calc.py"].rstrip() in code and "def mul(a, b):" in code  # the rest of the file intact
    subjects = git(root, "log", "--format=%s", f"{start}..HEAD").splitlines()[::-1]
    assert subjects[:4] == ["Read the existing project", "Write the change as a PRD delta",
                            "Say which files the change adds or modifies", "List the change's tasks"]  # fmt: skip
    assert subjects[4].startswith("Change calc.py") and subjects[5] == "Write the tests for the change"
    assert git(root, "status", "--porcelain") == ""  # no caches or environment left behind
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0 and "3 passed" in done.stdout, done.stdout


@sandboxed
def test_a_change_that_breaks_an_old_test_is_rolled_back_to_the_starting_commit(tmp_path):
    root = calc_project(tmp_path)
    start, before = git(root, "rev-parse", "HEAD").strip(), snapshot(root)
    outcome = change(tmp_path, "fake:calc_break", root, "Make add(a, b) accept strings of digits too.")
    assert outcome.status == "rolled_back"
    assert outcome.summary["fix_rounds"] == 2 and outcome.summary["regressions"] >= 1
    assert any("rolled back" in note and "tests/test_calc.py::test_add" in note for note in outcome.notes)
    assert git(root, "rev-parse", "HEAD").strip() == start
    assert git(root, "status", "--porcelain") == "" and snapshot(root) == before


@sandboxed
def test_a_change_to_a_project_agentco_made_starts_from_its_documents(tmp_path):
    settings = Settings(llm=LLMSettings(model="fake:roman"), workspace=tmp_path / "ws")
    made = asyncio.run(start_run(settings, RunRequest.build(idea="Write roman.py", project_name="roman")))
    root, start = made.project, git(made.project, "rev-parse", "HEAD").strip()
    outcome = change(
        tmp_path, "fake:roman_lower", root, "Add to_roman_lower(n) to roman.py: the numeral in lower case."
    )
    assert outcome.status == "passed", outcome.notes
    assert outcome.summary["tests_before"] > 0 and outcome.summary["regressions"] == 0
    changed = set(git(root, "diff", "--name-only", start, "HEAD").split())
    assert "roman.py" in changed and "docs/design.md" not in changed  # its own design is the starting document
    assert not changed - {"roman.py"} - {p for p in changed if p.startswith(("docs/changes/", "tests/test_change_"))}


@sandboxed
def test_reqa_file_adds_tests_and_changes_no_source_file(tmp_path):
    root = calc_project(tmp_path)
    start = git(root, "rev-parse", "HEAD").strip()
    outcome = change(tmp_path, "fake:calc_qa", root, reqa_file="calc.py")
    assert outcome.status == "passed" and outcome.summary["tests_passed"] == 2
    assert git(root, "diff", "--name-only", start, "HEAD").split() == ["tests/test_calc_qa.py"]
    assert git(root, "log", "-1", "--format=%an|%s").strip() == "Edward (QA Engineer)|Test calc.py (QA)"


def test_a_dirty_tree_is_refused_without_allow_dirty(tmp_path):
    root = calc_project(tmp_path)
    (root / "calc.py").write_text(CALC["calc.py"] + "# mine\n")
    done = subprocess.run(
        [sys.executable, "-m", "agentco", "Add mul", "--inc", "--project-path", str(root), "--model", "fake:calc_mul",
         "--workspace", str(tmp_path / "ws")], capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "uncommitted changes (calc.py)" in done.stderr and "--allow-dirty" in done.stderr
    assert (root / "calc.py").read_text().endswith("# mine\n")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["Add mul", "--inc"], "give --project-path"),
        (["Add mul", "--project-path", "."], "--project-path names the project for --inc"),
        (["--reqa-file", "nope.py", "--project-path", "."], "no file nope.py"),
        (["--inc", "--project-path", "."], "say what to change"),
        (["Add mul", "--inc", "--project-path", "missing"], "no project folder missing"),
    ],
)
def test_bad_change_options_are_clear_errors(tmp_path, args, expected):
    done = subprocess.run([sys.executable, "-m", "agentco", *args, "--model", "fake:calc_mul"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1 and expected in lines[0], done.stderr
    assert not (tmp_path / "workspace").exists()


# --- how an edit is applied -----------------------------------------------------------------------
ORIGINAL = '''"""Doc."""
import os


class Cache:
    """A cache."""

    def __init__(self, size):
        self.size = size

    def get(self, key):
        return None


def helper():
    return 2


if __name__ == "__main__":
    print(helper())
'''


def test_an_edit_replaces_and_adds_definitions_by_name_and_keeps_the_rest():
    answer = (
        "import json\nimport os\n\nclass Cache:\n    def __init__(self, size, on_evict=None):\n"
        "        self.size = size\n        self.on_evict = on_evict\n\n    def peek(self, key):\n        return None\n\n"
        "def extra():\n    return 3\n\nprint('an example')\n"
    )
    merged = merge(ORIGINAL, answer)
    assert merged.replaced == ["Cache"] and merged.added == ["extra"]
    assert merged.notes == ["dropped a statement that is not a definition (line 15 of the answer)"]
    text = merged.source
    assert text.count("import os") == 1 and "import os\nimport json\n" in text
    assert '"""A cache."""' in text and "def get(self, key):" in text and "on_evict=None" in text
    assert text.index("def peek") > text.index("def get") and "def helper():\n    return 2" in text
    assert text.index("def extra") < text.index('if __name__ == "__main__":')


def test_an_edit_that_does_not_parse_is_refused():
    with pytest.raises(EditError, match="the answer does not parse"):
        merge(ORIGINAL, "def broken(:\n")


@sandboxed
def test_the_change_benchmark_scores_regression_and_change_in_the_sandbox(tmp_path):
    from agentco.bench.changes import find_change_tasks, run_changes

    base = tmp_path / "tasks" / "calc"
    (base / "reference").mkdir(parents=True)
    (base / "reference" / "calc.py").write_text(CALC["calc.py"])
    reads = "import os, sys\nsys.path.insert(0, os.environ['PROJECT'])\n"
    (base / "test_acceptance.py").write_text(reads + "from calc import add, sub\n\n\ndef test_add():\n    assert add(1, 1) == 2\n\n\n"
                                             "def test_sub():\n    assert sub(1, 1) == 0\n")  # fmt: skip
    task = tmp_path / "changes" / "calc-mul"
    task.mkdir(parents=True)
    (task / "base.txt").write_text("../../tasks/calc\n")
    (task / "change.md").write_text("Add mul(a, b) to calc.py, returning a * b.\n")
    (task / "test_change.py").write_text(
        reads + "from calc import mul\n\n\ndef test_mul():\n    assert mul(2, 4) == 8\n"
    )
    report = run_changes(find_change_tasks(tmp_path / "changes"), "fake:calc_mul", tmp_path / "ws")
    (run,) = report["runs"]
    assert run["status"] == "passed" and run["committed"], run
    assert (report["regression_passed"], report["regression_total"]) == (2, 2)
    assert (report["change_passed"], report["change_total"]) == (1, 1) and report["regressions_committed"] == 0


def test_failing_tests_of_the_change_are_committed_marked_xfail():
    from agentco.change.run import expected_failures

    tests = '"""Tests."""\n\nimport pytest\n\n\ndef test_ok():\n    assert True\n\n\n@pytest.mark.parametrize("x", [1])\ndef test_bad(x):\n    assert x == 2\n'
    marked = expected_failures(tests, ["tests/test_c.py::test_bad[1]"])
    assert marked.count("@pytest.mark.xfail(") == 1
    assert marked.index("@pytest.mark.xfail(") < marked.index('@pytest.mark.parametrize("x", [1])')
    assert "def test_ok():\n    assert True" in marked and marked.count("import pytest") == 1


@sandboxed
def test_a_change_that_stops_a_module_importing_is_rolled_back_in_a_project_without_tests(tmp_path):
    root = calc_project(tmp_path)
    git(root, "rm", "-rq", "tests")
    git(root, "-c", "user.name=u", "-c", "user.email=u@x", "commit", "-qm", "no tests")
    start, before = git(root, "rev-parse", "HEAD").strip(), snapshot(root)
    outcome = change(tmp_path, "fake:calc_import_break", root, "Add a LIMIT constant to calc.py.")
    assert outcome.status == "rolled_back", outcome.notes
    assert any("calc.py no longer imports" in note for note in outcome.notes)
    assert git(root, "rev-parse", "HEAD").strip() == start and snapshot(root) == before
    assert git(root, "status", "--porcelain") == ""


def test_over_long_fields_of_a_change_document_are_cut_to_their_bounds_with_a_note():
    from agentco.change.schemas import ChangeDesign, ChangePrd
    from agentco.company.repairs import fit

    notes: list[str] = []
    prd = fit(ChangePrd, {"summary": "s" * 900, "changes": ["c"] * 12}, notes)
    design = fit(ChangeDesign, {"files": [{"path": "a.py", "action": "modify", "why": "w" * 900}]}, notes)
    ChangePrd.model_validate(prd)
    assert len(ChangeDesign.model_validate(design).files[0].why) <= 400 and len(notes) >= 2


def test_a_read_only_project_folder_is_a_clear_error(tmp_path):
    from agentco.errors import ConfigError

    root = calc_project(tmp_path)
    root.chmod(0o555)
    try:
        with pytest.raises(ConfigError, match="is read-only"):
            change(tmp_path, "fake:calc_mul", root, "Add mul(a, b) to calc.py.")
    finally:
        root.chmod(0o755)


def test_the_names_a_request_spells_are_found_and_placeholders_literals_and_modules_are_not():
    from agentco.change.named import command_line_file, missing_names, owners, requested_names

    request = ("Add `peek(key, default=None)` and `resize(capacity: int) -> None`; the constructor takes "
               "`LRUCache(capacity, on_evict=None)`. A bad capacity raises `TypeError`. New commands `delete ID` "
               "and `export [--month YYYY-MM]` write `csv`; `--flat` too. Not names: `ID`, `\"3\"`, `2.5`, `True`, "
               "`int`, `semver.compare`, `>=1.2.3 <2.0.0`.")  # fmt: skip
    assert requested_names(request) == ["peek", "default", "resize", "LRUCache", "on_evict", "TypeError", "delete",
                                        "export", "--month", "--flat"]  # fmt: skip
    code = {"lru.py": "class LRUCache:\n    def peek(self, key, default=None): ...\n",
            "cli.py": 'p.add_argument("--month")\nsub.add_parser("delete")\nraise TypeError("no")\n',
            "export.py": ""}  # fmt: skip
    assert missing_names(request, code) == ["resize", "on_evict", "--flat"]  # `export` is a file's name
    usage = {**code, "lru.py": code["lru.py"] + 'print("usage: lru --flat")\n'}
    assert missing_names(request, usage) == ["resize", "on_evict", "--flat"]  # not parsed: not an option yet
    assert missing_names("Add `--flat`.", {"tool.py": 'print("usage: tool --flat")'}) == []  # nothing parses
    tasks = {"cli.py": "add --flat to the parser", "lru.py": "add resize and peek"}
    assert owners(["resize", "on_evict", "--flat"], tasks, request) == {
        "lru.py": ["resize", "on_evict"],
        "cli.py": ["--flat"],
    }
    assert command_line_file(code) == "cli.py"  # an option no task mentions goes to the file parsing the command line
    assert owners(["on_evict", "--flat"], {"lru.py": "add resize"}, request, "cli.py") == {
        "lru.py": ["on_evict"],
        "cli.py": ["--flat"],
    }


@sandboxed
def test_an_edit_that_leaves_out_a_name_the_request_spells_goes_back_once(tmp_path):
    root = calc_project(tmp_path)
    outcome = change(tmp_path, "fake:calc_two", root, "Add `mul(a, b)`, returning a * b, and `div(a, b)`, "
                     "returning a / b, to calc.py.")  # fmt: skip
    code = (root / "calc.py").read_text()
    assert "def mul(a, b):" in code and "def div(a, b):" in code and "def add(a, b):" in code
    assert any("`div`" in note and "sent back once" in note for note in outcome.notes), outcome.notes
    assert outcome.status == "passed", outcome.notes


@sandboxed
def test_an_option_the_request_names_goes_to_the_file_that_parses_the_command_line(tmp_path):
    root = calc_project(tmp_path, CALC_CLI)
    start = git(root, "rev-parse", "HEAD").strip()
    outcome = change(tmp_path, "fake:calc_option", root, "Add `mul(a, b)` to calc.py and a `--mul` option that "
                     "prints the product instead of the sum.")  # fmt: skip
    assert outcome.status == "passed", outcome.notes
    assert '"--mul"' in (root / "cli.py").read_text() and "def mul(a, b):" in (root / "calc.py").read_text()
    assert any(note.startswith("cli.py: the request names `--mul`") for note in outcome.notes), outcome.notes
    assert {"calc.py", "cli.py"} <= set(git(root, "diff", "--name-only", start, "HEAD").split())


def test_a_cut_off_edit_keeps_the_methods_it_completed_once_each():
    from agentco.change.edit import salvage

    looping = (
        "```python\nclass Graph:\n    def add_node(self, n):\n        self._adj.setdefault(n, set())\n\n"
        "    def neighbors(self, n):\n        return sorted(self._adj[n])\n\n"
        "    def add_node(self, n):\n        self._adj.setdefault(n, set())\n\n    @property\n    def neigh"
    )
    kept = salvage(looping)
    assert kept == (
        "class Graph:\n    def add_node(self, n):\n        self._adj.setdefault(n, set())\n\n"
        "    def neighbors(self, n):\n        return sorted(self._adj[n])\n"
    )
    assert salvage("class Graph:\n    def add_node(self, n):\n        self._adj.setdef") is None


def test_an_edit_that_breaks_existing_calls_is_named_and_a_requested_change_is_not():
    from agentco.change.signatures import broken_calls

    before = (
        "from dataclasses import dataclass\n\n\n@dataclass\nclass Entry:\n    id: int | None\n    amount: float\n\n\n"
        "class Cache:\n    def get(self, key, default=None):\n        return default\n\n\n"
        "def add(a, b):\n    return a + b\n"
    )
    dataclass_init = before.replace("    amount: float\n", "    amount: float\n\n    def __init__(self, amount):\n"
                                    "        self.amount = amount\n")  # fmt: skip
    assert broken_calls(before, dataclass_init) == [
        "`Entry` took (id, amount) and would take (amount): `amount` stands where `id` was"
    ]
    lost_default = before.replace("def get(self, key, default=None)", "def get(self, key, default)")
    assert broken_calls(before, lost_default) == ["`Cache.get` took (key, default) and would take (key, default): "
                                                  "`default` lost its default"]  # fmt: skip
    needs_more = before.replace("def add(a, b)", "def add(a, b, c)")
    assert broken_calls(before, needs_more) == [
        "`add` took (a, b) and would take (a, b, c): the new `c` needs a default"
    ]
    compatible = before.replace("def add(a, b)", "def add(a, b, c=0, *, strict=False)").replace(
        "    amount: float\n", "    amount: float\n    note: str = ''\n"
    )
    assert broken_calls(before, compatible) == []
    assert broken_calls(before, needs_more, exempt={"add"}) == []  # the request asks for it
    cli = 'sub.add_parser("add")\nsub.add_parser("balance")\np.add_argument("--db")\n'
    rebuilt = 'sub.add_parser("add")\nsub.add_parser("delete")\np.add_argument("--db")\n'
    assert broken_calls(cli, rebuilt) == ["the command line would lose `balance`: keep every command and option it has"]
    assert broken_calls(cli, rebuilt, exempt={"balance"})  # named, but nothing says it goes: still refused
    assert broken_calls(cli, rebuilt, exempt={"balance"}, removing=True) == []
    from agentco.change.named import says_it_removes

    assert says_it_removes("Remove the `balance` command; `report` prints the total instead.")
    assert not says_it_removes("Add `delete ID`, which deletes an entry. `balance` keeps working.")


def test_an_edit_never_hides_a_name_the_file_imports():
    original = "from .models import Entry\nimport sqlite3 as db\n\n\ndef main():\n    return Entry(1)\n"
    answer = "class Entry:\n    pass\n\n\nclass db:\n    pass\n\n\ndef delete(i):\n    return i\n"
    merged = merge(original, answer)
    assert "class Entry" not in merged.source and "class db" not in merged.source and "def delete(i):" in merged.source
    assert merged.notes == [
        "dropped the answer's `Entry`: the file imports that name, and a definition here would hide the imported one",
        "dropped the answer's `db`: the file imports that name, and a definition here would hide the imported one",
    ]
