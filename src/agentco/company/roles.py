"""The five roles of the software company and the actions they run."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from agentco.company.diagrams import class_diagram, quadrant_chart, sequence_diagram
from agentco.company.schemas import (
    PRD,
    FileTask,
    Review,
    SystemDesign,
    TestPlan,
    design_for,
    entry_points_in,
    names_to_check,
    task_breakdown_for,
    test_plan_for,
    triage_for,
    usage_lines,
)
from agentco.company.workshop import Workshop
from agentco.core.action import Action
from agentco.core.message import Message
from agentco.core.role import Role
from agentco.core.team import gather_first_error
from agentco.errors import ModelOutputError
from agentco.llm.structured import TextOutput
from agentco.templates import render

FIX_REQUEST, WRITE_CODE, FIX_CODE = "FixRequest", "WriteCode", "FixCode"
UNCHANGED = "this is the current version unchanged"
"""How a rewrite that returns the file it was asked to change is refused (and recognised)."""
PLAN_TOKENS = 1000
"""A test plan of 8 checks takes the 1.5B model about 500 tokens; a plan that runs on past twice that
is repeating itself (1,500 tokens cost 135 s)."""
SHORT_ATTEMPTS = 2
"""Tries at the costly outputs a run can do without (a fix of code or tests, a test plan, which has a
narrower fallback): a small model that twice returns what it was asked to change stands by it, and
a third try at a 2,000-token prompt costs the 1.5B model 40 to 90 s."""
DOCUMENTS = (
    *(f"docs/{name}.{ext}" for name in ("prd", "design", "tasks") for ext in ("md", "json")),
    *(f"docs/diagrams/{name}.mmd" for name in ("competitive_quadrant", "class_diagram", "sequence_diagram")),
)
"""What the three document stages write into every project."""


class CompanyRole(Role):
    def __init__(self, workshop: Workshop, name: str, profile: str, action: Action, watch: set[str], **kwargs: Any):
        super().__init__(name, profile, actions=[action], watch=watch, **kwargs)
        self.workshop = workshop

    def prompt(self, template: str, **variables: Any) -> list[dict[str, str]]:
        """Stable parts first (system prompt, then the requirement) so a local model reuses its KV cache."""
        ws = self.workshop
        return [
            {"role": "system", "content": render("company/system.j2", role=self)},
            {
                "role": "user",
                "content": render(template, requirement=ws.requirement, design=ws.design, tasks=ws.tasks, **variables),
            },
        ]

    def publish(self, name: str, document: str, data: Any, files: dict[str, str], commit: str, action: str) -> Message:
        """Write a stage's document with its JSON and extra files, commit it as this role, mark the stage."""
        folder = self.workshop.folder
        folder.write(f"docs/{name}.md", document + "\n")
        folder.write_json(f"docs/{name}.json", data.model_dump(mode="json"))
        for path, text in files.items():
            folder.write(path, text)
        folder.commit(commit, self.name)
        self.workshop.stage(name)
        return Message(document, sent_from=self.name, cause_by=action, payload=data)

    def code_output(self, path: str, current: str | None = None) -> TextOutput:
        """A source file that parses and, when it must fix ``current``, is not ``current`` again."""
        syntax = self.workshop.toolchain.check_syntax

        def check(code: str) -> str | None:
            if current is not None and code.strip() == current.strip():
                return f"{UNCHANGED}: change the code so the problems go away"
            return syntax(code)

        return TextOutput(name=f"file {path}", check=check, allow_empty=path.endswith("__init__.py"))


class StageAction(Action):
    """An action whose work is a method of the role that owns it."""

    def __init__(self, name: str, method: str):
        super().__init__(name, template="", system_template=None)
        self.method = method

    async def run(self, role: Role, news: list[Message], **variables: Any) -> Message:
        return await getattr(role, self.method)(news)


# --- documents ------------------------------------------------------------------------------
class ProductManager(CompanyRole):
    def __init__(self, workshop: Workshop, **kwargs: Any):
        super().__init__(
            workshop,
            "product_manager",
            "the product manager",
            StageAction("WritePRD", "write_prd"),
            {"UserRequirement"},
            **kwargs,
        )

    async def write_prd(self, news: list[Message]) -> Message:
        ws = self.workshop
        prd: PRD = await self.ask(self.prompt("company/write_prd.j2"), PRD, max_tokens=1000, what="PRD")
        ws.prd = prd
        ws.open_project(ws.options.project_name or prd.project_name)
        quadrant = quadrant_chart(prd)
        document = render("company/docs/prd.md.j2", prd=prd, requirement=ws.requirement, quadrant=quadrant)
        files = {"docs/diagrams/competitive_quadrant.mmd": quadrant}
        return self.publish("prd", document, prd, files, "Write the PRD", "WritePRD")


