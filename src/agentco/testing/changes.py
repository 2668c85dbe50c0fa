"""Fake models that play the team of a change to an existing project (``fake:calc_mul`` ...), and
the small plain project they change (``CALC``: a module and its own pytest tests).

Like the scripted company, each answers by what is asked (the schema name: ``ChangePrd``,
``ChangeDesign``, ``ChangeTasks``, ``edit calc.py``, ``TestPlan``), never by the prompt's wording.
A file's edits are served in order, the last repeated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from agentco.llm.base import ChatRequest

CALC = {
    "calc.py": '"""A tiny calculator."""\n\n\ndef add(a, b):\n    """Return a + b."""\n    return a + b\n\n\n'
    'def sub(a, b):\n    """Return a - b."""\n    return a - b\n',
    "tests/test_calc.py": "from calc import add, sub\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
    "def test_sub():\n    assert sub(5, 3) == 2\n",
}
"""A plain Python project agentco did not make, with its own tests."""

CALC_CLI = {
    **CALC,
    "cli.py": '"""calc from the command line."""\n\nimport argparse\n\nfrom calc import add\n\n\n'
    "def main(argv=None):\n    parser = argparse.ArgumentParser()\n"
    '    parser.add_argument("a", type=int)\n    parser.add_argument("b", type=int)\n'
    "    args = parser.parse_args(argv)\n    print(add(args.a, args.b))\n",
}
"""The same project with a command line (``cli.py`` parses it)."""


@dataclass
class ChangeScript:
    files: dict[str, str]
    """Each file the change touches, with why (the design)."""
    edits: dict[str, list[str]]
    tests: dict
    summary: str = "the change"
    served: dict[str, int] = field(default_factory=dict)

    def answer(self, request: ChatRequest) -> str:
        name = request.schema_name
        if name == "ChangePrd":
            return json.dumps({"summary": self.summary, "changes": [self.summary], "keep": ["the rest"]})
        if name == "ChangeDesign":
            return json.dumps({"files": [{"path": p, "action": "modify", "why": why} for p, why in self.files.items()]})
        if name == "ChangeTasks":
            return json.dumps({"tasks": [{"file": p, "description": why} for p, why in self.files.items()]})
        if name == "TestPlan":
            return json.dumps(self.tests)
        if name.startswith("edit "):
            path = name.removeprefix("edit ")
            n = self.served.get(path, 0)
            self.served[path] = n + 1
            versions = self.edits[path]
            return "```python\n" + versions[min(n, len(versions) - 1)] + "```\n"
        raise AssertionError(f"the scripted change has no answer for {name!r}")


def _check(name: str, expression: str, expected: object = None, raises: str = "") -> dict:
    return {"name": name, "code": [expression], "expected": expected, "raises": raises}


CHANGES = {
    "calc_mul": ChangeScript(
        files={"calc.py": "add mul(a, b)"},
        edits={"calc.py": ['def mul(a, b):\n    """Return a * b."""\n    return a * b\n']},
        tests={"value_checks": {"mul": [_check("mul_2_3", "mul(2, 3)", 6)]}, "command_checks": []},
        summary="Add mul(a, b), the product of a and b",
    ),
    "calc_two": ChangeScript(
        files={"calc.py": "add mul(a, b)"},  # the task names one of the two functions the request asks for
        edits={"calc.py": ["def mul(a, b):\n    return a * b\n", "def div(a, b):\n    return a / b\n"]},
        tests={
            "value_checks": {"mul": [_check("mul_2_3", "mul(2, 3)", 6)], "div": [_check("div_6_3", "div(6, 3)", 2)]},
            "command_checks": [],
        },  # fmt: skip
        summary="Add mul and div",
    ),
    "calc_option": ChangeScript(
        files={"calc.py": "add mul(a, b)"},  # the design leaves out the file that parses the command line
        edits={
            "calc.py": ["def mul(a, b):\n    return a * b\n"],
            "cli.py": [
                "from calc import add, mul\n\n\ndef main(argv=None):\n    parser = argparse.ArgumentParser()\n"
                '    parser.add_argument("a", type=int)\n    parser.add_argument("b", type=int)\n'
                '    parser.add_argument("--mul", action="store_true")\n    args = parser.parse_args(argv)\n'
                "    print((mul if args.mul else add)(args.a, args.b))\n"
            ],
        },
        tests={"value_checks": {"mul": [_check("mul_2_3", "mul(2, 3)", 6)]}, "command_checks": []},
        summary="Add mul and a --mul option",
    ),
    "calc_break": ChangeScript(
        files={"calc.py": "make add accept strings of digits"},
        # every version breaks the old add; each differs, so each is run
        edits={"calc.py": [f"def add(a, b):\n    return int(a) {op} int(b)\n" for op in ("-", "*", "//")]},
        tests={"value_checks": {"add": [_check("add_strings", "add('2', '3')", 5)]}, "command_checks": []},
        summary="add accepts strings of digits",
    ),
    "calc_import_break": ChangeScript(
        files={"calc.py": "add a LIMIT constant"},
        # each version parses but stops calc from importing (as a dataclass field order does)
        edits={"calc.py": [f"LIMIT = missing_{n}\n" for n in "abc"]},
        tests={"value_checks": {"add": [_check("add_2_3", "add(2, 3)", 5)]}, "command_checks": []},
        summary="add a LIMIT constant",
    ),
    "calc_qa": ChangeScript(
        files={},
        edits={},
        tests={
            "value_checks": {"add": [_check("add_2_3", "add(2, 3)", 5)], "sub": [_check("sub_5_3", "sub(5, 3)", 2)]},
            "command_checks": [],
        },
    ),
    "roman_lower": ChangeScript(
        files={"roman.py": "add to_roman_lower(n)"},
        edits={
            "roman.py": [
                'def to_roman_lower(n: int) -> str:\n    """The numeral in lower case."""\n'
                "    return to_roman(n).lower()\n"
            ]
        },  # fmt: skip
        tests={
            "value_checks": {"to_roman_lower": [_check("lower_1994", "to_roman_lower(1994)", "mcmxciv")]},
            "command_checks": [],
        },  # fmt: skip
        summary="Add to_roman_lower(n), the numeral in lower case",
    ),
}


def change_model(name: str, call_log: str | None = None):  # noqa: ANN201
    import copy

    from agentco.llm.fake import FunctionModel

    script = copy.deepcopy(CHANGES[name])

    def answer(request: ChatRequest) -> str:
        text = script.answer(request)
        if call_log:
            with open(call_log, "a", encoding="utf-8") as log:
                log.write(f"{request.schema_name}\n")
        return text

    return FunctionModel(answer, model=name)
