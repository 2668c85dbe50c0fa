"""The Python toolchain with a real venv, real pytest and the real sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentco.errors import ConfigError
from agentco.lang import get_toolchain
from agentco.lang.python import PythonToolchain
from agentco.sandbox import is_available

needs_bwrap = pytest.mark.skipif(not is_available(), reason="bubblewrap cannot run here")


@pytest.fixture(scope="module")
def python(tmp_path_factory) -> PythonToolchain:
    # A fresh cache: the first prepare_env pays the once-per-machine pytest install.
    return get_toolchain("python", cache_dir=tmp_path_factory.mktemp("agentco-cache"), test_timeout=60)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


CALC = {
    "src/calc/__init__.py": "def add(a, b):\n    return a + b\n\n\ndef div(a, b):\n    return a / b\n",
    "tests/test_calc.py": (
        "import importlib.util\n\nfrom calc import add, div\n\n\n"
        "def test_add():\n    assert add(1, 2) == 3\n\n\n"
        "def test_div():\n    assert div(1, 0) == 0\n\n\n"
        "def test_host_packages_are_invisible():\n    assert importlib.util.find_spec('pydantic') is None\n"
    ),
}


def test_requirements_lose_stdlib_duplicates_and_junk_and_keep_real_packages(python):
    lines = ["sqlite3", "ast==2.4.0", "os", "requests>=2", "json", "requests>=2", "# a comment", "", "not valid!!"]
    lines += ["-e .", "sklearn>=1.0", "xml.etree"]
    kept, dropped = python.filter_requirements(lines)
    assert kept == ["requests>=2", "scikit-learn>=1.0"]
    reasons = {d.line: d.reason for d in dropped}
    for stdlib in ("sqlite3", "ast==2.4.0", "os", "json", "xml.etree"):
        assert "standard library" in reasons[stdlib]
    assert reasons["not valid!!"].startswith("not a valid requirement")
    assert "options" in reasons["-e ."]
    assert "scikit-learn" in reasons["sklearn>=1.0"]
    assert [d.reason for d in dropped].count("duplicate") == 1


def test_syntax_errors_name_their_line(python, tmp_path):
    assert python.check_syntax("def ok():\n    return 1\n") is None
    error = python.check_syntax("x = 1\nif x\n    y = 2\n", filename="app.py")
    assert error is not None and error.startswith("app.py:2:") and "expected ':'" in error
    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n    pass\n")
    assert python.check_syntax(broken).startswith(f"{broken}:1:")


@needs_bwrap
def test_a_passing_and_a_failing_test_are_counted_and_the_failure_points_at_its_source(python, tmp_path):
    project = write(tmp_path / "calc", CALC)
    env = python.prepare_env(project)
    assert env.ok and env.failed == {}
    assert (project / ".venv" / "bin" / "python").exists()

    report = python.run_tests(project)
    assert (report.passed, report.failed, report.errors, report.total) == (2, 1, 0, 3), report.output_tail
    assert report.problem is None and not report.ok
    [failure] = [case for case in report.cases if case.outcome == "failed"]
    assert failure.name == "tests/test_calc.py::test_div"
    assert "ZeroDivisionError" in failure.text
    assert failure.files == ("tests/test_calc.py", "src/calc/__init__.py")
    assert failure.where == "src/calc/__init__.py:6: return a / b"  # the line of the code that failed
    assert report.source_files == ["src/calc/__init__.py"]
    assert not list(project.glob(".agentco-*")), "the junit report is cleaned up"


@needs_bwrap
def test_a_test_file_that_cannot_be_collected_says_why(python, tmp_path):
    project = write(tmp_path / "calc", {**CALC, "tests/test_calc.py": "from calc import ValueError\n"})
    python.prepare_env(project, requirements=[])
    report = python.run_tests(project)
    [case] = report.cases
    assert case.outcome == "error" and not report.ok
    assert case.message.startswith("ImportError: cannot import name 'ValueError'"), case.message


@needs_bwrap
def test_import_check_reports_import_and_syntax_errors(python, tmp_path):
    project = write(
        tmp_path / "app",
        {
            "src/app/good.py": "VALUE = 1\n",
            "src/app/needs_dep.py": "import not_installed_anywhere\n",
            "typo.py": "def f(:\n",
            "notes.md": "not code\n",
            "src/app/__main__.py": "import sys\nsys.exit('usage: app FILE')\n",  # runs on import: not imported
        },
    )
    python.prepare_env(project, requirements=[])
    checked = ["src/app/good.py", "src/app/needs_dep.py", "typo.py", "notes.md", "json", "src/app/__main__.py"]
    errors = python.import_check(project, checked)
    assert set(errors) == {"src/app/needs_dep.py", "typo.py"}
    [missing] = errors["src/app/needs_dep.py"]
    assert "ModuleNotFoundError: No module named 'not_installed_anywhere'" in missing
    assert "needs_dep.py" in missing
    assert "SyntaxError" in errors["typo.py"][0]


def test_files_map_to_the_module_names_tests_import(python):
    assert python.module_for("src/calc/core.py") == "calc.core"
    assert python.module_for("calc/__init__.py") == "calc"
    assert python.module_for("main.py") == "main"
    assert python.module_for("scripts/my-tool.py") is None
    assert python.test_file_for("Roman Numerals") == "tests/test_roman_numerals.py"


@needs_bwrap
def test_a_requirement_that_cannot_be_installed_is_reported_not_raised(tmp_path, python):
    project = tmp_path / "deps"
    project.mkdir()
    toolchain = PythonToolchain(cache_dir=python.cache_dir, install_timeout=60)
    env = toolchain.prepare_env(project, requirements=["agentco-no-such-package-xyz==1.0", "os"])
    assert not env.ok
    assert list(env.failed) == ["agentco-no-such-package-xyz==1.0"]
    assert env.failed["agentco-no-such-package-xyz==1.0"]
    assert [d.line for d in env.dropped] == ["os"]


def test_an_unknown_language_is_a_config_error():
    with pytest.raises(ConfigError, match="python"):
        get_toolchain("cobol")


def test_lint_finds_what_a_small_model_leaves_in_code_that_parses_and_imports(python, tmp_path):
    (tmp_path / "tool").mkdir()
    (tmp_path / "bank.py").write_text(
        "class Account:\n"
        "    def __init__(self):\n"
        "        self.history = []\n"
        "    def history(self):\n"
        "        return self.history\n"
        "\n"
        "acct = Account()\n"  # an assignment at the top is allowed
        "acct.history.append(1)\n"
        "print(acct)\n"
        'if __name__ == "__main__":\n'
        "    print(acct)\n"
    )
    (tmp_path / "tool" / "__init__.py").write_text("def fail(msg):\n    print(msg, file=sys.stderr)\n    sys.exit(2)\n")
    (tmp_path / "tool" / "__main__.py").write_text("import sys\nfrom tool import fail\nfail(sys.argv[1])\n")
    (tmp_path / "clean.py").write_text('"""Doc."""\nimport sys\n\nLIMIT = 3\n\n\ndef main():\n    sys.exit(0)\n')
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("print(undefined_name)\n")

    found = python.lint(tmp_path, ["bank.py", "tool/__init__.py", "tool/__main__.py", "clean.py", "tests/test_x.py"])

    assert set(found) == {"bank.py", "tool/__init__.py"}  # a program's __main__ may run code; tests are QA's
    bank = "\n".join(found["bank.py"])
    assert "lines 8, 9: example or test code runs whenever the module is imported" in bank
    assert "hides the method `history()`" in bank and "self._history" in bank
    assert found["tool/__init__.py"] == ["lines 2, 3: `sys` is used but never imported: add `import sys` at the top"]


def test_an_import_of_a_name_from_the_wrong_module_says_where_the_name_is(python, tmp_path):
    project = write(
        tmp_path / "tool",
        {
            "tool/__init__.py": "from . import main\n",
            "tool/__main__.py": 'def main():\n    pass\n\nif __name__ == "__main__":\n    main()\n',
            "lib.py": "LIMIT = 1\n",
            "other.py": "from lib import helper\n",
        },
    )
    python.prepare_env(project, requirements=[])
    errors = python.import_check(project, ["tool/__init__.py", "tool/__main__.py", "lib.py", "other.py"])
    assert errors["tool/__init__.py"][1] == (
        "`main` is defined in `tool.__main__` (tool/__main__.py), not in `tool`: import it from there, or not at all"
    )
    assert errors["other.py"][-1].startswith("no file of the project defines `helper` at its top level")


def test_prebuilt_tools_named_by_agentco_tools_dir_are_used_without_installing(tmp_path, monkeypatch):
    """A container image fills AGENTCO_TOOLS_DIR at build time: runs then need no package index."""
    import subprocess
    import sys

    from agentco.lang.python.env import ProjectEnv

    root = tmp_path / "tools" / "py{}.{}".format(*sys.version_info[:2])
    (root / "pytest-site").mkdir(parents=True)
    (root / "pip-site").mkdir()
    monkeypatch.setenv("AGENTCO_TOOLS_DIR", str(tmp_path / "tools"))

    def no_install(*args, **kwargs):
        raise AssertionError(f"tried to install: {args}")

    monkeypatch.setattr(subprocess, "Popen", no_install)
    sites = ProjectEnv(cache_dir=tmp_path / "cache").shared_sites()
    assert sites == (root / "pytest-site", root / "pip-site")
    assert not (tmp_path / "cache").exists()