class Architect(CompanyRole):
    def __init__(self, workshop: Workshop, **kwargs: Any):
        super().__init__(
            workshop,
            "architect",
            "the software architect",
            StageAction("WriteDesign", "write_design"),
            {"WritePRD"},
            **kwargs,
        )

    async def write_design(self, news: list[Message]) -> Message:
        ws = self.workshop
        entry_points = entry_points_in(ws.requirement, ws.prd.entry_points if ws.prd else ())
        design: SystemDesign = await self.ask(
            self.prompt("company/write_design.j2", prd=ws.prd, entry_points=entry_points),
            design_for(entry_points),
            max_tokens=1000,
            what="system design",
        )
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
        return self.publish("design", document, design, files, "Write the system design", "WriteDesign")


class ProjectManager(CompanyRole):
    def __init__(self, workshop: Workshop, **kwargs: Any):
        super().__init__(
            workshop,
            "project_manager",
            "the project manager",
            StageAction("WriteTasks", "write_tasks"),
            {"WriteDesign"},
            **kwargs,
        )

    async def write_tasks(self, news: list[Message]) -> Message:
        ws = self.workshop
        assert ws.design is not None
        schema = task_breakdown_for(ws.design.file_list)
        tasks = await self.ask(self.prompt("company/write_tasks.j2"), schema, max_tokens=800, what="task breakdown")
        kept, dropped = ws.toolchain.filter_requirements(tasks.required_packages)
        tasks.required_packages = kept
        tasks.tasks.sort(key=lambda t: ws.design.file_list.index(t.file))
        ws.tasks = tasks
        dropped_notes = [f"{line} ({why})" for line, why in dropped]
        ws.notes.extend(f"dropped requirement {note}" for note in dropped_notes)
        document = render(
            "company/docs/tasks.md.j2",
            tasks=tasks,
            packages=kept,
            dropped=dropped_notes,
            project_name=ws.folder.root.name,
        )
        files = {ws.toolchain.requirements_file: "".join(f"{p}\n" for p in kept)}
        return self.publish("tasks", document, tasks, files, "Break the design into tasks", "WriteTasks")


