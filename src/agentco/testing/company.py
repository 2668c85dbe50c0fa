"""A fake model that plays a whole software company for a known small project.

It answers by what is asked (the request's schema name: ``PRD``, ``SystemDesign``, ``file roman.py``...),
never by the prompt's wording, so editing a prompt does not break it.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentco.llm.base import ChatRequest
from agentco.llm.fake import FunctionModel


@dataclass
class ProjectScript:
    project_name: str
    files: dict[str, str]
    tests: dict
    """The QA engineer's test plan (a ``TestPlan`` as JSON data)."""
    packages: list[str] = field(default_factory=list)
    review: Callable[[str], dict] = lambda path: {"issues": [], "verdict": "approve"}
    fixes: dict[str, list[str]] = field(default_factory=dict)
    """Later versions of a file, served in order when the engineer is asked to rewrite it."""

    def answer(self, request: ChatRequest) -> str:
        name = request.schema_name
        if name == "PRD":
            return json.dumps(self.prd())
        if name == "SystemDesign":
            return json.dumps(self.design())
        if name == "TaskBreakdown":
            return json.dumps(self.tasks())
        if name == "Review":
            return json.dumps(self.review(name))
        if name == "Triage":
            candidates = request.json_schema["properties"]["file_to_fix"]["enum"]
            return json.dumps({"reason": "the code is wrong", "file_to_fix": candidates[0]})
        if name == "TestPlan":
            return json.dumps(self.tests)
        if name == "project files":
            return "".join(f"FILE: {path}\n```python\n{code.rstrip()}\n```\n\n" for path, code in self.files.items())
        if name.startswith("file "):
            path = name.removeprefix("file ")
            if self.fixes.get(path) and _is_rewrite(request):
                return self.fixes[path].pop(0)
            return self.files[path]
        raise AssertionError(f"the scripted company has no answer for {name!r}")

    def prd(self) -> dict:
        return {
            "project_name": self.project_name,
            "entry_points": [
                {"kind": "module", "name": path.removesuffix(".py")} for path in self.files if "/" not in path
            ],
            "product_goals": [f"Deliver {self.project_name} exactly as required"],
            "user_stories": ["As a user, I want the described behaviour so that my task is done"],
            "competitive_analysis": [{"name": "Doing it by hand", "strength": "no install", "weakness": "slow"}],
            "competitive_quadrant": [
                {"name": "Doing it by hand", "reach": "low", "engagement": "low"},
                {"name": self.project_name, "reach": "medium", "engagement": "high"},
            ],
            "requirement_analysis": "The requirement is small and fully specified.",
            "requirement_pool": [{"priority": "P0", "requirement": "Implement the requirement as stated"}],
            "ui_design_draft": "",
            "anything_unclear": "",
        }

    def design(self) -> dict:
        return {
            "implementation_approach": "Standard library only; one module per concern.",
            "file_list": list(self.files),
            "data_structures": [
                {"file": path, "name": path.removesuffix(".py").replace("/", "_"), "attributes": [], "methods": []}
                for path in self.files
            ],
            "call_flow": [{"caller": "User", "callee": self.project_name, "message": "call the API"}],
            "api_spec": "",
        }

    def tasks(self) -> dict:
        return {
            "required_packages": self.packages,
            "tasks": [{"file": path, "description": f"implement {path}", "depends_on": []} for path in self.files],
            "shared_knowledge": "Raise ValueError for invalid input.",
        }


def _check(name: str, expression: str, expected: Any = None, raises: str = "", setup: tuple | list = ()) -> dict:
    return {"name": name, "code": [*setup, expression], "expected": expected, "raises": raises}


def _is_rewrite(request: ChatRequest) -> bool:
    """A rewrite of a written file: against problems, shown the current version or (afresh) not."""
    return any("Fix these problems" in m["content"] for m in request.messages if m["role"] == "user")


def company_model(script: ProjectScript, *, delay: float = 0.0, call_log: Path | None = None) -> FunctionModel:
    """The scripted company; ``call_log`` gets one line per call actually made (for kill/resume tests)."""

    def answer(request: ChatRequest) -> str:
        text = script.answer(request)
        if call_log is not None:
            with call_log.open("a", encoding="utf-8") as log:
                log.write(f"{request.schema_name}\n")
        return text

    return FunctionModel(answer, model=script.project_name, delay=delay)


def fake_provider(spec: str) -> FunctionModel:
    """``fake:roman`` or ``fake:roman?delay=0.05`` from the command line: a scripted company.

    ``AGENTCO_FAKE_CALL_LOG`` names a file that records every call made.
    """
    from agentco.testing.analyst import ANALYSES, analysis_model
    from agentco.testing.changes import CHANGES, change_model

    name, _, query = spec.partition("?")
    params = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
    log = os.environ.get("AGENTCO_FAKE_CALL_LOG")
    if name in ANALYSES:
        return analysis_model(name, float(params.get("delay", 0)), log)
    if name in CHANGES:
        return change_model(name, log)
    if name == "scenario" or name.startswith("scenario-"):
        from agentco.testing.scenarios import scenario_model

        return scenario_model(name, float(params.get("delay", 0)))
    script = SCRIPTS.get(name)
    if script is None:
        from agentco.errors import ConfigError

        known = ", ".join(sorted([*SCRIPTS, *ANALYSES, *CHANGES]))
        raise ConfigError(f"no scripted project {name!r} (known: {known})", key="llm.model")
    return company_model(
        copy.deepcopy(script), delay=float(params.get("delay", 0)), call_log=Path(log) if log else None
    )


