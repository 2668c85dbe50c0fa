"""The project's own imports pointed at the module that defines what they import, where there is
one right answer; everything else is left for the import check and the engineer."""

from __future__ import annotations

from agentco.company.run import run_company
from agentco.company.workshop import CompanyOptions
from agentco.lang.python.project_imports import mend_project_imports
from agentco.llm.client import LLMClient
from agentco.llm.meter import Meter
from agentco.testing.company import ROMAN, ProjectScript, company_model

CORE = "import csv\n\n\ndef read_csv(path, column):\n    return []\n\n\ndef stats(values):\n    return {}\n"


def test_an_import_from_an_empty_package_goes_to_the_one_module_that_defines_the_names():
    main = "import sys\nfrom csvstats import read_csv, stats\n\n\ndef main():\n    return stats(read_csv(sys.argv[1], 'a'))\n"
    files = {"csvstats/__init__.py": "", "csvstats/core.py": CORE, "csvstats/__main__.py": main}

    changed, notes = mend_project_imports(files)

    assert changed == {"csvstats/__main__.py": main.replace("from csvstats import", "from csvstats.core import")}
    assert notes == [
        "csvstats/__main__.py: imports `read_csv` from `csvstats.core`, which defines it (`csvstats` does not)",
        "csvstats/__main__.py: imports `stats` from `csvstats.core`, which defines it (`csvstats` does not)",
    ]


def test_a_relative_import_inside_a_function_keeps_its_indent_and_the_names_the_package_has():
    init = "VERSION = '1'\n"
    main = "def main():\n    from . import VERSION, read_csv as load\n    return load, VERSION\n"
    files = {"pkg/__init__.py": init, "pkg/core.py": CORE, "pkg/__main__.py": main}

    changed, _ = mend_project_imports(files)

    assert changed["pkg/__main__.py"] == (
        "def main():\n    from . import VERSION\n    from pkg.core import read_csv as load\n    return load, VERSION\n"
    )


def test_what_has_no_single_right_answer_is_left_alone():
    files = {
        "pkg/__init__.py": "from .core import read_csv\n",  # the package has it
        "pkg/core.py": CORE,
        "pkg/other.py": "def stats(values):\n    return 1\n",  # stats is defined twice
        "pkg/a.py": "from pkg import read_csv\nfrom pkg import stats\nfrom pkg import nowhere\n",
        "pkg/b.py": "from pkg import stats; X = 1\n",  # shares its line
        "pkg/c.py": "from pkg import core\nfrom json import loads\n",  # a submodule; not a project module
        "broken.py": "def f(:\n",  # does not parse
        "pkg/d.py": "from broken import f\n",
    }
    assert mend_project_imports(files) == ({}, [])


async def test_the_engineer_mends_the_import_without_a_model_call_and_the_project_passes(tmp_path):
    cli = "from extras import shout\n\n\ndef main():\n    return shout('x')\n"
    files = {
        "roman.py": ROMAN.files["roman.py"],
        "extras/__init__.py": "",
        "extras/core.py": "def shout(text):\n    return text.upper()\n",
        "extras/cli.py": cli,
    }
    model = company_model(ProjectScript("roman", files, ROMAN.tests))
    outcome = await run_company("Write roman.py.", CompanyOptions(workspace=tmp_path), LLMClient(model, Meter()))

    assert (outcome.project / "extras" / "cli.py").read_text() == cli.replace("from extras", "from extras.core")
    assert "extras/cli.py: imports `shout` from `extras.core`, which defines it (`extras` does not)" in outcome.notes
    assert [r.schema_name for r in model.requests].count("file extras/cli.py") == 0  # in the one reply; never fixed
    assert outcome.summary["status"] == "passed"


def test_a_name_used_but_never_bound_is_imported_from_the_one_module_that_defines_it():
    # ledger on 86d71b7: __main__ called parse_args (cli.py's) and cli built an Entry with no import
    main = '"""Runs it."""\nimport sys\n\n\ndef main():\n    run(parse_args(sys.argv[1:]))\n'
    cli = "from ledger.storage import add\n\n\ndef parse_args(argv):\n    return Entry(argv)\n\n\ndef run(a):\n    add(a)\n"
    files = {
        "ledger/__init__.py": "",
        "ledger/models.py": "class Entry:\n    pass\n",
        "ledger/storage.py": "class Entry:\n    pass\n\n\ndef add(entry):\n    return entry\n",
        "ledger/cli.py": cli,
        "ledger/__main__.py": main,
        "ledger/loop.py": "from ledger.cli import run\n\n\ndef again():\n    return helper()\n",
    }
    files["ledger/extra.py"] = "def helper():\n    return ghost\n"  # defined nowhere: left to the linter

    changed, notes = mend_project_imports(files)

    assert changed["ledger/__main__.py"] == main.replace(
        "import sys\n", "import sys\nfrom ledger.cli import run\nfrom ledger.cli import parse_args\n"
    )
    # Entry is defined twice; cli already imports from storage, so that is the one right answer
    assert changed["ledger/cli.py"] == cli.replace("import add\n", "import add\nfrom ledger.storage import Entry\n")
    assert (
        "ledger/__main__.py: uses `parse_args` without defining it; imported from `ledger.cli`, which defines it"
        in notes
    )
    assert changed["ledger/loop.py"].startswith("from ledger.cli import run\nfrom ledger.extra import helper\n")
    assert "ledger/extra.py" not in changed


def test_a_missing_name_is_not_imported_from_a_module_that_imports_this_one():
    files = {"a.py": "import b\n\n\ndef f():\n    return b.g()\n", "b.py": "def g():\n    return f()\n"}
    assert mend_project_imports(files) == ({}, [])
