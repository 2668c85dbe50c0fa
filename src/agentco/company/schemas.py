"""What each stage must produce, as pydantic models; their JSON schemas constrain the model."""

from __future__ import annotations

import ast
import builtins
import re
import sys
from collections.abc import Collection, Mapping, Sequence
from collections.abc import Set as AbstractSet
from pathlib import PurePosixPath
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field, JsonValue, WithJsonSchema, create_model, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema


class Competitor(BaseModel):
    name: str = Field(max_length=60)
    strength: str = Field(max_length=600)
    weakness: str = Field(max_length=600)


class QuadrantPoint(BaseModel):
    name: str = Field(max_length=60, description="a competitor, or our product")
    # levels, not numbers: a grammar can enforce an enum but not a numeric range
    reach: Literal["low", "medium", "high"]
    engagement: Literal["low", "medium", "high"]


class PoolItem(BaseModel):
    priority: Literal["P0", "P1", "P2"]
    requirement: str = Field(max_length=800)


class EntryPoint(BaseModel):
    kind: Literal["module", "package", "command"]
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=40)

    def files(self) -> list[list[str]]:
        """Each alternative set of source files that provides this entry point."""
        if self.kind == "module":
            return [[f"{self.name}.py"], [f"{self.name}/__init__.py"]]
        if self.kind == "package":
            return [[f"{self.name}/__init__.py"]]
        return [[f"{self.name}/__init__.py", f"{self.name}/__main__.py"], [f"{self.name}.py"]]

    def describe(self) -> str:
        return {
            "module": f"module {self.name}",
            "package": f"package {self.name}/",
            "command": f"`python -m {self.name}`",
        }[self.kind]


class PRD(BaseModel):
    """The product requirements document."""

    project_name: str = Field(
        pattern=r"^[a-z][a-z0-9_]*$", max_length=40, description="snake_case, e.g. the package name"
    )
    entry_points: list[EntryPoint] = Field(
        max_length=4, description="modules, packages and `python -m` programs the requirement names"
    )
    product_goals: list[str] = Field(min_length=1, max_length=3)
    user_stories: list[str] = Field(min_length=1, max_length=5)
    competitive_analysis: list[Competitor] = Field(min_length=1, max_length=4)
    competitive_quadrant: list[QuadrantPoint] = Field(min_length=2, max_length=5)
    requirement_analysis: str = Field(max_length=3000)
    requirement_pool: list[PoolItem] = Field(min_length=1, max_length=8)
    ui_design_draft: str = Field(
        max_length=2000, description="the user interface (a CLI's commands, pages...); empty if none"
    )
    anything_unclear: str = Field(max_length=1000)


class ClassSpec(BaseModel):
    file: str = Field(description="the file that defines it")
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    attributes: list[str] = Field(max_length=8, description='"name: type"')
    methods: list[str] = Field(max_length=10, description='"name(arg: type) -> type"')


class CallStep(BaseModel):
    caller: str = Field(max_length=40)
    callee: str = Field(max_length=40)
    message: str = Field(max_length=80)


class SystemDesign(BaseModel):
    implementation_approach: str = Field(max_length=3000)
    file_list: list[str] = Field(min_length=1, max_length=10, description="source files relative to the project root")
    data_structures: list[ClassSpec] = Field(max_length=8, description="classes, or modules with their functions")
    call_flow: list[CallStep] = Field(min_length=1, max_length=10)
    api_spec: str = Field(max_length=3000, description="the public API or command-line interface; empty if none")

    @field_validator("file_list")
    @classmethod
    def _source_paths(cls, files: list[str]) -> list[str]:
        problems = [f"{f!r}: {why}" for f in files if (why := path_problem(f))]
        if problems:
            raise ValueError("bad file paths: " + "; ".join(problems))
        if len(set(files)) != len(files):
            raise ValueError("file_list has duplicates")
        packages = {PurePosixPath(f).parts[0] for f in files if len(PurePosixPath(f).parts) > 1}
        clashes = [f for f in files if "/" not in f and f.removesuffix(".py") in packages]
        if clashes:
            raise ValueError(
                f"{clashes[0]} and the package {clashes[0].removesuffix('.py')}/ would have the same "
                "import name; keep only the one the requirement asks for"
            )
        return files


