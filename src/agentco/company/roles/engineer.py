"""The engineer writes the code (a small project in one reply, otherwise file by file in dependency
order) and fixes what QA sends back."""

from __future__ import annotations

import asyncio
from pathlib import PurePosixPath
from typing import Any

from agentco.company.policies import (
    SHORT_ATTEMPTS,
    fix_afresh,
    left_empty,
    mend_once,
    refuse_unchanged,
    rewrite_afresh,
)
from agentco.company.roles.base import CompanyRole, Stage
from agentco.company.schemas import FileTask, Review
from agentco.company.stages import FIX_CODE, FIX_REQUEST, WRITE_CODE
from agentco.core.message import Message
from agentco.core.team import gather_first_error
from agentco.errors import ModelOutputError
from agentco.llm.files import FilesOutput
from agentco.llm.structured import TextOutput


class WriteCode(Stage):
    stage = WRITE_CODE

    async def run(self, role: Engineer, news: list[Message], **variables: Any) -> Message:
        """Write a small project's files from one reply, so that their names agree; then, in waves,
        whatever that reply lacked (each wave holds the files whose dependencies are written)."""
        ws = role.workshop
        assert ws.tasks is not None
        pending = {t.file: t for t in ws.tasks.tasks}
        asked = [t for t in pending.values() if not left_empty(ws, t)]
        if 1 < len(asked) <= ws.options.one_reply_files:
            for path in await role.write_together(asked):
                del pending[path]
        limit = asyncio.Semaphore(ws.options.max_parallel_files)

        async def write(task: FileTask) -> None:
            async with limit:
                await role.write_file(task)

        while pending:
            ready = [t for t in pending.values() if all(d not in pending or d == t.file for d in t.depends_on)]
            ready = ready or list(pending.values())  # a dependency cycle: write the rest together
            await gather_first_error(write(task) for task in ready)
            for task in ready:
                del pending[task.file]
        role.mend_imports()
        ws.folder.commit("Write the code", role.name)
        ws.stage("code")
        return Message(f"wrote {len(ws.code)} files", sent_from=role.name, cause_by=WRITE_CODE, payload=sorted(ws.code))


class FixCode(Stage):
    stage = FIX_CODE

    async def run(self, role: Engineer, news: list[Message], **variables: Any) -> Message:
        """Fix the files of the latest fix request, each against its problems."""
        ws = role.workshop
        assert ws.tasks is not None
        request = [m for m in news if m.cause_by == FIX_REQUEST][-1].payload
        by_file = {t.file: t for t in ws.tasks.tasks}
        for path, problems in request["files"].items():
            task = by_file.get(path) or FileTask(file=path, description="", depends_on=[])
            role.fixes[path] = role.fixes.get(path, 0) + 1
            afresh = fix_afresh(role.fixes[path])
            code = await rewrite_afresh(ws, role.draft, task, ws.code.get(path) or None, problems, afresh)
            if code is not None:
                await role.settle(task, code)
        role.mend_imports()
        ws.folder.commit(f"Fix {', '.join(request['files'])}: {request['reason']}", role.name)
        files = ", ".join(request["files"])
        return Message(f"fixed {files}", sent_from=role.name, cause_by=FIX_CODE, payload=sorted(request["files"]))


