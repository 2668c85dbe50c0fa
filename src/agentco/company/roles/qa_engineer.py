"""The QA engineer: checks that the code imports, writes the tests as a plan, runs them, and sends
failures back to the engineer, or corrects its own tests, until they pass or the fix rounds run out."""

from __future__ import annotations

from typing import Any

from agentco.company.policies import (
    SHORT_ATTEMPTS,
    BestSoFar,
    crashed_in_code,
    failure_lines,
    fall_back,
    narrowed,
)
from agentco.company.roles.base import CompanyRole, Stage
from agentco.company.schemas import triage_for
from agentco.company.stages import FIX_REQUEST, RUN_TESTS
from agentco.core.message import Message
from agentco.errors import ModelOutputError
from agentco.lang.base import TestPlanLike, TestReport, TestScope

PLAN_TOKENS = 1000
"""A test plan of 8 checks takes the 1.5B model about 500 tokens; a plan that runs on past twice that
is repeating itself (1,500 tokens cost 135 s)."""


class RunTests(Stage):
    stage = RUN_TESTS

    async def run(self, role: QaEngineer, news: list[Message], **variables: Any) -> Message:
        """Import, test, triage, fix, keep the best: each pass ends in a fix request or a verdict."""
        ws = role.workshop
        role.prepare_env()
        if request := role.check_imports() or role.check_functions():
            return request
        if ws.test_file is None and not await role.write_tests():
            return role.finish("no usable test plan")
        if not ws.options.run_tests:
            return role.finish("tests written, not run (--no-run-tests)")
        while True:
            report = role.run_tests()
            if report.failed + report.errors == 0 or not role.can_fix:
                return role.finish(report.summary())
            culprit = await role.triage(report)
            if culprit != ws.test_file:
                return role.fix_request({culprit: failure_lines(report, ws.test_plan)}, "tests fail")
            if not await role.correct_tests(report):
                return role.finish(report.summary())


