"""The test-plan language: QA's tests as data (value checks and command checks), validated against
the project, which agentco renders into a pytest file (``test_file.py.j2``)."""

from __future__ import annotations

import ast
import builtins
import re
import sys
from collections.abc import Collection, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, Field, JsonValue, WithJsonSchema, create_model, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from agentco.lang.python.entry_points import required_options

Code = Annotated[str, Field(max_length=120)]
"""A statement, expression or argument: short, which also keeps a small model from running away
(the bound is in the grammar: the 1.5B model wrote lines like "n = 5000000..." up to the bound)."""
PYTHON_COMMANDS = frozenset({"python", "python3", "py"})
"""What a command check's args must not start with: they are what follows ``python``."""


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
        'e.g. ["s = Stack()", "s.push(3)", "s.peek()"]',
    )
    # a JSON value, not Python source: a small model writes "IV" for the string IV, never "'IV'"
    expected: Expected = Field(description='the exact expected value as JSON, e.g. 6, "small", true, [1, 2]')
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
        elif not problems and self.raises.strip() and _only_binds_literals(self.code):
            problems.append(f"{self.name}: it only assigns values, which never raise {self.raises.strip()}; "
                            "call the project code that raises it")  # fmt: skip
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
        description='arguments after "python", e.g. ["-m", "tool", "{tmp}/input.txt"]; {tmp} is the temporary folder',
    )
    exit_code: int = Field(ge=0, le=255)
    stdout: str = Field(max_length=1000, description="the exact expected output (stripped)")
    check_stdout: bool = Field(description="false when the output does not matter")
    # set by agentco from the requirement's sentences (stated.py), never by the model
    stderr: SkipJsonSchema[bool] = False  # a message on stderr
    no_traceback: SkipJsonSchema[bool] = False  # ... that is not a traceback

    @field_validator("args")
    @classmethod
    def _after_python(cls, args: list[str]) -> list[str]:
        if args[0] in PYTHON_COMMANDS:
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
    # and at least one: under the grammar a 1.5B model otherwise answered a group for each name, each empty
    value_checks: dict[str, Annotated[list[ValueCheck], Field(min_length=1, max_length=4)]] = Field(
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

    def prompt_json(self) -> str:
        """The plan as the model that corrects it reads it: JSON, without its imports."""
        hidden = {"__all__": {"steps": {"__all__": {"stderr", "no_traceback"}}}}
        return self.model_dump_json(exclude={"imports": True, "command_checks": hidden})

    def expectations(self) -> dict[str, str]:
        """Each generated test function's name (as the test template names it) → what it expects."""
        out = {}
        for i, check in enumerate(self.checks(), 1):
            wants = f"raise {check.raises}" if check.raises.strip() else f"give {check.expected!r}"
            out[f"test_{check.name}_{i}"] = f"`{'; '.join(check.code)}` should {'hold' if check.asserts else wants}"
        for i, command in enumerate(self.command_checks, 1):
            steps = [f"`python {' '.join(s.args)}` should exit {s.exit_code}"
                     + (f" and print {s.stdout.strip()!r}" if s.check_stdout else "")
                     + (" with a message on stderr" if s.stderr else "")
                     + (" that is not a traceback" if s.no_traceback else "") for s in command.steps]  # fmt: skip
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
                    elif missing := [o for o in needs.get(target, ()) if not any(_passes(a, o) for a in args)]:
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
    defines each (``provided``: name → module), standard and project modules by their own name."""
    wanted: dict[tuple[str, bool], list[str]] = {}  # (module, whole?) in the order first used
    modules = {module.split(".")[0] for module in provided.values()}
    for check in checks:
        for name in check.undefined_names(_BUILTINS):
            if name in provided:
                wanted.setdefault((provided[name], False), []).append(name)
            elif name in sys.stdlib_module_names or name in modules:  # `intervals.merge(...)`, also beside
                wanted.setdefault((name, True), [])  # `from intervals import ...`
    return [f"import {module}" if whole else f"from {module} import {', '.join(dict.fromkeys(names))}"
            for (module, whole), names in wanted.items()]  # fmt: skip


def names_to_check(requirement: str, defined: Collection[str]) -> list[str]:
    """What the requirement names that a test plan must exercise: the project's own functions,
    classes and programs (``defined``) in the order the requirement names them, then Python's exceptions."""
    words = list(dict.fromkeys(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", requirement)))
    return [w for w in words if w in defined] + [w for w in words if w in _ERRORS and w not in defined]


def _passes(arg: str, option: str) -> bool:
    """Whether a command-line argument is ``option``, as ``--db`` or ``--db=FILE``."""
    return arg == option or arg.startswith(f"{option}=")


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


def _only_binds_literals(code: list[str]) -> bool:
    """``s = '1.2'`` and nothing else: code that cannot raise (semver on 86d71b7 expected ValueError of such checks)."""
    try:
        statements = ast.parse("\n".join(code)).body
        for statement in statements:
            if not isinstance(statement, ast.Assign):
                return False
            ast.literal_eval(statement.value)  # raises unless the value is a literal
    except (SyntaxError, ValueError, TypeError, RecursionError):
        return False
    return bool(statements)


def _report(problems: list[str]) -> None:
    """Every problem at once, so one correction can fix them all."""
    if problems:
        raise ValueError("\n".join(dict.fromkeys(problems)))