# --- code -----------------------------------------------------------------------------------
class Engineer(CompanyRole):
    def __init__(self, workshop: Workshop, **kwargs: Any):
        super().__init__(
            workshop,
            "engineer",
            "the software engineer",
            StageAction(WRITE_CODE, "write_or_fix"),
            {"WriteTasks"},
            **kwargs,
        )

    async def write_or_fix(self, news: list[Message]) -> Message:
        fixes = [m for m in news if m.cause_by == FIX_REQUEST]
        if fixes:
            return await self.fix(fixes[-1].payload)
        return await self.write_all()

    async def write_all(self) -> Message:
        """Write files in waves: each wave holds the files whose dependencies are written."""
        ws = self.workshop
        assert ws.tasks is not None
        pending = {t.file: t for t in ws.tasks.tasks}
        limit = asyncio.Semaphore(ws.options.max_parallel_files)

        async def write(task: FileTask) -> None:
            async with limit:
                await self.write_file(task)

        while pending:
            ready = [t for t in pending.values() if all(d not in pending or d == t.file for d in t.depends_on)]
            ready = ready or list(pending.values())  # a dependency cycle: write the rest together
            await gather_first_error(write(task) for task in ready)
            for task in ready:
                del pending[task.file]
        ws.folder.commit("Write the code", self.name)
        ws.stage("code")
        return Message(f"wrote {len(ws.code)} files", sent_from=self.name, cause_by=WRITE_CODE, payload=sorted(ws.code))

    async def write_file(self, task: FileTask, current: str | None = None, problems: list[str] = ()) -> str | None:
        ws = self.workshop
        try:
            code = await self._write(task, current, list(problems))
        except ModelOutputError as exc:  # QA reports the missing file and it comes back for a fix
            ws.notes.append(f"{task.file} was not written: {exc}")
            return None
        review = ws.options.code_review and current is None and len(code.strip().splitlines()) > 3
        return await self.settle(task, code, review=review)

    async def settle(self, task: FileTask, code: str, review: bool = False) -> str:
        """Keep ``code`` as the file, after one rewrite if the linter finds defects in it, or else
        (with ``review``) after the model's review: a linter's finding is evidence, a review an opinion."""
        ws = self.workshop
        ws.folder.write(task.file, code)
        if findings := ws.toolchain.lint(ws.folder.root, [task.file]).get(task.file):
            code = await self.mend(task, code, findings)
        elif review:
            code = await self.review(task, code)
            ws.folder.write(task.file, code)
        ws.code[task.file] = code
        return code

    async def mend(self, task: FileTask, code: str, findings: list[str]) -> str:
        """One rewrite against the linter's findings, kept only when it has fewer of them."""
        ws = self.workshop
        try:  # one attempt: a model that returns the file unchanged stands by it
            mended = await self._write(task, code, findings, attempts=1)
        except ModelOutputError as exc:
            ws.notes.append(f"lint findings in {task.file} not fixed: {exc}")
            return code
        ws.folder.write(task.file, mended)
        left = ws.toolchain.lint(ws.folder.root, [task.file]).get(task.file, [])
        if len(left) < len(findings):
            return mended
        ws.folder.write(task.file, code)
        ws.notes.append(f"lint findings in {task.file} left: {'; '.join(findings)[:300]}")
        return code

    async def review(self, task: FileTask, code: str) -> str:
        """One review; a rewrite only when the verdict field asks for it and names the issues."""
        messages = self.prompt("company/review_code.j2", file=task.file, description=task.description, code=code)
        try:
            review: Review = await self.ask(messages, Review, max_tokens=300, what=f"review of {task.file}")
            if review.verdict == "rewrite" and review.issues:
                return await self._write(task, code, review.issues)
        except ModelOutputError as exc:
            self.workshop.notes.append(f"review of {task.file} skipped: {exc}")
        return code

    async def _write(
        self, task: FileTask, current: str | None, problems: list[str], attempts: int | None = None
    ) -> str:
        ws = self.workshop
        assert ws.design is not None
        outline = ws.toolchain.outline
        dependencies = [(d, outline(ws.code[d])) for d in task.depends_on if d in ws.code and d != task.file]
        classes = [c for c in ws.design.data_structures if c.file == task.file]
        messages = self.prompt(
            "company/write_code.j2",
            file=task.file,
            description=task.description,
            dependencies=dependencies,
            classes=classes,
            current=current,
            problems=problems,
        )
        output = self.code_output(task.file, current if problems else None)
        return await self.ask(messages, output, max_tokens=1500, what=f"file {task.file}", attempts=attempts)

    async def fix(self, request: dict[str, Any]) -> Message:
        ws = self.workshop
        assert ws.tasks is not None
        by_file = {t.file: t for t in ws.tasks.tasks}
        for path, problems in request["files"].items():
            task = by_file.get(path) or FileTask(file=path, description="", depends_on=[])
            if (code := await self.fixed(task, ws.code.get(path) or None, problems)) is not None:
                await self.settle(task, code)
        ws.folder.commit(f"Fix {', '.join(request['files'])}: {request['reason']}", self.name)
        return Message(
            f"fixed {', '.join(request['files'])}",
            sent_from=self.name,
            cause_by=FIX_CODE,
            payload=sorted(request["files"]),
        )

    async def fixed(self, task: FileTask, current: str | None, problems: list[str]) -> str | None:
        """The file with ``problems`` fixed, or None. A model that keeps returning the current version
        is anchored on it: it then writes the file afresh, shown the problems but not the old code."""
        notes = self.workshop.notes
        try:
            return await self._write(task, current, problems, attempts=SHORT_ATTEMPTS)
        except ModelOutputError as exc:
            if current is None or not exc.last_error.startswith(UNCHANGED):
                notes.append(f"fix of {task.file} failed: {exc}")
                return None
        try:
            fresh = await self._write(task, None, problems, attempts=1)
        except ModelOutputError as exc:
            notes.append(f"fix of {task.file} failed: unchanged twice, and written afresh: {exc}")
            return None
        if fresh.strip() == current.strip():
            notes.append(f"fix of {task.file} failed: unchanged twice, and the same when written afresh")
            return None
        return fresh