class Engineer(CompanyRole):
    role_name = "engineer"
    role_profile = "the software engineer"
    stages = (WriteCode, FixCode)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fixes: dict[str, int] = {}  # path → fix requests so far (replayed the same on resume)

    async def react(self, news: list[Message]) -> list[Message]:
        """Fix what QA sent back when it sent something; otherwise write the code."""
        write, fix = self.actions
        return [await self.act(fix if any(m.cause_by == FIX_REQUEST for m in news) else write, news)]

    async def write_file(self, task: FileTask) -> str | None:
        ws = self.workshop
        if left_empty(ws, task):
            ws.note(f"{task.file} left empty: the program needs nothing in it, and the design puts nothing there")
            ws.folder.write(task.file, "")
            ws.code[task.file] = ""
            return ""
        try:
            code = await self.draft(task, None, [])
        except ModelOutputError as exc:  # QA reports the missing file and it comes back for a fix
            ws.note(f"{task.file} was not written: {exc}")
            return None
        return await self.settle(task, code, review=self.wants_review(code))

    def wants_review(self, code: str) -> bool:
        """The model reviews a new file of more than three lines, when the run asks for reviews."""
        return self.workshop.options.code_review and len(code.strip().splitlines()) > 3

    async def write_together(self, tasks: list[FileTask]) -> list[str]:
        """The files of ``tasks`` from one reply, each then mended, linted and reviewed like a file
        written on its own; returns the paths written. A file the reply lacks or that does not parse
        is left to be written on its own (with a note), as is every file when no reply has one."""
        ws = self.workshop
        assert ws.design is not None
        wanted = {t.file: t for t in tasks}
        toolchain = ws.toolchain

        def check(files: dict[str, str]) -> str | None:
            if any(path in wanted and not toolchain.check_syntax(code) for path, code in files.items()):
                return None
            return f"the reply held none of {', '.join(wanted)} as valid code: write each of them under its path"

        messages = self.lang_prompt(
            "write_project.j2",
            tasks_to_write=tasks,
            classes=ws.design.data_structures,
            modules={t.file: PurePosixPath(t.file).stem for t in tasks},
            special=toolchain.special_methods(ws.requirement),
        )
        budget = min(self.max_tokens, 400 + 600 * len(tasks))  # cut off, it keeps the files it finished
        try:
            # a model that repeats a refused reply is stuck: writing file by file is the next step
            files = await self.ask(messages, FilesOutput(name="project files", check=check), max_tokens=budget,
                                   what="the project's files", attempts=SHORT_ATTEMPTS, reask_repeats=False)  # fmt: skip
        except ModelOutputError as exc:
            ws.note(f"the files were not written in one reply, so each is written on its own: {exc}")
            return []
        kept = {path: code for path, code in files.items() if path in wanted and not toolchain.check_syntax(code)}
        for path, code in kept.items():  # all on disk before any is linted: they import each other
            code, repairs = toolchain.mend(path, code)
            ws.folder.write(path, code)
            kept[path] = code
            for repair in repairs:
                ws.note(f"{path}: {repair}")
        for path, code in kept.items():
            await self.settle(wanted[path], code, review=self.wants_review(code))
        if missing := [path for path in wanted if path not in kept]:
            ws.note(f"one reply wrote {len(kept)} of {len(wanted)} files; {', '.join(missing)} written on its own")
        return list(kept)

    async def settle(self, task: FileTask, code: str, review: bool = False) -> str:
        """Keep ``code`` as the file, after one rewrite if the linter finds defects in it, or else
        (with ``review``) after the model's review: a linter's finding is evidence, a review an opinion."""
        ws = self.workshop
        ws.folder.write(task.file, code)
        if findings := ws.toolchain.lint(ws.folder.root, [task.file]).get(task.file):
            code = await mend_once(ws, self.draft, task, code, findings)
        elif review:
            code = await self.review(task, code)
            ws.folder.write(task.file, code)
        ws.code[task.file] = code
        return code

    def mend_imports(self) -> None:
        """Point the project's own imports at the module that defines what they import, where there
        is one right answer: mechanical, so no model call (see the toolchain's ``mend_imports``)."""
        ws = self.workshop
        changed, notes = ws.toolchain.mend_imports(ws.code)
        for path, code in changed.items():
            ws.folder.write(path, code)
            ws.code[path] = code
        for note in notes:
            ws.note(note)

    async def review(self, task: FileTask, code: str) -> str:
        """One review; a rewrite only when the verdict field asks for it and names the issues."""
        messages = self.lang_prompt("review_code.j2", file=task.file, description=task.description, code=code)
        try:
            review: Review = await self.ask(messages, Review, max_tokens=300, what=f"review of {task.file}")
            if review.verdict == "rewrite" and review.issues:
                return await self.draft(task, code, review.issues)
        except ModelOutputError as exc:
            self.workshop.note(f"review of {task.file} skipped: {exc}")
        return code

    async def draft(self, task: FileTask, current: str | None, problems: list[str], attempts: int | None = None) -> str:
        """The file ``task`` asks for, written against ``problems`` and shown ``current`` when given."""
        ws = self.workshop
        assert ws.design is not None
        outline = ws.toolchain.outline
        dependencies = [(d, outline(ws.code[d])) for d in task.depends_on if d in ws.code and d != task.file]
        classes = [c for c in ws.design.data_structures if c.file == task.file]
        messages = self.lang_prompt(
            "write_code.j2",
            file=task.file,
            description=task.description,
            dependencies=dependencies,
            classes=classes,
            module=PurePosixPath(task.file).stem,  # an entry named after its module lists its functions
            special=ws.toolchain.special_methods(ws.requirement),
            current=current,
            problems=problems,
        )
        output = self.code_output(task.file, current if problems else None)
        # a fix shown its file that repeats a refused answer stands by it: the caller writes it afresh
        code = await self.ask(
            messages,
            output,
            max_tokens=1500,
            what=f"file {task.file}",
            attempts=attempts,
            reask_repeats=current is None,
        )
        code, repairs = ws.toolchain.mend(task.file, code)  # what has one right answer, before the linter sees it
        for repair in repairs:
            ws.note(f"{task.file}: {repair}")
        return code

    def code_output(self, path: str, current: str | None = None) -> TextOutput:
        """A source file that parses and, when it must fix ``current``, is not ``current`` again; empty
        only where its language's smallest valid content is empty (a package's ``__init__.py``)."""
        toolchain = self.workshop.toolchain

        def check(code: str) -> str | None:
            return refuse_unchanged(current, code) or toolchain.check_syntax(code)

        return TextOutput(name=f"file {path}", check=check, allow_empty=toolchain.fallback(path) == "")
