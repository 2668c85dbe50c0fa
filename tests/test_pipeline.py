"""The company's pipeline table: checked before anyone is hired, and the one place roles are wired."""

from __future__ import annotations

import pytest

from agentco.company.pipeline import PIPELINE, check_pipeline, hire_company, row
from agentco.company.roles import Architect, Engineer, ProductManager, QaEngineer
from agentco.company.stages import (
    FIX_CODE,
    FIX_REQUEST,
    RUN_TESTS,
    USER_REQUIREMENT,
    WRITE_CODE,
    WRITE_DESIGN,
    WRITE_PRD,
)
from agentco.company.workshop import CompanyOptions, Workshop
from agentco.errors import ConfigError
from agentco.lang.python import PythonToolchain


def test_the_companys_pipeline_is_whole():
    check_pipeline(PIPELINE)
    watched = {name for r in PIPELINE for name in r.watches}
    published = {name for r in PIPELINE for name in r.publishes}
    assert watched - published == {USER_REQUIREMENT} and published - watched == {RUN_TESTS}


def test_a_row_that_watches_what_no_row_publishes_is_refused_by_name():
    typo = (row(ProductManager, {USER_REQUIREMENT}, {WRITE_PRD}), row(Architect, {"WritePrd"}, {WRITE_DESIGN}))
    with pytest.raises(ConfigError, match=r"row Architect watches WritePrd, which no row publishes"):
        check_pipeline(typo)


def test_a_row_must_list_what_its_stages_publish():
    qa = row(QaEngineer, {WRITE_CODE}, {FIX_REQUEST})
    with pytest.raises(ConfigError, match=r"row QaEngineer does not list RunTests"):
        check_pipeline((row(Engineer, {USER_REQUIREMENT}, {WRITE_CODE, FIX_CODE}), qa))


@pytest.mark.parametrize("implement", [True, False])
def test_the_roles_hired_watch_what_their_rows_say(tmp_path, implement):
    ws = Workshop("x", CompanyOptions(workspace=tmp_path, implement=implement), PythonToolchain())
    roles = hire_company(ws, {"temperature": 0.5})
    names = ["product_manager", "architect", "project_manager"] + (["engineer", "qa_engineer"] if implement else [])
    assert [r.name for r in roles] == names
    assert [r.watch for r in roles] == [set(r.watches) for r in PIPELINE][: len(names)]
    assert all(r.workshop is ws and r.temperature == 0.5 for r in roles)