def entry_points_in(requirement: str, listed: Sequence[EntryPoint] = ()) -> list[EntryPoint]:
    """``listed`` (the PRD's) and the entry points the user's own words name: `python -m NAME`,
    `NAME.py`, a package folder `NAME/` (a small model leaves the PRD's list empty)."""
    found = [*listed]
    found += [EntryPoint(kind="command", name=m) for m in re.findall(r"python3? -m ([A-Za-z_]\w*)", requirement)]
    found += [EntryPoint(kind="module", name=m) for m in re.findall(r"`([A-Za-z_]\w*)\.py`", requirement)]
    found += [EntryPoint(kind="package", name=m) for m in re.findall(r"`([A-Za-z_]\w*)/`", requirement)]
    return list({(e.kind, e.name): e for e in found}.values())


def usage_lines(requirement: str) -> dict[str, str]:
    """How the requirement writes each program's command line, by program: the first quoted
    `python -m NAME ...` of each NAME, e.g. {"kvstore": "python -m kvstore --db FILE COMMAND ..."}."""
    found: dict[str, str] = {}
    for match in re.finditer(r"`(python3? -m ([A-Za-z_]\w*)[^`\n]*)`", requirement):
        found.setdefault(match[2], " ".join(match[1].split()))
    return found


def required_options(usage: str) -> list[str]:
    """The options a usage line shows outside [optional] brackets: ``--db`` in ``python -m kv --db FILE CMD``."""
    after_program = re.sub(r"^python3? -m \S+", "", usage)
    return re.findall(r"(?<!\S)(--?[A-Za-z][\w-]*)", re.sub(r"\[[^\]]*\]", "", after_program))


def design_for(entry_points: Sequence[EntryPoint]) -> type[SystemDesign]:
    """A SystemDesign that must provide these entry points."""

    class Design(SystemDesign):
        @model_validator(mode="after")
        def _provides_entry_points(self) -> Design:
            files = set(self.file_list)
            for entry in entry_points:
                options = entry.files()
                if not any(set(option) <= files for option in options):
                    needed = " and ".join(options[0])
                    raise ValueError(f"the requirement uses {entry.describe()}: the file list needs {needed}")
            return self

    Design.__name__ = "SystemDesign"
    return Design


def path_problem(path: str) -> str | None:
    p = PurePosixPath(path)
    if p.is_absolute() or ".." in p.parts or not path.strip():
        return "must be a relative path inside the project"
    if not re.fullmatch(r"[A-Za-z0-9_./-]+", path):
        return "use letters, digits, _ - . and / only"
    if p.parts[0] in {"tests", "test", "docs"}:
        return "tests and docs are written by other roles; list source files only"
    if p.suffix != ".py":
        return "list Python source files (.py) only"
    if p.parts[0].removesuffix(".py") in sys.stdlib_module_names:
        return f"it would hide Python's own {p.parts[0].removesuffix('.py')} module; choose another name"
    return None


class FileTask(BaseModel):
    file: str
    description: str = Field(max_length=1500, description="what this file must contain")
    depends_on: list[str] = Field(max_length=8, description="project files this one imports")


class TaskBreakdown(BaseModel):
    required_packages: list[str] = Field(max_length=10, description="third-party PyPI packages only; [] if none")
    tasks: list[FileTask] = Field(min_length=1)
    shared_knowledge: str = Field(max_length=2000, description="conventions every engineer must follow")


def task_breakdown_for(files: list[str]) -> type[TaskBreakdown]:
    """A TaskBreakdown whose file names are limited to the design's files, one task per file."""
    names = tuple(files)
    task = create_model(
        "FileTask",
        __base__=FileTask,
        file=(Literal[names], ...),
        depends_on=(list[Literal[names]], Field(max_length=8)),
    )

    class Breakdown(TaskBreakdown):
        tasks: list[task] = Field(min_length=len(names), max_length=len(names))  # type: ignore[valid-type]

        @model_validator(mode="after")
        def _one_task_per_file(self) -> Breakdown:
            missing = [f for f in names if f not in {t.file for t in self.tasks}]
            if missing:
                raise ValueError(f"every file needs exactly one task; missing: {', '.join(missing)}")
            return self

    Breakdown.__name__ = "TaskBreakdown"
    return Breakdown


