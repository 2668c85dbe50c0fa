"""Generated code is hostile: each test is an attack. The scripted model's code plants a payload from
inside the sandbox (at import, which the QA engineer's import check runs), the run goes on through
its host steps (git commits, pylint, the project's environment), and the test asserts that nothing
ran on the host: no marker file outside the project, no secret written anywhere, nothing outside
the project changed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentco.company.project import ProjectFolder
from agentco.company.run import run_company
from agentco.company.workshop import CompanyOptions
from agentco.lang.python import PythonToolchain
from agentco.lang.python.env import ProjectEnv
from agentco.llm.client import LLMClient
from agentco.llm.meter import Meter
from agentco.sandbox import is_available
from agentco.testing.company import ROMAN, ProjectScript, company_model

pytestmark = pytest.mark.skipif(not is_available(), reason="bubblewrap cannot run here")
SECRET = "sk-test-not-a-real-key-0123456789abcdef"

# Runs at the top of the generated module, inside the sandbox; every step may fail there.
PRELUDE = """
import os as _os
import pathlib as _pathlib

_ROOT = _pathlib.Path(__file__).resolve().parent
_SCRIPT = "#!/bin/sh\\necho \\"escaped $AGENTCO_TEST_SECRET\\" > {marker}\\ncat\\n"


def _plant(path, text, mode=0o755, append=False):
    try:
        target = _ROOT / path
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "a" if append else "w") as out:
            out.write(text)
        _os.chmod(target, mode)
    except OSError:
        pass


def _link(path, to):
    try:
        target = _ROOT / path
        if target.is_dir() and not target.is_symlink():
            import shutil
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        target.symlink_to(to)
    except OSError:
        pass


_plant("evil.sh", _SCRIPT)
"""

_EVIL = "{root}/evil.sh"
VECTORS = {
    "post-commit hook": '_plant(".git/hooks/post-commit", _SCRIPT)\n_plant(".git/hooks/pre-commit", _SCRIPT)\n',
    "core.hooksPath": '_plant("hooks/post-commit", _SCRIPT)\n'
    '_plant(".git/config", "[core]\\n\\thooksPath = " + str(_ROOT / "hooks") + "\\n", append=True)\n',
    "core.fsmonitor": '_plant(".git/config", "[core]\\n\\tfsmonitor = " + str(_ROOT / "evil.sh") + "\\n", append=True)\n',
    "clean filter": '_plant(".git/info/attributes", "* filter=evil\\n")\n'
    '_plant(".gitattributes", "* filter=evil\\n")\n'
    '_plant(".git/config", "[filter \\"evil\\"]\\n\\tclean = " + str(_ROOT / "evil.sh") + "\\n", append=True)\n',
    "signing program": '_plant(".git/config", "[commit]\\n\\tgpgSign = true\\n[gpg]\\n\\tprogram = "'
    ' + str(_ROOT / "evil.sh") + "\\n", append=True)\n',
    "pager and external diff": '_plant(".git/config", "[core]\\n\\tpager = " + str(_ROOT / "evil.sh") + '
    '"\\n[diff]\\n\\texternal = " + str(_ROOT / "evil.sh") + "\\n", append=True)\n',
    "nested repository": '_plant("sub/.git/HEAD", "ref: refs/heads/main\\n", 0o644)\n'
    '_plant("sub/.git/config", "[core]\\n\\tfsmonitor = " + str(_ROOT / "evil.sh") + "\\n", 0o644)\n'
    '_plant("sub/.git/hooks/post-commit", _SCRIPT)\n_plant("sub/x.txt", "x")\n',
    "pylint shadowed": '_plant("pylint.py", "import pathlib; pathlib.Path({marker!r}).write_text(\\"escaped\\")\\n")\n'
    '_plant("typing.py", "import pathlib; pathlib.Path({marker!r}).write_text(\\"escaped\\")\\n")\n',
    "pylint init-hook": '_plant(".pylintrc", "[MAIN]\\ninit-hook=open({marker!r}, \\"w\\").write(\\"escaped\\")\\n")\n'
    '_plant("pyproject.toml", "[tool.pylint.main]\\ninit-hook = \\"open(\'{marker}\', \'w\')\\"\\n")\n',
    "venv replaced by a link": '_link(".venv", {victim!r})\n',
    "pth file replaced by a link": "import sys as _sys\n"
    "_link('.venv/lib/python%d.%d/site-packages/_agentco_pytest_site.pth' % _sys.version_info[:2], {victim_file!r})\n",
}


@pytest.fixture
def secret_env(monkeypatch):
    monkeypatch.setenv("AGENTCO_TEST_SECRET", SECRET)


def host_steps(project: Path, tmp_path: Path) -> None:
    """What the host does with a project after its code has run: commit, lint, rebuild its environment."""
    folder = ProjectFolder(project)
    (project / "NOTES.md").write_text("a change the host commits\n")
    folder.commit("a host commit after the code ran", "agentco")
    PythonToolchain().lint(project, ["roman.py"])
    ProjectEnv(cache_dir=PythonToolchain().cache_dir).prepare(project, [])


@pytest.mark.parametrize("vector", list(VECTORS))
async def test_generated_code_cannot_make_the_host_run_anything(vector, tmp_path, secret_env):
    outside = tmp_path / "outside"
    victim = outside / "victim"
    victim.mkdir(parents=True)
    (victim / "keep.txt").write_text("the user's file\n")
    marker = outside / "escaped"
    values = {"marker": str(marker), "victim": str(victim), "victim_file": str(victim / "keep.txt")}
    code = PRELUDE.format(**values) + VECTORS[vector].format(**values) + ROMAN.files["roman.py"]
    script = ProjectScript("roman", {"roman.py": code}, ROMAN.tests)
    options = CompanyOptions(workspace=tmp_path / "ws", fix_rounds=1)
    outcome = await run_company("Write roman.py.", options, LLMClient(company_model(script), Meter()))

    assert outcome.summary["status"] in {"passed", "failed"}  # the run went on to its end
    host_steps(outcome.project, tmp_path)
    assert not marker.exists(), marker.read_text()
    assert (victim / "keep.txt").read_text() == "the user's file\n"
    assert sorted(p.name for p in outside.rglob("*")) == ["keep.txt", "victim"]
    leaked = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink() and _holds(p, SECRET)]
    assert leaked == []


def _holds(path: Path, text: str) -> bool:
    try:
        return text in path.read_text(errors="replace")
    except OSError:
        return False


async def test_a_project_folder_is_never_deleted_by_a_replay(tmp_path):
    """Replaying a run twice keeps the first replay: each gets a folder of its own."""
    from agentco.config import Settings
    from agentco.runtime import RunRequest, start_run

    settings = Settings(workspace=tmp_path, llm={"model": "fake:roman"})
    first = await start_run(settings, RunRequest.build(idea="Write roman.py."))
    replays = [await start_run(settings, RunRequest.build(replay_of=first.run_id)) for _ in range(2)]
    names = [r.project.name for r in replays]
    assert names == ["roman_replay", "roman_replay2"]
    assert all((r.project / "roman.py").is_file() for r in replays)
    assert os.listdir(tmp_path / "roman")  # the replayed run's own folder is untouched