class QaEngineer(CompanyRole):
    role_name = "qa_engineer"
    role_profile = "the QA engineer"
    stages = (RunTests,)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fix_rounds_used = 0
        self.env_ready = False
        self.best = BestSoFar()  # of the current test plan
        self.import_fixed: set[str] = set()  # files sent back once because they did not import
        self.functions_checked = False  # the requirement's functions were looked for (once)
        self.scope: TestScope | None = None  # what the test plan may use and must check

    @property
    def can_fix(self) -> bool:
        return self.fix_rounds_used < self.workshop.options.fix_rounds

    # --- the steps ---------------------------------------------------------------------------
    def prepare_env(self) -> None:
        ws = self.workshop
        if ws.options.run_tests and not self.env_ready:
            env = ws.toolchain.prepare_env(ws.folder.root)
            for requirement, why in env.failed.items():
                ws.note(f"requirement {requirement} did not install: {why[:200]}")
            self.env_ready = True

    def check_imports(self) -> Message | None:
        """Send back the files that do not import (or are missing), once; a file that still does not
        import after its fix falls back, and a fix that broke what imported before is undone."""
        ws, toolchain = self.workshop, self.workshop.toolchain
        broken = toolchain.import_check(ws.folder.root, list(ws.code))
        broken.update({t.file: ["the file is missing"] for t in ws.tasks.tasks if t.file not in ws.code})
        if fall_back(ws, [path for path in broken if path in self.import_fixed], self.name):
            broken = toolchain.import_check(ws.folder.root, list(ws.code))
        if broken and self.best.report is not None:
            self.best.restore(ws, f"the fix broke the import of {', '.join(broken)}", self.name)
        elif broken and self.can_fix:
            self.import_fixed.update(broken)
            return self.fix_request(broken, "the code does not import")
        return None

    def check_functions(self) -> Message | None:
        """Send back, once, the functions the requirement's examples call by bare name that no module
        defines at its top level (the model wrapped them in a class): no test of them could pass."""
        ws = self.workshop
        if self.functions_checked or not self.can_fix:
            return None
        self.functions_checked = True
        missing = ws.toolchain.missing_functions(ws.requirement, ws.code)
        return self.fix_request(missing, "the requirement's functions are missing") if missing else None

    def run_tests(self) -> TestReport:
        """Run the tests and keep the better code: this fix's, or the best so far's."""
        ws = self.workshop
        report = ws.toolchain.run_tests(ws.folder.root, [ws.test_file])
        ws.test_report = report
        ws.stage(f"tests:{self.fix_rounds_used}")
        return self.best.keep(ws, report, self.name)

    async def triage(self, report: TestReport) -> str:
        """The file to change: where the code crashed, else the model's pick of the files the failures
        point at and the test file."""
        ws = self.workshop
        if crashed := crashed_in_code(report, ws.requirement, ws.code):
            return crashed
        suspects = list(dict.fromkeys(f for failure in report.failures[:6] for f in failure.files if f in ws.code))
        candidates = (suspects or list(ws.code)) + [ws.test_file]
        if len(candidates) == 1:
            return candidates[0]
        failures = failure_lines(report, ws.test_plan)
        messages = self.prompt("company/triage.j2", failures=failures, test_file=ws.test_file)
        try:
            verdict = await self.ask(messages, triage_for(candidates), max_tokens=250, what="triage")
        except ModelOutputError:
            return candidates[0]  # the file the failures point at first
        return verdict.file_to_fix

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

    def finish(self, summary: str) -> Message:
        return Message(summary, sent_from=self.name, cause_by=RUN_TESTS, payload=self.workshop.test_report)

    # --- the test plan -----------------------------------------------------------------------
    async def write_tests(self) -> bool:
        """Plan the tests and write the test file; False (with a note) when the model cannot plan them."""
        ws, toolchain = self.workshop, self.workshop.toolchain
        ws.test_file = toolchain.test_file_for(ws.prd.project_name if ws.prd else ws.folder.root.name)
        outlines = [(path, toolchain.outline(code)) for path, code in ws.code.items() if code.strip()]
        self.scope = toolchain.test_scope(ws.requirement, ws.code, ws.options.max_tests)
        try:
            plan = await self.plan_tests(outlines)
        except ModelOutputError as exc:
            ws.note(f"test plan narrowed to what the model could write: {' '.join(str(exc).split())[:400]}")
            self.scope = narrowed(self.scope)
            try:
                plan = await self.plan_tests(outlines)
            except ModelOutputError as exc:
                plan = ws.toolchain.requirement_plan(ws.requirement, self.scope, notes := [])
                if plan is None:
                    ws.note(f"no tests: {exc}")
                    return False
                ws.note(f"the model wrote no usable test plan ({exc}); testing the requirement's own checks alone")
                for note in notes:
                    ws.note(note)
        self.save_plan(plan, "Write the tests")
        return True

    async def plan_tests(self, outlines: list[tuple[str, str]]) -> TestPlanLike:
        assert self.scope is not None
        messages = self.lang_prompt("write_tests.j2", outlines=outlines, **vars(self.scope))
        schema = self.workshop.toolchain.test_plan_schema(self.scope)
        return await self.ask_plan(messages, schema)

    async def ask_plan(self, messages: list[dict[str, str]], schema: Any) -> TestPlanLike:
        """A test plan from the model, mended by the toolchain first; the repairs of the kept one are notes."""
        ws = self.workshop
        plan, notes = await self.ask_mended(
            messages,
            schema,
            lambda into: lambda data: ws.toolchain.repair_test_plan(data, into),
            max_tokens=PLAN_TOKENS,
            what="test plan",
            attempts=SHORT_ATTEMPTS,
            reask_repeats=False,  # a stuck model's next step is the narrower plan, or the requirement's own
        )
        for note in notes:
            ws.note(note)
        return plan

    async def correct_tests(self, report: TestReport) -> bool:
        """Rewrite the test plan against its failures; False (with a note) when the model cannot."""
        ws = self.workshop
        assert self.scope is not None and ws.test_plan is not None
        self.fix_rounds_used += 1
        messages = self.lang_prompt(
            "fix_tests.j2", failures=failure_lines(report, ws.test_plan), plan_json=ws.test_plan.prompt_json()
        )
        schema = ws.toolchain.test_plan_schema(self.scope, previous=ws.test_plan)
        try:
            plan = await self.ask_plan(messages, schema)
        except ModelOutputError as exc:
            ws.note(f"tests not corrected: {exc}")
            return False
        self.save_plan(plan, "Correct the tests to match the requirement")
        self.best.forget()  # new tests: the counts start again
        return True

    def save_plan(self, plan: TestPlanLike, commit_message: str) -> None:
        ws = self.workshop
        assert self.scope is not None
        plan = ws.toolchain.with_requirement_checks(plan, ws.requirement, self.scope, notes := [])
        for note in notes:
            ws.note(note)
        ws.test_plan = plan
        ws.folder.write_json(".agentco/test_plan.json", plan.model_dump(mode="json"))
        ws.folder.write(ws.test_file, ws.toolchain.render_tests(plan) + "\n")
        ws.folder.commit(commit_message, self.name)
