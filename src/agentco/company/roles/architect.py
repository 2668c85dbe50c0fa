"""The architect writes the system design: its files, classes and call flow, with their diagrams."""

from __future__ import annotations

from typing import Any

from agentco.company.diagrams import class_diagram, sequence_diagram
from agentco.company.fallbacks import minimal_design
from agentco.company.repairs import design_normaliser
from agentco.company.roles.base import CompanyRole, DocumentStage
from agentco.company.schemas import SystemDesign, design_for
from agentco.company.stages import WRITE_DESIGN
from agentco.core.message import Message
from agentco.lang.base import EntryPoint
from agentco.templates import render


class WriteDesign(DocumentStage):
    stage = WRITE_DESIGN

    async def run(self, role: Architect, news: list[Message], **variables: Any) -> Message:
        ws = role.workshop
        entry_points = ws.toolchain.entry_points_in(ws.requirement, ws.prd.entry_points if ws.prd else ())
        # the names the user's own words give the code win over the language's naming rules, with a warning
        named = [e.name for e in ws.toolchain.entry_points_in(ws.requirement)]
        for warning in ws.toolchain.name_warnings(named):
            ws.note(warning)
        schema = design_for(entry_points, lambda path: ws.toolchain.path_problem(path, named))
        name = ws.folder.root.name
        # with no entry point named, the fallback's one file is a module named after the project
        fallback_entries = entry_points or ws.toolchain.entry_points_in("", [EntryPoint(kind="module", name=name)])
        design: SystemDesign = await role.document(
            role.lang_prompt("write_design.j2", prd=ws.prd, entry_points=entry_points),
            schema,
            lambda: minimal_design(schema, ws.requirement, name, fallback_entries),
            max_tokens=1000,
            what="system design",
            repair=lambda notes: design_normaliser(
                schema,
                entry_points,
                notes,
                ws.toolchain.special_method,
                ws.toolchain.called_functions(ws.requirement),
                ws.toolchain.stray_file,
            ),  # fmt: skip
        )
        return self.keep(role, design)

    def keep(
        self, role: Architect, design: SystemDesign, commit: str = "Write the system design", author: str | None = None
    ) -> Message:
        """Make ``design`` the run's design: its document, JSON and diagrams written and committed."""
        ws = role.workshop
        ws.design = design
        classes, sequence = class_diagram(design), sequence_diagram(design)
        document = render(
            "company/docs/design.md.j2",
            design=design,
            project_name=ws.folder.root.name,
            class_diagram=classes,
            sequence_diagram=sequence,
        )
        files = {"docs/diagrams/class_diagram.mmd": classes, "docs/diagrams/sequence_diagram.mmd": sequence}
        return role.save_stage("design", document, design, files, commit, WRITE_DESIGN, author)


class Architect(CompanyRole):
    role_name = "architect"
    role_profile = "the software architect"
    stages = (WriteDesign,)
