"""The company's pipeline in one table: who works on what, and what their work is called.

Each row is a role, the stages it watches and the stages its messages are caused by. A row that
watches a name no row publishes would wait for ever: ``check_pipeline`` refuses such a table
before anyone is hired.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from agentco.company.roles import Architect, CompanyRole, Engineer, ProductManager, ProjectManager, QaEngineer
from agentco.company.stages import (
    FIX_CODE,
    FIX_REQUEST,
    RUN_TESTS,
    USER_REQUIREMENT,
    WRITE_CODE,
    WRITE_DESIGN,
    WRITE_PRD,
    WRITE_TASKS,
)
from agentco.company.workshop import Workshop
from agentco.errors import ConfigError


@dataclass(frozen=True)
class Row:
    role: type[CompanyRole]
    watches: frozenset[str]
    publishes: frozenset[str]
    implement_only: bool = False
    """Hired only when the run implements the design (not for documents only)."""

    @property
    def name(self) -> str:
        return self.role.__name__


def row(role: type[CompanyRole], watches: Iterable[str], publishes: Iterable[str], implement_only: bool = False) -> Row:
    return Row(role, frozenset(watches), frozenset(publishes), implement_only)


PIPELINE: tuple[Row, ...] = (
    row(ProductManager, watches={USER_REQUIREMENT}, publishes={WRITE_PRD}),
    row(Architect, watches={WRITE_PRD}, publishes={WRITE_DESIGN}),
    row(ProjectManager, watches={WRITE_DESIGN}, publishes={WRITE_TASKS}),
    # fix requests are sent to the engineer by name; listed here so the table shows the whole loop
    row(Engineer, watches={WRITE_TASKS, FIX_REQUEST}, publishes={WRITE_CODE, FIX_CODE}, implement_only=True),
    row(QaEngineer, watches={WRITE_CODE, FIX_CODE}, publishes={RUN_TESTS, FIX_REQUEST}, implement_only=True),
)


def check_pipeline(table: Sequence[Row]) -> None:
    """Raise ConfigError when a row watches a name no row publishes (but the user's requirement), or
    when a role's stages publish a name its row does not list."""
    published = {USER_REQUIREMENT} | {name for r in table for name in r.publishes}
    for r in table:
        if unknown := sorted(r.watches - published):
            raise ConfigError(
                f"the pipeline row {r.name} watches {', '.join(unknown)}, which no row publishes "
                f"(published: {', '.join(sorted(published))})"
            )
        if unlisted := sorted({stage.stage for stage in r.role.stages} - r.publishes):
            raise ConfigError(
                f"the pipeline row {r.name} does not list {', '.join(unlisted)}, which its stages publish"
            )


def hire_company(workshop: Workshop, role_kwargs: dict[str, Any], table: Sequence[Row] = PIPELINE) -> list[CompanyRole]:
    """The roles of ``table`` this run needs, each watching what its row says; the table is checked first."""
    rows = [r for r in table if workshop.options.implement or not r.implement_only]
    check_pipeline(rows)
    return [r.role(workshop, watch=r.watches, **role_kwargs) for r in rows]
