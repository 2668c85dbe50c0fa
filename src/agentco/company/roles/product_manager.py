"""The product manager writes the PRD, with its competitive quadrant chart."""

from __future__ import annotations

from typing import Any

from agentco.company.diagrams import quadrant_chart
from agentco.company.fallbacks import minimal_prd
from agentco.company.repairs import prd_normaliser
from agentco.company.roles.base import CompanyRole, DocumentStage
from agentco.company.schemas import PRD, compact, prd_for
from agentco.company.stages import WRITE_PRD
from agentco.core.message import Message
from agentco.templates import render


class WritePRD(DocumentStage):
    stage = WRITE_PRD

    async def run(self, role: ProductManager, news: list[Message], **variables: Any) -> Message:
        ws = role.workshop
        schema = prd_for(ws.toolchain.entry_points_hint, small=compact(ws.requirement))
        named = ws.toolchain.entry_points_in(ws.requirement, ())
        prd: PRD = await role.document(
            role.lang_prompt("write_prd.j2"),
            schema,
            lambda: minimal_prd(schema, ws.requirement, named),
            max_tokens=1000,
            what="PRD",
            repair=lambda notes: prd_normaliser(schema, named, notes),
        )
        return self.keep(role, prd)

    def keep(self, role: ProductManager, prd: PRD, commit: str = "Write the PRD", author: str | None = None) -> Message:
        """Make ``prd`` the run's PRD: its document, JSON and chart written and committed."""
        ws = role.workshop
        ws.prd = prd
        if ws.project is None:
            ws.open_project(ws.options.project_name or prd.project_name)
        quadrant = quadrant_chart(prd)
        document = render("company/docs/prd.md.j2", prd=prd, requirement=ws.requirement, quadrant=quadrant)
        files = {"docs/diagrams/competitive_quadrant.mmd": quadrant}
        return role.save_stage("prd", document, prd, files, commit, WRITE_PRD, author)


class ProductManager(CompanyRole):
    role_name = "product_manager"
    role_profile = "the product manager"
    stages = (WritePRD,)
