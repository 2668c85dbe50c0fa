"""The project manager breaks the design into one task per file, and lists the packages to install."""

from __future__ import annotations

from typing import Any

from agentco.company.fallbacks import minimal_tasks
from agentco.company.roles.base import CompanyRole, DocumentStage
from agentco.company.schemas import TaskBreakdown, task_breakdown_for
from agentco.company.stages import WRITE_TASKS
from agentco.core.message import Message
from agentco.templates import render


class WriteTasks(DocumentStage):
    stage = WRITE_TASKS

    async def run(self, role: ProjectManager, news: list[Message], **variables: Any) -> Message:
        ws = role.workshop
        assert ws.design is not None
        schema = task_breakdown_for(ws.design.file_list, ws.toolchain.packages_hint)
        tasks = await role.document(
            role.lang_prompt("write_tasks.j2"),
            schema,
            lambda: minimal_tasks(schema, ws.requirement, ws.design),
            max_tokens=800,
            what="task breakdown",
        )
        return self.keep(role, tasks)

    def keep(
        self, role: ProjectManager, tasks: TaskBreakdown, commit: str = "Break the design into tasks",
        author: str | None = None,
    ) -> Message:  # fmt: skip
        """Make ``tasks`` the run's tasks (packages the toolchain refuses dropped, with a note), written
        and committed with the requirements file."""
        ws = role.workshop
        assert ws.design is not None
        kept, dropped = ws.toolchain.filter_requirements(tasks.required_packages)
        tasks.required_packages = kept
        tasks.tasks.sort(key=lambda t: ws.design.file_list.index(t.file))
        ws.tasks = tasks
        dropped_notes = [f"{line} ({why})" for line, why in dropped]
        for note in dropped_notes:
            ws.note(f"dropped requirement {note}")
        document = render(
            "company/docs/tasks.md.j2",
            tasks=tasks,
            packages=kept,
            dropped=dropped_notes,
            project_name=ws.folder.root.name,
        )
        files = {ws.toolchain.requirements_file: "".join(f"{p}\n" for p in kept)}
        return role.save_stage("tasks", document, tasks, files, commit, WRITE_TASKS, author)


class ProjectManager(CompanyRole):
    role_name = "project_manager"
    role_profile = "the project manager"
    stages = (WriteTasks,)