class Review(BaseModel):
    issues: list[str] = Field(max_length=5, description="concrete defects; [] when there are none")
    verdict: Literal["approve", "rewrite"]


def triage_for(files: list[str]) -> type[BaseModel]:
    """Which file to change to make a failing test pass: a source file or the test itself."""
    return create_model(
        "Triage",
        reason=(str, Field(max_length=1000)),
        file_to_fix=(Literal[tuple(files)], ...),
    )


# --- QA: tests as data, rendered into a pytest file by agentco ---------------------------------
Code = Annotated[str, Field(max_length=120)]
"""A statement, expression or argument: short, which also keeps a small model from running away
(the bound is in the grammar: the 1.5B model wrote lines like "n = 5000000..." up to the bound)."""


_SCALARS = [{"type": "string", "maxLength": 200}, {"type": "number"}, {"type": "boolean"}, {"type": "null"}]
_NESTED = {"anyOf": [*_SCALARS, {"type": "array", "maxItems": 20, "items": {"anyOf": _SCALARS}}]}
Expected = Annotated[
    JsonValue,
    # spelled out, with bounds, so a grammar allows every kind of value but not a runaway string
    WithJsonSchema(
        {
            "anyOf": [
                *_SCALARS,
                {"type": "array", "maxItems": 20, "items": _NESTED},
                {"type": "object", "additionalProperties": _NESTED},
            ]
        }
    ),
]


