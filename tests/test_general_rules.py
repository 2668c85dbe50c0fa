"""Rules that once fitted one public task, made general: required options, the requirement's own
module names, and no task's test data in what the model reads."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from agentco.company.run import run_company
from agentco.company.schemas import design_for
from agentco.company.workshop import CompanyOptions
from agentco.lang.python import PythonToolchain
from agentco.lang.python.entry_points import required_options, usage_lines
from agentco.lang.python.test_plan import test_plan_for as plan_schema
from agentco.llm.client import LLMClient
from agentco.llm.meter import Meter
from agentco.testing.company import ROMAN, ProjectScript, company_model

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench" / "tasks"


@pytest.mark.parametrize(
    ("usage", "required"),
    [
        ("python -m kvstore --db FILE COMMAND ...", ["--db"]),  # FILE is --db's value, COMMAND the first argument
        ("python -m csvstats FILE COLUMN", []),
        ("python -m tool", []),
        ("python -m todo add TEXT --due DATE", []),  # --due is the add command's own option
        ("python -m todo add TEXT [--due DATE]", []),
        ("python -m tool [--verbose] PATH", []),
        ("python -m ini2json PATH [--section NAME]", []),
        ("python -m tool [--log [LEVEL]] run", []),  # nested brackets
        ("python -m tool <path> --out FILE", []),
        ("python -m tool -v COMMAND", ["-v"]),
        ("python -m tool --quiet --db FILE", ["--quiet", "--db"]),
        ("python -m tool --name=VALUE --db <path> run --force", ["--name", "--db"]),
        ("python -m tool --db FILE [--json] --user NAME get KEY --all", ["--db", "--user"]),
        ("python3 -m tool --db path get", ["--db"]),  # a lowercase word is a command, not a value
    ],
)
def test_only_the_options_before_the_command_and_outside_brackets_are_required(usage, required):
    assert required_options(usage) == required


def _command_plan(*runs: list[str]) -> dict:
    steps = [{"args": args, "exit_code": 0, "stdout": "", "check_stdout": False} for args in runs]
    return {"imports": [], "value_checks": {}, "command_checks": [{"name": "runs", "files": [], "steps": steps}]}


def test_a_subcommands_own_option_is_not_needed_on_every_run():
    requirement = "Add with `python -m todo add TEXT --due DATE`; `python -m todo list` prints them."
    plan = plan_schema(["todo"], ["todo"], must_check=["todo"], usage=usage_lines(requirement))
    plan.model_validate(_command_plan(["-m", "todo", "add", "milk", "--due", "2024-01-01"], ["-m", "todo", "list"]))


def test_a_global_option_may_be_passed_with_its_value_after_an_equals_sign():
    plan = plan_schema(["kv"], ["kv"], must_check=["kv"], usage={"kv": "python -m kv --db FILE COMMAND ..."})
    plan.model_validate(_command_plan(["-m", "kv", "--db={tmp}/db.json", "get", "a"]))
    with pytest.raises(ValidationError, match="every run of -m kv needs --db"):
        plan.model_validate(_command_plan(["-m", "kv", "--dbx", "get", "a"]))


def _design(files: list[str]) -> dict:
    return {**ROMAN.design(), "file_list": files, "data_structures": []}


def _schema_for(requirement: str) -> type:
    """The design schema as the architect builds it: the requirement's own names win."""
    python = PythonToolchain()
    entry_points = python.entry_points_in(requirement)
    named = [e.name for e in entry_points]
    return design_for(entry_points, lambda path: python.path_problem(path, named))


@pytest.mark.parametrize(
    ("requirement", "files"),
    [
        ("Write a module `statistics.py` at the project root with `mean(xs)`.", ["statistics.py"]),
        ("Write a package `calendar/` with `next_meeting()`.", ["calendar/__init__.py", "calendar/util.py"]),
        ("Run it as `python -m queue push ITEM`.", ["queue/__init__.py", "queue/__main__.py"]),
    ],
)
def test_a_standard_module_name_the_requirement_gives_its_own_code_is_allowed(requirement, files):
    _schema_for(requirement).model_validate(_design(files))


def test_a_standard_module_name_the_requirement_does_not_give_is_still_refused():
    with pytest.raises(ValidationError, match="would hide Python's own statistics module"):
        _schema_for("Write a module `stats.py` with `mean(xs)`.").model_validate(_design(["stats.py", "statistics.py"]))
    # naming one standard module allows that one only
    with pytest.raises(ValidationError, match="would hide Python's own queue module"):
        _schema_for("Write a module `statistics.py`.").model_validate(_design(["statistics.py", "queue.py"]))


def test_a_name_that_hides_a_standard_module_gets_a_warning():
    warnings = PythonToolchain().name_warnings(["stats", "statistics", "statistics"])
    assert len(warnings) == 1 and "hides Python's own statistics module" in warnings[0]


async def _run(script: ProjectScript, requirement: str, workspace: Path):
    return await run_company(
        requirement, CompanyOptions(workspace=workspace), LLMClient(company_model(script), Meter())
    )