ROMAN = ProjectScript(
    project_name="roman",
    files={
        "roman.py": '''"""Roman numerals."""

_VALUES = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
           (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]


def to_roman(n: int) -> str:
    if not isinstance(n, int) or not 1 <= n <= 3999:
        raise ValueError(f"out of range: {n!r}")
    out = []
    for value, symbol in _VALUES:
        count, n = divmod(n, value)
        out.append(symbol * count)
    return "".join(out)


def from_roman(s: str) -> int:
    total, i = 0, 0
    for value, symbol in _VALUES:
        while s.startswith(symbol, i):
            total += value
            i += len(symbol)
    if not s or i != len(s) or not 1 <= total <= 3999 or to_roman(total) != s:
        raise ValueError(f"not a canonical numeral: {s!r}")
    return total
''',
    },
    tests={
        "imports": ["from roman import to_roman, from_roman"],
        "value_checks": {
            "to_roman": [
                _check(f"to_roman_{n}", f"to_roman({n})", r)
                for n, r in [(4, "IV"), (1994, "MCMXCIV"), (3999, "MMMCMXCIX")]
            ],
            "from_roman": [_check("from_roman_1994", "from_roman('MCMXCIV')", 1994)],
            "ValueError": [
                *(
                    _check(f"invalid_{i}", f"from_roman({bad!r})", raises="ValueError")
                    for i, bad in enumerate(["IIII", "VX", ""])
                ),
                _check("out_of_range", "to_roman(4000)", raises="ValueError"),
            ],
        },
        "command_checks": [],
    },
)


SCRIPTS = {"roman": ROMAN}


BANK = ProjectScript(
    project_name="bank",
    files={
        "bank.py": '''"""Simple bank accounts with a history of every movement."""


class InsufficientFunds(Exception):
    """A withdrawal or transfer larger than the balance."""


class Account:
    def __init__(self, owner: str, balance: float = 0.0):
        if balance < 0:
            raise ValueError("the opening balance cannot be negative")
        self.owner = owner
        self._balance = balance
        self._history: list[tuple[str, float]] = []

    @property
    def balance(self) -> float:
        return self._balance

    def history(self) -> list[tuple[str, float]]:
        return list(self._history)

    def deposit(self, amount: float) -> None:
        _check_positive(amount)
        self._balance += amount
        self._history.append(("deposit", amount))

    def withdraw(self, amount: float) -> None:
        self._take(amount)
        self._history.append(("withdraw", amount))

    def transfer(self, to: "Account", amount: float) -> None:
        if to is self:
            raise ValueError("cannot transfer to the same account")
        self._take(amount)
        to._balance += amount
        self._history.append(("transfer_out", amount))
        to._history.append(("transfer_in", amount))

    def _take(self, amount: float) -> None:
        _check_positive(amount)
        if amount > self._balance:
            raise InsufficientFunds(f"balance {self._balance} is less than {amount}")
        self._balance -= amount


def _check_positive(amount: float) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int | float) or amount <= 0:
        raise ValueError(f"amount must be positive: {amount!r}")
''',
    },
    tests={
        "imports": ["from bank import Account, InsufficientFunds"],
        "value_checks": {
            "Account": [
                _check(
                    "deposit_and_withdraw",
                    "a.balance",
                    12,
                    setup=["a = Account('ann', 10)", "a.deposit(5)", "a.withdraw(3)"],
                ),
                _check(
                    "history_in_order",
                    "a.history()",
                    [["deposit", 5], ["withdraw", 3]],
                    setup=["a = Account('ann', 10)", "a.deposit(5)", "a.withdraw(3)"],
                ),
                _check(
                    "transfer_both_ways",
                    "(a.balance, b.balance, b.history())",
                    [6, 4, [["transfer_in", 4]]],
                    setup=["a, b = Account('ann', 10), Account('bob')", "a.transfer(b, 4)"],
                ),
                _check("balance_read_only", "Account('ann').balance = 100", raises="AttributeError"),
            ],
            "ValueError": [_check("deposit_must_be_positive", "Account('ann').deposit(-1)", raises="ValueError")],
            "InsufficientFunds": [_check("overdraft", "Account('ann', 1).withdraw(5)", raises="InsufficientFunds")],
        },
        "command_checks": [],
    },
)
SCRIPTS["bank"] = BANK


def _python_design() -> type:
    from agentco.company.schemas import design_for
    from agentco.lang.python import PythonToolchain

    return design_for((), PythonToolchain().path_problem)


PythonDesign = _python_design()
"""The SystemDesign a run in Python validates the architect's answer with (without entry points)."""
