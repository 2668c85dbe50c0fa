"""The model's value checks mended or held to the requirement: a check that expects a result the
requirement never promises of a call whose code returns nothing tests a guess (a failing guess sends
the code back), a check that runs none of the project's code tests nothing, an expected value
written as Python's text inside a JSON list is the list, and a check that only assigns its last
line runs the same code as one without the assignment."""

from __future__ import annotations

from agentco.lang.python import test_plan
from agentco.lang.python.imports import procedures
from agentco.lang.python.plan_repair import drop_broken_checks, drop_contradictions
from agentco.lang.python.stated import hold_values_to_requirement

BANK = (
    "Write `bank.py` with a class `Account(owner: str, balance: float = 0.0)` with `deposit(amount)` and "
    "`withdraw(amount)`. Amounts must be positive (otherwise `ValueError`). `history()` returns a list of "
    "tuples, and `len(account)` is the number of entries."
)

BANK_CODE = """
class Account:
    def deposit(self, amount):
        self._balance += amount

    def withdraw(self, amount):
        if amount > self._balance:
            return
        self._balance -= amount

    def history(self):
        def later():
            return 1
        return list(self._history)

    def entries(self):
        yield from self._history


def transfer(a, b):
    return None
"""
CODE = procedures({"bank.py": BANK_CODE})


def check(name: str, code: list[str], expected: object = None, raises: str = "") -> dict[str, object]:
    return {"name": name, "code": code, "expected": expected, "raises": raises}


def test_a_check_expecting_a_result_of_a_call_the_requirement_gives_none_for_is_dropped():
    schema = test_plan.test_plan_for(["bank"], [], provided={"Account": "bank"})
    plan = schema.model_validate({"value_checks": {"Account": [
        check("deposit_value", ["a = Account('x')", "a.deposit(10)"], 10.0),  # a guess: dropped
        check("deposit_none", ["a = Account('x')", "a.deposit(10)"]),  # None is what it gives
        check("negative", ["a = Account('x')", "a.deposit(-1)"], raises="ValueError"),
        check("balance", ["a = Account('x')", "a.deposit(10)", "a.balance"], 10.0),  # not a call
    ], "more": [
        check("history", ["a = Account('x')", "a.deposit(2)", "a.history()"], [["deposit", 2]]),  # promised
        check("length", ["a = Account('x')", "len(a)"], 0),  # Python's own function
    ]}, "command_checks": []})  # fmt: skip
    notes: list[str] = []

    hold_values_to_requirement(plan, BANK, CODE, notes)

    kept = [c.name for c in plan.checks()]
    assert kept == ["deposit_none", "negative", "balance", "history", "length"]
    assert notes == ["test plan: dropped deposit_value: it expects 10.0 of `deposit(...)`, "
                     "which returns nothing, and the requirement says nothing of what it returns"]  # fmt: skip


def test_a_group_left_without_checks_goes_and_a_requirement_check_always_stays():
    schema = test_plan.test_plan_for(["bank"], [], provided={"Account": "bank"})
    plan = schema.model_validate({"value_checks": {"Account": [
        check("withdraw_value", ["a = Account('x', 5)", "a.withdraw(1)"], 4.0),
    ]}, "command_checks": []})  # fmt: skip
    plan.value_checks["from_requirement"] = [test_plan.ValueCheck(name="req_withdraw", code=["w.withdraw(1)"],
                                                                  expected=4.0, raises="")]  # fmt: skip
    notes: list[str] = []

    hold_values_to_requirement(plan, BANK, CODE, notes)

    assert list(plan.value_checks) == ["from_requirement"]
    assert len(notes) == 1
    # a sentence that says what the call gives keeps its checks
    plan.value_checks["Account"] = [test_plan.ValueCheck(name="w", code=["a.withdraw(1)"], expected=4.0, raises="")]
    hold_values_to_requirement(plan, BANK + " `withdraw(amount)` returns the new balance.", CODE, notes)
    hold_values_to_requirement(plan, BANK, {"deposit"}, notes)  # this code's withdraw returns a value
    assert list(plan.value_checks) == ["from_requirement", "Account"]
    assert list(plan.value_checks) == ["from_requirement", "Account"]


def test_an_expected_list_written_as_its_python_text_inside_a_list_is_the_list():
    text = "['This    is    an', 'example  of text', 'justification.']"
    data = {"value_checks": {"justify": [
        check("listed", ["justify('This is an example of text justification.', 16)"], [text]),
        check("bare_text", ["show([1, 2])"], "[1, 2]"),  # a function may return the text of a list
        check("two_items", ["f()"], ["[1]", "[2]"]),
    ]}, "command_checks": []}  # fmt: skip
    notes: list[str] = []

    drop_broken_checks(data, notes)

    listed, bare, two = data["value_checks"]["justify"]
    assert listed["expected"] == ["This    is    an", "example  of text", "justification."]
    assert bare["expected"] == "[1, 2]" and two["expected"] == ["[1]", "[2]"]
    assert notes == [f"test plan: listed expects the list its expected text wrote, {listed['expected']!r}"]


def test_a_check_assigning_its_last_line_contradicts_one_that_runs_it_bare_with_another_outcome():
    schema = test_plan.test_plan_for(["justify"], [], provided={"justify": "justify"})
    setup = ["text = 'a b'", "width = 15"]
    plan = schema.model_validate({"value_checks": {"justify": [
        check("value", [*setup, "justify(text,width)"], ["a b"]),
        check("error", [*setup, "result = justify(text, width)"], raises="ValueError"),
        check("other", ["justify('a', 1)"], ["a"]),
    ]}, "command_checks": []})  # fmt: skip
    notes: list[str] = []

    drop_contradictions(plan, notes)

    assert [c.name for c in plan.value_checks["justify"]] == ["other"]
    assert notes == ["test plan: dropped value, error: the same code expects different outcomes"]


def test_a_check_that_runs_none_of_the_projects_code_is_dropped_unless_nothing_would_be_left():
    from agentco.lang.python.plan_repair import drop_idle_checks

    schema = test_plan.test_plan_for(["intervals"], [], provided={"merge": "intervals", "free_slots": "intervals"})
    busy = ["busy = [(9, 10), (12, 13)]", "day_start = 8"]
    plan = schema.model_validate({"value_checks": {
        "free_slots": [check("idle", [*busy, "0"], [[8, 9]]), check("slots", [*busy, "free_slots(busy, 8, 17)"], [])],
        "merge": [check("by_module", ["intervals.merge([(1, 2)])"], [[1, 2]])],
    }, "command_checks": []})  # fmt: skip
    notes: list[str] = []

    drop_idle_checks(plan, {"merge", "free_slots", "intervals"}, notes)

    assert [c.name for c in plan.checks()] == ["slots", "by_module"]
    assert notes == ["test plan: dropped idle: it runs none of the project's code"]
    only_idle = schema.model_validate(
        {"value_checks": {"free_slots": [check("idle", [*busy, "0"], [[8, 9]])]}, "command_checks": []}
    )
    drop_idle_checks(only_idle, {"free_slots"}, notes)
    drop_idle_checks(plan, set(), notes)  # what the project defines is not known
    assert [c.name for c in only_idle.checks()] == ["idle"] and len(notes) == 1


def test_the_procedures_are_the_functions_and_methods_whose_code_returns_no_value():
    assert {"deposit", "withdraw", "transfer"} == CODE  # a bare `return` and `return None` give nothing
    assert (
        procedures({"a.py": "def f():\n    pass\n", "b.py": "class B:\n    def f(self):\n        return 1\n"}) == set()
    )