# --- tests ----------------------------------------------------------------------------------
class QaEngineer(CompanyRole):
    def __init__(self, workshop: Workshop, **kwargs: Any):
        super().__init__(
            workshop,
            "qa_engineer",
            "the QA engineer",
            StageAction("RunTests", "check"),
            {WRITE_CODE, FIX_CODE},
            **kwargs,
        )
        self.fix_rounds_used = 0
        self.env_ready = False
        self.best: tuple[Any, dict[str, str]] | None = None  # the best report of this test plan, and its code
        self.import_fixed: set[str] = set()  # files sent back once because they did not import
        self.scope: dict[str, Any] = {}  # what the test plan may use and must check (test_scope)

    def fix_request(self, files: dict[str, list[str]], reason: str) -> Message:
        self.fix_rounds_used += 1
        listing = "\n".join(f"{path}: {'; '.join(problems)}" for path, problems in files.items())
        return Message(
            f"please fix ({reason}):\n{listing}",
            sent_from=self.name,
            cause_by=FIX_REQUEST,
            send_to=frozenset({"engineer"}),
            payload={"files": files, "reason": reason},
        )

    @property
    def can_fix(self) -> bool:
        return self.fix_rounds_used < self.workshop.options.fix_rounds

    async def check(self, news: list[Message]) -> Message:
        ws, toolchain = self.workshop, self.workshop.toolchain
        root = ws.folder.root
        if ws.options.run_tests and not self.env_ready:
            env = toolchain.prepare_env(root)
            ws.notes.extend(f"requirement {req} did not install: {why[:200]}" for req, why in env.failed.items())
            self.env_ready = True
        broken = toolchain.import_check(root, list(ws.code))
        broken.update({t.file: ["the file is missing"] for t in ws.tasks.tasks if t.file not in ws.code})
        if self.fall_back([path for path in broken if path in self.import_fixed]):
            broken = toolchain.import_check(root, list(ws.code))
        if broken and self.best is not None:  # a fix broke what imported before: undo it
            self.restore_best(f"the fix broke the import of {', '.join(broken)}")
        elif broken and self.can_fix:
            self.import_fixed.update(broken)
            return self.fix_request(broken, "the code does not import")
        if ws.test_file is None:
            try:
                await self.write_tests()
            except ModelOutputError as exc:
                ws.notes.append(f"no tests: {exc}")
                return self.finish("no usable test plan")
        if not ws.options.run_tests:
            return self.finish("tests written, not run (--no-run-tests)")
        while True:
            report = toolchain.run_tests(root, [ws.test_file])
            ws.test_report = report
            ws.stage(f"tests:{self.fix_rounds_used}")
            if self.best is None or report.passed >= self.best[0].passed:
                self.best = (report, dict(ws.code))
            else:  # a fix that makes passing tests fail is worse than no fix
                report = self.restore_best(f"the fix passed {report.passed} tests, {self.best[0].passed} before")
            if report.failed + report.errors == 0 or not self.can_fix:
                return self.finish(report.summary())
            culprit = await self.triage(report)
            if culprit != ws.test_file:
                return self.fix_request({culprit: self.failure_lines(report)}, "tests fail")
            self.fix_rounds_used += 1
            try:
                await self.rewrite_tests(report)
            except ModelOutputError as exc:
                ws.notes.append(f"tests not corrected: {exc}")
                return self.finish(report.summary())
            self.best = None  # new tests: the counts start again

    def fall_back(self, paths: list[str]) -> bool:
        """Replace files that still do not import after a fix by their language's smallest valid
        content, where it has one (an empty package ``__init__.py``); the import check judges the rest."""
        ws = self.workshop
        done = [(path, text) for path in paths if (text := ws.toolchain.fallback(path)) is not None]
        for path, text in done:
            ws.code[path] = text
            ws.folder.write(path, text)
            ws.notes.append(f"{path} still did not import after its fix; kept as {text!r}, which its language allows")
        if done:
            ws.folder.commit(
                f"Keep {', '.join(p for p, _ in done)} minimal: it did not import after its fix", self.name
            )
        return bool(done)

    def restore_best(self, why: str) -> Any:
        """Put back the code of the best test report so far; returns that report."""
        ws = self.workshop
        report, code = self.best
        for path, text in code.items():
            if ws.code.get(path) != text:
                ws.code[path] = text
                ws.folder.write(path, text)
        ws.test_report = report
        ws.notes.append(f"went back to the code that passed {report.passed} tests: {why}")
        ws.folder.commit(f"Go back to the code that passed {report.passed} tests ({why})", self.name)
        return report

    def failure_lines(self, report: Any, limit: int = 6) -> list[str]:
        """Each failure as what the check expected and what happened, for the model that must act on it."""
        plan = self.workshop.test_plan
        expected = plan.expectations() if plan is not None else {}
        lines = []
        for failure in report.failures[:limit]:
            got = " ".join((failure.message or failure.text or failure.outcome).split())[:300]
            test = failure.name.rsplit("::", 1)[-1]  # the report names tests by path::function
            at = f" (at {failure.where})" if failure.where else ""
            lines.append(f"{expected.get(test, failure.name)}; got: {got}{at}")
        return lines

    def finish(self, summary: str) -> Message:
        return Message(summary, sent_from=self.name, cause_by="RunTests", payload=self.workshop.test_report)

    def test_scope(self) -> dict[str, Any]:
        """What a test plan may import and run, and what it must check, from the code as written."""
        ws, toolchain = self.workshop, self.workshop.toolchain
        programs = toolchain.programs(ws.code)
        provided = toolchain.public_names(ws.code)
        return {
            "modules": [m for m in map(toolchain.module_for, ws.code) if m and "__" not in m],
            "commands": programs,
            "must_check": names_to_check(ws.requirement, {*provided, *programs}),
            "provided": provided,
            "usage": {name: line for name, line in usage_lines(ws.requirement).items() if name in programs},
            "max_checks": ws.options.max_tests,
        }

    async def write_tests(self) -> None:
        ws = self.workshop
        toolchain = ws.toolchain
        ws.test_file = toolchain.test_file_for(ws.prd.project_name if ws.prd else ws.folder.root.name)
        outlines = [(path, toolchain.outline(code)) for path, code in ws.code.items() if code.strip()]
        self.scope = self.test_scope()
        try:
            plan = await self.plan_tests(outlines)
        except ModelOutputError as exc:
            # fewer checks beat none: once more without a group per name the requirement gives
            ws.notes.append(f"test plan narrowed to what the model could write: {' '.join(str(exc).split())[:400]}")
            self.scope = {**self.scope, "must_check": [], "max_checks": min(4, self.scope["max_checks"])}
            plan = await self.plan_tests(outlines)
        self.save_plan(plan, "Write the tests")

    async def plan_tests(self, outlines: list[tuple[str, str]]) -> TestPlan:
        messages = self.prompt("company/write_tests.j2", outlines=outlines, **self.scope)
        schema = test_plan_for(**self.scope)
        return await self.ask(messages, schema, max_tokens=PLAN_TOKENS, what="test plan", attempts=SHORT_ATTEMPTS)

    def save_plan(self, plan: TestPlan, commit_message: str) -> None:
        ws = self.workshop
        ws.test_plan = plan
        ws.folder.write_json(".agentco/test_plan.json", plan.model_dump(mode="json"))
        ws.folder.write(ws.test_file, render("company/code/test_file.py.j2", plan=plan) + "\n")
        ws.folder.commit(commit_message, self.name)

    async def triage(self, report: Any) -> str:
        ws = self.workshop
        if crashed := self.crashed_in_code(report):
            return crashed
        suspects = list(dict.fromkeys(f for failure in report.failures[:6] for f in failure.files if f in ws.code))
        candidates = (suspects or list(ws.code)) + [ws.test_file]
        if len(candidates) == 1:
            return candidates[0]
        messages = self.prompt("company/triage.j2", failures=self.failure_lines(report), test_file=ws.test_file)
        try:
            verdict = await self.ask(messages, triage_for(candidates), max_tokens=250, what="triage")
        except ModelOutputError:
            return candidates[0]  # the file the failures point at first
        return verdict.file_to_fix

    def crashed_in_code(self, report: Any) -> str | None:
        """The source file where a test crashed with an error the requirement never mentions (an
        AttributeError in a constructor, say): a fault of the code, whatever the test expected."""
        mentioned = set(re.findall(r"\w+", self.workshop.requirement))
        for failure in report.failures:
            error = re.match(r"([A-Za-z_][\w.]*): ", failure.message)
            innermost = failure.files[-1] if failure.files else None
            if error and error[1].split(".")[-1] not in mentioned and innermost in self.workshop.code:
                return innermost
        return None

    async def rewrite_tests(self, report: Any) -> None:
        ws = self.workshop
        messages = self.prompt(
            "company/fix_tests.j2",
            failures=self.failure_lines(report),
            plan_json=ws.test_plan.model_dump_json(exclude={"imports"}),
        )
        schema = test_plan_for(**self.scope, previous=ws.test_plan)
        plan = await self.ask(messages, schema, max_tokens=PLAN_TOKENS, what="test plan", attempts=SHORT_ATTEMPTS)
        self.save_plan(plan, "Correct the tests to match the requirement")
