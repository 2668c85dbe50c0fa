"""A small project's files written from one reply, so that their names agree; what that reply lacks,
does not parse or would leave the project is written file by file or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentco.company.run import run_company
from agentco.company.workshop import CompanyOptions
from agentco.llm.base import ChatRequest
from agentco.llm.client import LLMClient
from agentco.llm.fake import FunctionModel
from agentco.llm.files import FilesOutput, project_files
from agentco.llm.meter import Meter
from agentco.llm.structured import OutputInvalid
from agentco.testing.company import ROMAN, ProjectScript, company_model

UTIL = "def shout(text):\n    return text.upper()\n"
CLI = "from extras.util import shout\n\n\ndef main():\n    return shout('x')\n"


def script() -> ProjectScript:
    files = {
        "roman.py": ROMAN.files["roman.py"],
        "extras/__init__.py": "",
        "extras/util.py": UTIL,
        "extras/cli.py": CLI,
    }
    return ProjectScript("roman", files, ROMAN.tests)


def reply(files: dict[str, str]) -> str:
    return "Here it is.\n\n" + "".join(f"FILE: {p}\n```python\n{c.rstrip()}\n```\n\n" for p, c in files.items())


def replying(project: ProjectScript, answer: str) -> FunctionModel:
    """The scripted company, except that its one reply for the project's files is ``answer``."""

    def fn(request: ChatRequest) -> str:
        return answer if request.schema_name == "project files" else project.answer(request)

    return FunctionModel(fn, model="roman")


async def run(tmp_path: Path, model: FunctionModel, **options: object):
    opts = CompanyOptions(workspace=tmp_path, **options)  # type: ignore[arg-type]
    return await run_company("Write roman.py, and extras/ with a cli.", opts, LLMClient(model, Meter()))


async def test_one_reply_writes_every_file_and_no_file_is_asked_for_on_its_own(tmp_path: Path):
    model = company_model(script())
    outcome = await run(tmp_path, model)

    names = [r.schema_name for r in model.requests]
    assert names.count("project files") == 1
    assert not [n for n in names if n.startswith("file ")]
    assert (outcome.project / "extras" / "cli.py").read_text() == CLI
    assert (outcome.project / "extras" / "util.py").read_text() == UTIL
    assert outcome.summary["status"] == "passed"


async def test_a_file_the_reply_lacks_or_that_does_not_parse_is_written_on_its_own(tmp_path: Path):
    project = script()
    answer = reply(
        {"roman.py": ROMAN.files["roman.py"], "extras/__init__.py": "", "extras/util.py": "def shout(text:\n"}
    )
    model = replying(project, answer)
    outcome = await run(tmp_path, model)

    names = [r.schema_name for r in model.requests]
    assert names.count("project files") == 1  # a reply with one good file is not asked again
    assert "file roman.py" not in names
    assert names.count("file extras/util.py") == 1 and names.count("file extras/cli.py") == 1
    assert (outcome.project / "extras" / "util.py").read_text() == UTIL
    assert "one reply wrote 2 of 4 files; extras/util.py, extras/cli.py written on its own" in outcome.notes


async def test_replies_with_no_usable_file_fall_back_to_writing_file_by_file(tmp_path: Path):
    model = replying(script(), "I would structure it as three modules.")
    outcome = await run(tmp_path, model)

    names = [r.schema_name for r in model.requests]
    assert names.count("project files") == 2  # a model that repeats its refused reply is not asked again
    assert "no file found" in model.requests[names.index("project files") + 1].messages[-1]["content"]
    assert {"file roman.py", "file extras/util.py", "file extras/cli.py"} <= set(names)
    assert any(n.startswith("the files were not written in one reply") for n in outcome.notes)
    assert outcome.summary["status"] == "passed"


async def test_a_file_the_design_does_not_list_is_never_written_wherever_its_path_points(tmp_path: Path):
    project = script()
    hostile = {
        **project.files,
        "../outside.py": "X = 1\n",
        ".git/hooks/post-commit": "touch /tmp/pwned\n",
        "extras/extra.py": "Y = 2\n",
    }
    outcome = await run(tmp_path, replying(project, reply(hostile)))

    assert not (tmp_path / "outside.py").exists()
    assert not (outcome.project / ".git" / "hooks" / "post-commit").exists()
    assert not (outcome.project / "extras" / "extra.py").exists()
    assert (outcome.project / "extras" / "cli.py").read_text() == CLI


async def test_one_reply_files_0_writes_file_by_file(tmp_path: Path):
    model = company_model(script())
    await run(tmp_path, model, one_reply_files=0)

    names = [r.schema_name for r in model.requests]
    assert "project files" not in names
    assert {"file roman.py", "file extras/util.py", "file extras/cli.py"} <= set(names)


async def test_a_one_file_project_is_written_as_its_file(tmp_path: Path):
    model = company_model(ROMAN)
    await run_company("Write roman.py.", CompanyOptions(workspace=tmp_path), LLMClient(model, Meter()))

    names = [r.schema_name for r in model.requests]
    assert "project files" not in names and "file roman.py" in names


def test_a_files_output_without_files_or_failing_its_check_is_invalid():
    spec = FilesOutput(check=lambda files: None if "a.py" in files else "a.py is missing")
    assert spec.parse("FILE: a.py\n```python\nX = 1\n```\n") == {"a.py": "X = 1\n"}
    with pytest.raises(OutputInvalid, match="no file found"):
        spec.parse("no code here")
    with pytest.raises(OutputInvalid, match="a.py is missing"):
        spec.parse("FILE: b.py\n```python\nX = 1\n```\n")


def test_a_block_cut_off_at_the_token_limit_is_not_a_file():
    assert project_files("FILE: a.py\n```python\nX = 1\n```\nFILE: b.py\n```python\ndef f(") == {"a.py": "X = 1\n"}