class ValueCheck(BaseModel):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=50, description="snake_case test name")
    # one list, run in order: a small model writes the object it needs before using it far more
    # reliably than it fills a separate setup field
    code: list[Code] = Field(
        min_length=1,
        max_length=7,
        description="Python lines run in order; the last is the expression under test, "
        'e.g. ["acct = Account(\'ann\', 10)", "acct.deposit(5)", "acct.balance"]',
    )
    # a JSON value, not Python source: a small model writes "IV" for the string IV, never "'IV'"
    expected: Expected = Field(description='the exact expected value as JSON, e.g. 6, "IV", true, [1, 2]')
    raises: str = Field(
        max_length=60, description='exception class the last line must raise, e.g. "ValueError"; "" when it returns'
    )

    @property
    def setup(self) -> list[str]:
        return self.code[:-1]

    @property
    def expression(self) -> str:
        return self.code[-1]

    @property
    def asserts(self) -> bool:
        """Whether the last line is an ``assert`` (a small model often ends a check with one)."""
        try:
            return isinstance(ast.parse(self.expression).body[0], ast.Assert)
        except (SyntaxError, IndexError):
            return False

    @model_validator(mode="after")
    def _valid_python(self) -> ValueCheck:
        # the lines before the last run as one block, so a model may write a `with` or `for` over lines
        problems = _problem("\n".join(self.setup), "exec", f"{self.name}: the code before the last line")
        what = f"{self.name}: the last code line"
        if not (problems := problems + _problem(self.expression, "exec", what)):
            last = ast.parse(self.expression).body
            # a check that must raise may end in a statement (setting a read-only property), and an
            # assert is a check by itself; otherwise the last line is the value to compare
            if not self.raises.strip() and not self.asserts and not (len(last) == 1 and isinstance(last[0], ast.Expr)):
                problems.append(f"{what} is a statement, {self.expression!r}; end with the expression whose "
                                "value is checked, e.g. a call or an attribute")  # fmt: skip
        if not problems and any(isinstance(node, ast.Raise) for node in self._nodes()):
            problems.append(f"{self.name}: a check must not raise by itself; call the project code that raises")
        if self.raises.strip() in {"None", "null", "none", "NoneType"}:
            problems.append(f'{self.name}: raises "{self.raises}" is not an exception; use "" when it returns a value')
        elif self.raises.strip() and not re.fullmatch(r"[A-Za-z_][\w.]*", self.raises.strip()):
            problems.append(f"{self.name}: raises must be an exception class name")
        _report(problems)
        return self

    def used_names(self) -> set[str]:
        """What the check calls, reads and expects to be raised."""
        names = set(self.raises.strip().split(".")) - {""}
        names |= {n.id for n in self._nodes() if isinstance(n, ast.Name)}
        return names | {n.attr for n in self._nodes() if isinstance(n, ast.Attribute)}

    def _nodes(self) -> list[ast.AST]:
        trees = [ast.parse("\n".join(self.setup)), ast.parse(self.expression)]
        return [node for tree in trees for node in ast.walk(tree)]

    def undefined_names(self, known: AbstractSet[str]) -> list[str]:
        """Names the check reads that neither ``known`` nor its own earlier lines define."""
        nodes = self._nodes()
        defined = known | {n.id for n in nodes if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
        defined |= {n.arg for n in nodes if isinstance(n, ast.arg)}
        imports = [n for n in nodes if isinstance(n, ast.Import | ast.ImportFrom)]
        defined |= {alias.asname or alias.name.split(".")[0] for n in imports for alias in n.names}
        read = [n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
        if self.raises.strip():
            read.append(self.raises.strip().split(".")[0])
        return list(dict.fromkeys(name for name in read if name not in defined))


class InputFile(BaseModel):
    name: str = Field(
        pattern=r"^[A-Za-z0-9_.-]+$", max_length=40, description="file name inside the test's temporary folder"
    )
    content: str = Field(max_length=1500)


class CommandStep(BaseModel):
    args: list[Code] = Field(
        min_length=1,
        max_length=10,
        description='arguments after "python", e.g. ["-m", "tool", "{tmp}/data.csv"]; {tmp} is the temporary folder',
    )
    exit_code: int = Field(ge=0, le=255)
    stdout: str = Field(max_length=1000, description="the exact expected output (stripped)")
    check_stdout: bool = Field(description="false when the output does not matter")

    @field_validator("args")
    @classmethod
    def _after_python(cls, args: list[str]) -> list[str]:
        if args[0] in {"python", "python3", "py"}:
            raise ValueError(f'args are what follows "python": drop the leading "{args[0]}"')
        return args


class CommandCheck(BaseModel):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=50)
    files: list[InputFile] = Field(max_length=3, description="input files created first")
    steps: list[CommandStep] = Field(min_length=1, max_length=6)


class TestPlan(BaseModel):
    """What QA will check; agentco turns it into a pytest file."""

    __test__ = False
    imports: list[str] = Field(max_length=4, description='e.g. "from shapes import area"; [] for command-line tools')
    # a bound per group reaches the grammar: a 1.5B model wrote 25 checks of one function and ran out of tokens
    value_checks: dict[str, Annotated[list[ValueCheck], Field(max_length=4)]] = Field(
        max_length=8, description="checks grouped by the function, class or exception they exercise"
    )
    command_checks: list[CommandCheck] = Field(max_length=5)
    writes_imports: ClassVar[bool] = True  # False: agentco imports the names the checks use

    @model_validator(mode="after")
    def _usable(self) -> TestPlan:
        self.complete()
        _report(self.problems())
        return self

    def complete(self) -> None:
        """Fill in what agentco, not the model, writes (subclasses)."""

    def problems(self) -> list[str]:
        """What makes the plan unusable, all at once (subclasses add what their project needs)."""
        known, problems = set(_BUILTINS), []
        for line in self.imports:
            tree = _parse(line, "exec", "imports")
            if not all(isinstance(node, ast.Import | ast.ImportFrom) for node in tree.body):
                raise ValueError(f"imports may only hold import statements: {line!r}")
            for node in tree.body:
                for alias in node.names:
                    known.add(alias.asname or alias.name.split(".")[0])
                    if isinstance(node, ast.ImportFrom) and hasattr(builtins, alias.name):
                        problems.append(f"imports: {alias.name} is built into Python; do not import it")
        if not self.checks() and not self.command_checks:
            problems.append("write at least one check")
        if "*" not in known:
            for check in self.checks():
                for name in check.undefined_names(known):
                    fix = "import it in imports, or" if self.writes_imports else "the project has no such name;"
                    problems.append(f'{check.name}: {name} is not defined; {fix} assign it in an earlier line '
                                    f'of its code, e.g. "{name} = ..."')  # fmt: skip
        return problems

    def checks(self) -> list[ValueCheck]:
        """The value checks in order, as the test file holds them."""
        return [check for group in self.value_checks.values() for check in group]

    def expectations(self) -> dict[str, str]:
        """Each generated test function's name (as the test template names it) → what it expects."""
        out = {}
        for i, check in enumerate(self.checks(), 1):
            wants = f"raise {check.raises}" if check.raises.strip() else f"give {check.expected!r}"
            out[f"test_{check.name}_{i}"] = f"`{'; '.join(check.code)}` should {'hold' if check.asserts else wants}"
        for i, command in enumerate(self.command_checks, 1):
            steps = [f"`python {' '.join(s.args)}` should exit {s.exit_code}"
                     + (f" and print {s.stdout.strip()!r}" if s.check_stdout else "") for s in command.steps]  # fmt: skip
            out[f"test_{command.name}_cli_{i}"] = "; ".join(steps)
        return out

    def checked_names(self) -> set[str]:
        """The names the checks use: what they call and read, the exceptions they expect, the programs they run."""
        names = set()
        for check in self.checks():
            names |= check.used_names()
        for command in self.command_checks:
            for step in command.steps:
                args = step.args
                names.add(args[1] if args[0] == "-m" and len(args) > 1 else args[0].removesuffix(".py"))
        return names

    def imported_modules(self) -> list[str]:
        modules = []
        for line in self.imports:
            for node in ast.parse(line).body:
                if isinstance(node, ast.ImportFrom):
                    modules.append("." * node.level + (node.module or ""))
                else:
                    modules.extend(alias.name for alias in node.names)  # type: ignore[attr-defined]
        return modules


def test_plan_for(
    modules: Collection[str],
    commands: Collection[str],
    previous: TestPlan | None = None,
    must_check: Sequence[str] = (),
    max_checks: int = 8,
    provided: Mapping[str, str] | None = None,
    usage: Mapping[str, str] | None = None,
) -> type[TestPlan]:
    """A TestPlan that fits this project: it imports project (or standard) modules, runs only the
    modules that can run as programs (none: no command checks), has a group of value checks for
    each function, class and exception in ``must_check`` and a command check for each program in
    it, and, when it corrects ``previous``, differs from it. The groups are properties of the schema,
    so even a small model under a grammar cannot spend every check on the first function.

    With ``provided`` (the project's names → the module defining each) the model writes no imports:
    the plan imports each name its checks use from where it is defined, and standard modules by name.
    With ``usage`` (program → its usage line in the requirement) every run passes the options the line requires."""
    runnable = sorted(commands)
    needs = {name: required_options(line) for name, line in (usage or {}).items() if name in runnable}
    hint = ", ".join(f"-m {name}" for name in runnable)
    groups = [name for name in must_check if name not in runnable]
    programs = [name for name in must_check if name in runnable]

    class Plan(TestPlan):
        writes_imports = provided is None

        def complete(self) -> None:
            if provided is not None:  # the imports are agentco's, not the model's
                self.imports = imports_for(self.checks(), provided)

        def problems(self) -> list[str]:
            problems = super().problems()
            if missing := [name for name in groups if not self.value_checks.get(name)]:
                problems.append(f"value_checks needs a group of checks for each of: {', '.join(missing)}")
            for name, checks in self.value_checks.items():
                for check in checks:
                    if name in _ERRORS and check.raises.strip() != name:
                        problems.append(f'{check.name}: a check in the group {name} must have raises "{name}"')
                    if name in must_check and name not in check.used_names():
                        problems.append(f"{check.name}: a check in the group {name} must use {name}")
            if missing := [name for name in programs if name not in self.checked_names()]:
                problems.append(f"command_checks must run {', '.join(f'-m {name}' for name in missing)}")
            for module in self.imported_modules():
                top = module.split(".")[0]
                if module not in modules and top not in sys.stdlib_module_names:
                    problems.append(f"imports: there is no module {module!r}; the project has {', '.join(modules)}")
            for check in self.command_checks:
                for step in check.steps:
                    args = step.args
                    target = args[1] if args[0] == "-m" and len(args) > 1 else args[0].removesuffix(".py")
                    if target.replace("/", ".") not in runnable:
                        problems.append(f"{check.name}: {' '.join(args[:2])!r} is not a program of this project; "
                                        f"it has: {hint}")  # fmt: skip
                    elif missing := [option for option in needs.get(target, ()) if option not in args]:
                        problems.append(f"{check.name}: every run of -m {target} needs {' and '.join(missing)}, as "
                                        f"the requirement writes it: `{usage[target]}`; e.g. "
                                        f'["-m", "{target}", "{missing[0]}", "{{tmp}}/..."]')  # fmt: skip
            if previous is not None and self.model_dump() == previous.model_dump():
                problems.append("the corrected plan is identical to the current one: change or drop the failing checks")
            return problems

    fields: dict[str, Any] = {}
    if provided is not None:
        fields["imports"] = (SkipJsonSchema[list[str]], Field(default_factory=list))
    if groups:
        per_group = max(2, -(-max_checks // len(groups)))
        check_schema = ValueCheck.model_json_schema()
        group = {"type": "array", "items": check_schema, "minItems": 1, "maxItems": per_group}
        schema = {
            "type": "object",
            "description": "a group of checks for each name, in this order",
            "properties": {name: group for name in groups},
            "required": groups,
            "additionalProperties": False,
        }
        fields["value_checks"] = (Annotated[dict[str, list[ValueCheck]], WithJsonSchema(schema)], ...)
    elif programs:  # the requirement describes only its command line: the checks run it, not its insides
        only_cli = {"type": "object", "properties": {}, "additionalProperties": False,
                    "description": "{}: the requirement describes only the command line"}  # fmt: skip
        fields["value_checks"] = (Annotated[dict[str, list[ValueCheck]], WithJsonSchema(only_cli)], Field(max_length=0))
    if not runnable:
        no_cli = "[]: the project has no command-line program"
        fields["command_checks"] = (list[CommandCheck], Field(max_length=0, description=no_cli))
    elif programs:
        fields["command_checks"] = (list[CommandCheck], Field(min_length=1, max_length=5))
    return create_model("TestPlan", __base__=Plan, **fields)


_BUILTINS = frozenset(dir(builtins))
_ERRORS = {
    name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)
} - {"BaseException", "Exception"}


def imports_for(checks: Sequence[ValueCheck], provided: Mapping[str, str]) -> list[str]:
    """The import statements for the names ``checks`` use: the project's from the module that
    defines each (``provided``: name → module), standard modules by their own name."""
    wanted: dict[str, list[str]] = {}
    for check in checks:
        for name in check.undefined_names(_BUILTINS):
            if name in provided:
                wanted.setdefault(provided[name], []).append(name)
            elif name in sys.stdlib_module_names:
                wanted.setdefault(name, [])
    return [f"from {module} import {', '.join(dict.fromkeys(names))}" if names else f"import {module}"
            for module, names in wanted.items()]  # fmt: skip


def names_to_check(requirement: str, defined: Collection[str]) -> list[str]:
    """What the requirement names that a test plan must exercise: the project's own functions,
    classes and programs (``defined``) in the order the requirement names them, then Python's exceptions."""
    words = list(dict.fromkeys(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", requirement)))
    return [w for w in words if w in defined] + [w for w in words if w in _ERRORS and w not in defined]


def _parse(source: str, mode: str, what: str) -> ast.AST:
    try:
        return ast.parse(source, mode=mode)
    except SyntaxError as exc:
        raise ValueError(f"{what} is not valid Python: {exc.msg}: {source!r}") from None


def _problem(source: str, mode: str, what: str) -> list[str]:
    try:
        _parse(source, mode, what)
    except ValueError as exc:
        return [str(exc)]
    return []


def _report(problems: list[str]) -> None:
    """Every problem at once, so one correction can fix them all."""
    if problems:
        raise ValueError("\n".join(dict.fromkeys(problems)))
