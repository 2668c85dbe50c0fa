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