STATISTICS = ProjectScript(
    project_name="statistics",
    files={"statistics.py": "def mean(xs):\n    return sum(xs) / len(xs)\n"},
    tests={
        "imports": [],
        "value_checks": {"mean": [{"name": "mean_of_three", "code": ["mean([1, 2, 6])"], "expected": 3, "raises": ""}]},
        "command_checks": [],
    },
)


async def test_a_run_whose_requirement_names_a_standard_module_writes_it_and_says_so(tmp_path):
    outcome = await _run(STATISTICS, "Write a module `statistics.py` with `mean(xs)`, the average of xs.", tmp_path)
    assert (outcome.project / "statistics.py").is_file()
    assert outcome.status == "passed", outcome.notes
    assert any("hides Python's own statistics module" in note for note in outcome.notes)


TODO_MAIN = """import json
import sys
from pathlib import Path

STORE = Path("todo.json")


def main(argv):
    items = json.loads(STORE.read_text()) if STORE.exists() else []
    if argv[:1] == ["add"]:
        items.append(argv[1])
        STORE.write_text(json.dumps(items))
    elif argv[:1] == ["list"]:
        print("\\n".join(items))
    else:
        print("usage: python -m todo add TEXT --due DATE | list", file=sys.stderr)
        return 2
    return 0


sys.exit(main(sys.argv[1:]))
"""

TODO = ProjectScript(
    project_name="todo",
    files={"todo/__init__.py": "", "todo/__main__.py": TODO_MAIN},
    tests={
        "imports": [],
        "value_checks": {},
        "command_checks": [
            {
                "name": "add_then_list",
                "files": [],
                "steps": [
                    {"args": ["-m", "todo", "add", "milk"], "exit_code": 0, "stdout": "", "check_stdout": False},
                    {"args": ["-m", "todo", "list"], "exit_code": 0, "stdout": "milk", "check_stdout": True},
                ],
            }
        ],
    },
)


async def test_a_run_whose_usage_line_has_a_subcommand_option_tests_runs_without_it(tmp_path):
    requirement = (
        "Build a to-do list run as `python -m todo add TEXT --due DATE` from the project root; "
        "`python -m todo list` prints each item on its own line."
    )
    outcome = await _run(TODO, requirement, tmp_path)
    plan = json.loads((outcome.project / ".agentco/test_plan.json").read_text())
    assert plan["command_checks"][0]["steps"][1]["args"] == ["-m", "todo", "list"]  # QA's own plan, kept
    assert outcome.status == "passed", outcome.notes


def _examples_the_model_reads() -> list[str]:
    """The quoted parts of the prompts (where their examples are) and every description of the schemas."""
    from agentco.company.schemas import prd_for, task_breakdown_for

    prompts = Path(__file__).resolve().parents[1] / "src/agentco/prompts"
    text = "\n".join(p.read_text() for p in sorted(prompts.rglob("*.j2")) if p.parts[-2] != "bench")
    text = re.sub(r"{%.*?%}|{{.*?}}", " ", text, flags=re.S)  # the templates' own variables are not read
    found = re.findall(r"`[^`\n]+`|\"[^\"\n]+\"", text)
    python = PythonToolchain()
    plan = plan_schema(["shapes"], ["tool"], must_check=["area", "ValueError", "tool"], provided={"area": "shapes"})
    schemas = [
        prd_for(python.entry_points_hint),
        design_for(),
        task_breakdown_for(["shapes.py"], python.packages_hint),
        plan,
    ]

    def descriptions(node: object) -> None:
        if isinstance(node, dict):
            found.extend(v for k, v in node.items() if k == "description" and isinstance(v, str))
            node = list(node.values())
        if isinstance(node, list):
            for item in node:
                descriptions(item)

    for schema in schemas:
        descriptions(schema.model_json_schema())
    return found


@pytest.mark.skipif(not BENCH.is_dir(), reason="the public tasks are not beside this checkout")
def test_no_public_tasks_names_appear_in_what_the_model_reads():
    text = "\n".join(_examples_the_model_reads())
    for task in sorted(p for p in BENCH.iterdir() if (p / "prompt.md").is_file()):
        prompt = (task / "prompt.md").read_text()
        # each task's own names: its modules, packages and programs, and the calls it quotes
        names = {e.name for e in PythonToolchain().entry_points_in(prompt) if not e.name.startswith("_")}
        names |= {task.name, *re.findall(r"`([A-Za-z_]\w{3,})\(", prompt)}
        found = sorted(n for n in names if re.search(rf"\b{re.escape(n)}\b", text))
        assert not found, f"{task.name}: {found}"


def test_modules_listed_for_a_package_are_its_modules_not_top_level_ones():
    from agentco.lang.python.entry_points import entry_points_in

    requirement = (
        "Build a tool `books`. Structure it as a package `books/` with these modules: `models.py` (the data), "
        "`store.py` (the database) and `__main__.py`. Run it as `python -m books`.\n\n"
        "A helper module `tools.py` at the project root holds shared helpers."
    )
    found = {(e.kind, e.name) for e in entry_points_in(requirement)}
    assert found == {("command", "books"), ("package", "books"), ("module", "tools")}
