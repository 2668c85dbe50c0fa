"""Cross-checking measured: arithmetic word problems generated with their answers computed, each
answered by the ``cross-check`` scenario (two independent solvers and a critic, revising until the
critic accepts) and by one solver alone; accuracy, calls and tokens of both.

The problems come from templates with random numbers (a fixed seed, so every run asks the same
ones); each template computes its answer from the same numbers it writes into the text, so no
answer is typed by hand. Both ways run through the runtime as recorded scenario runs.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agentco.errors import AgentcoError

SINGLE = Path(__file__).parent / "scenarios" / "single-solver.yaml"
WAYS = {"single": str(SINGLE), "checked": "cross-check"}
NAMES = ["Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Goran", "Hana", "Ivo", "Jia", "Kofi", "Lena"]


def _shop(r: random.Random, name: str) -> tuple[str, float]:
    packs, per, given = r.randint(3, 9), r.randint(4, 12), r.randint(2, 10)
    return (f"{name} buys {packs} packs of pencils with {per} pencils in each pack and gives {given} pencils "
            f"to a friend. How many pencils does {name} have left?", packs * per - given)  # fmt: skip


def _trip(r: random.Random, name: str) -> tuple[str, float]:
    speed, hours, extra = r.randint(40, 90), r.randint(2, 5), r.randint(10, 60)
    return (f"{name} drives at {speed} km per hour for {hours} hours, then another {extra} km to reach a "
            f"village. How many kilometres does {name} drive in all?", speed * hours + extra)  # fmt: skip


def _wallet(r: random.Random, name: str) -> tuple[str, float]:
    start, book, lunch, earned = r.randint(50, 120), r.randint(8, 25), r.randint(5, 15), r.randint(10, 40)
    return (f"{name} has {start} dollars, spends {book} dollars on a book and {lunch} dollars on lunch, then "
            f"earns {earned} dollars for mowing a lawn. How many dollars does {name} have now?",
            start - book - lunch + earned)  # fmt: skip


def _groups(r: random.Random, name: str) -> tuple[str, float]:
    size, groups, markers = r.randint(3, 6), r.randint(4, 8), r.randint(2, 5)
    return (f"{name}'s class of {size * groups} students is split into groups of {size}. Each group gets "
            f"{markers} markers. How many markers are handed out?", groups * markers)  # fmt: skip


def _eggs(r: random.Random, name: str) -> tuple[str, float]:
    boxes, rows, cols, broken = r.randint(2, 6), r.randint(2, 3), r.randint(4, 6), r.randint(1, 9)
    return (f"{name} has {boxes} boxes of eggs. Each box holds {rows} rows of {cols} eggs. {broken} eggs are "
            f"broken. How many eggs are not broken?", boxes * rows * cols - broken)  # fmt: skip


def _change(r: random.Random, name: str) -> tuple[str, float]:
    price, count = r.randint(2, 9), r.randint(2, 8)
    note = next(n for n in (20, 50, 100) if n > price * count)
    return (f"{name} buys {count} notebooks at {price} dollars each and pays with a {note}-dollar note. How "
            f"much change does {name} get, in dollars?", note - price * count)  # fmt: skip


def _reading(r: random.Random, name: str) -> tuple[str, float]:
    per_day, days = r.randint(12, 30), r.randint(3, 9)
    pages = per_day * days + r.randint(20, 150)
    return (f"A book has {pages} pages. {name} reads {per_day} pages a day for {days} days. How many pages "
            f"are left to read?", pages - per_day * days)  # fmt: skip


def _tank(r: random.Random, name: str) -> tuple[str, float]:
    rate, minutes = r.randint(3, 12), r.randint(4, 15)
    size = rate * minutes + r.randint(10, 80)
    return (f"A tank holds {size} litres and is empty. {name} fills it at {rate} litres per minute for "
            f"{minutes} minutes. How many more litres are needed to fill it?", size - rate * minutes)  # fmt: skip


def _tickets(r: random.Random, name: str) -> tuple[str, float]:
    adult, child, adults, children = r.randint(10, 20), r.randint(4, 9), r.randint(1, 4), r.randint(1, 5)
    return (f"Museum tickets cost {adult} dollars for an adult and {child} dollars for a child. {name} buys "
            f"tickets for {adults} adults and {children} children. What is the total cost in dollars?",
            adult * adults + child * children)  # fmt: skip


def _average(r: random.Random, name: str) -> tuple[str, float]:
    first, second = r.randint(60, 95), r.randint(60, 95)
    mean = r.randint(max(first, second) - 10, max(first, second) + 5)
    third = 3 * mean - first - second
    if not 0 <= third <= 100:
        return _average(r, name)
    return (f"{name} scored {first} and {second} on two tests. What must {name} score on the third test for "
            f"the average of the three to be {mean}?", third)  # fmt: skip


def _percent(r: random.Random, name: str) -> tuple[str, float]:
    crates, percent = r.randint(2, 9) * 20, r.choice([10, 15, 25, 30, 40, 45, 60, 75])
    return (f"A farm stall has {crates} melons. By noon {name} has sold {percent}% of them. How many melons "
            f"are left?", crates - crates * percent // 100)  # fmt: skip


def _sharing(r: random.Random, name: str) -> tuple[str, float]:
    kids, each, eaten = r.randint(3, 7), r.randint(5, 12), r.randint(1, 4)
    return (f"{name} shares {kids * each} sweets equally among {kids} children. Each child eats {eaten} of "
            f"their sweets. How many sweets do the children have left altogether?", kids * (each - eaten))  # fmt: skip


TEMPLATES: list[Callable[[random.Random, str], tuple[str, float]]] = [
    _shop, _trip, _wallet, _groups, _eggs, _change, _reading, _tank, _tickets, _average, _percent, _sharing,
]  # fmt: skip


def problems(count: int, seed: int = 17) -> list[dict[str, Any]]:
    """``count`` problems, the templates taken in turn, each with its computed answer."""
    r = random.Random(seed)
    made = []
    for index in range(count):
        question, answer = TEMPLATES[index % len(TEMPLATES)](r, r.choice(NAMES))
        made.append({"id": index + 1, "kind": TEMPLATES[index % len(TEMPLATES)].__name__[1:],
                     "question": question, "answer": answer})  # fmt: skip
    return made


@dataclass
class Answer:
    id: int
    way: str
    predicted: float | None
    expected: float
    correct: bool
    llm_calls: int
    prompt_tokens: int
    completion_tokens: int
    wall_s: float
    rounds: int
    """Times the solvers were asked (cross-check: 1 when the critic accepted the first answers)."""
    status: str
    error: str | None = None


def final_answer(transcript: list[dict[str, Any]], way: str) -> float | None:
    """The result: the critic's last answer (cross-check), or the solver's (single)."""
    speaker = "critic" if way == "checked" else "solver"
    for line in reversed(transcript):
        value = (line.get("fields") or {}).get("answer") if line["speaker"] == speaker else None
        if isinstance(value, int | float):
            return float(value)
    return None


async def ask(settings: Any, problem: dict[str, Any], way: str, workspace: Path) -> Answer:
    from agentco.runtime import ScenarioRequest, start_run

    started = time.monotonic()
    request = ScenarioRequest.build(scenario=WAYS[way], inputs={"question": problem["question"]},
                                    workspace=str(workspace))  # fmt: skip
    usage: dict[str, Any] = {}
    predicted, status, error, rounds = None, "failed", None, 0
    try:
        outcome = await start_run(settings, request)
        usage, status = outcome.summary, outcome.status
        predicted = final_answer(outcome.transcript, way)
        rounds = len({line["visit"] for line in outcome.transcript if line["stage"] == "solve"})
    except AgentcoError as exc:
        error = f"{type(exc).__name__}: {exc}"
    correct = predicted is not None and abs(predicted - problem["answer"]) < 1e-6
    return Answer(problem["id"], way, predicted, problem["answer"], correct, int(usage.get("llm_calls", 0)),
                  int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)),
                  round(time.monotonic() - started, 2), rounds, status, error)  # fmt: skip


async def run_crosscheck(
    settings: Any, asked: list[dict[str, Any]], workspace: Path, *, on_answer: Callable[[Answer], None] = lambda a: None
) -> dict[str, Any]:
    answers = []
    for problem in asked:
        for way in WAYS:
            answer = await ask(settings, problem, way, workspace)
            answers.append(answer)
            on_answer(answer)
    ways = {way: summary([a for a in answers if a.way == way]) for way in WAYS}
    return {"problems": len(asked), "ways": ways, "results": [asdict(a) for a in answers], "asked": asked}


def summary(answers: list[Answer]) -> dict[str, Any]:
    n = len(answers) or 1
    return {
        "correct": sum(a.correct for a in answers), "n": len(answers),
        "accuracy": round(sum(a.correct for a in answers) / n, 4),
        "llm_calls_per_problem": round(sum(a.llm_calls for a in answers) / n, 2),
        "prompt_tokens_per_problem": round(sum(a.prompt_tokens for a in answers) / n, 1),
        "completion_tokens_per_problem": round(sum(a.completion_tokens for a in answers) / n, 1),
        "wall_s_per_problem": round(sum(a.wall_s for a in answers) / n, 2),
        "revised": sum(a.rounds > 1 for a in answers),
        "no_answer": sum(a.predicted is None for a in answers),
    }  # fmt: skip


def crosscheck_table(report: dict[str, Any]) -> Any:
    from agentco.bench.report import table

    columns = ["way", "accuracy", "correct", "calls", "prompt tok", "completion tok", "s/problem", "revised",
               "no answer"]  # fmt: skip
    rows = [[way, f"{s['accuracy']:.1%}", f"{s['correct']}/{s['n']}", s["llm_calls_per_problem"],
             s["prompt_tokens_per_problem"], s["completion_tokens_per_problem"], s["wall_s_per_problem"], s["revised"],
             s["no_answer"]] for way, s in report["ways"].items()]  # fmt: skip
    return table(f"Cross-checking: {report['problems']} arithmetic word problems", columns, rows)
