"""DABench: closed-form data-analysis questions answered by the Data Interpreter, or by one bare
script, and scored with the official matching rules (``@name[value]`` pairs, last one wins; equal
strings, or numbers within 1e-6; a question counts only when every sub-answer matches).

A request is built only from the question's ``question``, ``constraints``, ``format`` and
``file_name``; never its ``level``, ``concepts`` or labels.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agentco.errors import AgentcoError, ConfigError

PAIR = re.compile(r"@(\w+)\[(.*?)\]")
TOLERANCE = 1e-6
BARE_TIMEOUT = 120.0


@dataclass
class Answer:
    id: Any
    mode: str
    response: str
    correct: bool
    sub_correct: float
    """The share of this question's sub-answers that matched."""
    wall_s: float
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    executions: int = 0
    timed_out: bool = False
    error: str | None = None
    predicted: dict[str, str | None] = field(default_factory=dict)


# --- scoring (the official rules) ----------------------------------------------------------------
def extract(text: str) -> dict[str, str]:
    return dict(PAIR.findall(text))


def is_equal(response: str | None, label: str) -> bool:
    if response == label:
        return True
    try:
        return abs(float(response) - float(label)) < TOLERANCE  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def judge(question: dict[str, Any], response: str) -> tuple[bool, float, dict[str, str | None]]:
    got = extract(response)
    labels = dict(question["common_answers"])
    matched = {name: is_equal(got.get(name), value) for name, value in labels.items()}
    share = sum(matched.values()) / len(matched) if matched else 0.0
    return all(matched.values()) and bool(matched), share, {name: got.get(name) for name in labels}


# --- questions and requests ----------------------------------------------------------------------
def load_questions(path: Path, limit: int | None = None, ids: list[str] | None = None) -> list[dict[str, Any]]:
    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the questions: {exc}", key="--questions") from None
    if ids:
        rows = [r for r in rows if str(r.get("id")) in set(ids)]
    if not rows:
        raise ConfigError(f"no questions in {path}", key="--questions")
    missing = [
        r.get("id") for r in rows if not all(k in r for k in ("question", "format", "file_name", "common_answers"))
    ]
    if missing:
        raise ConfigError(
            f"question {missing[0]} lacks question, format, file_name or common_answers", key="--questions"
        )
    return rows[:limit] if limit else rows


def request_for(question: dict[str, Any]) -> str:
    """The interpreter's request, from the question fields alone (the table is copied to data/)."""
    return (
        f"Use the CSV file data/{question['file_name']}.\n"
        f"Question: {question['question']}\n"
        f"Constraints: {question.get('constraints', '')}\n"
        f"Answer format: {question['format']}"
    )


def table_of(question: dict[str, Any], data_dir: Path) -> Path:
    for candidate in (data_dir / "da-dev-tables" / question["file_name"], data_dir / question["file_name"]):
        if candidate.is_file():
            return candidate
    raise ConfigError(f"no table {question['file_name']} under {data_dir}", key="--data-dir")


# --- the two modes -------------------------------------------------------------------------------
async def run_dabench(
    settings: Any,
    questions: list[dict[str, Any]],
    data_dir: Path,
    modes: tuple[str, ...],
    *,
    workspace: Path,
    on_answer: Callable[[Answer], None] = lambda a: None,
) -> dict[str, Any]:
    answers: list[Answer] = []
    for question in questions:
        for mode in modes:
            ask = interpreter_answer if mode == "interpreter" else bare_answer
            answer = await ask(settings, question, table_of(question, data_dir), workspace)
            answers.append(answer)
            on_answer(answer)
    return {"questions": len(questions), "modes": {m: summary([a for a in answers if a.mode == m]) for m in modes},
            "results": [asdict(a) for a in answers]}  # fmt: skip


async def interpreter_answer(settings: Any, question: dict[str, Any], table: Path, workspace: Path) -> Answer:
    from agentco.events import CELL
    from agentco.runtime import DiRequest, start_run

    started, cells, timeouts = time.monotonic(), [0], [0]

    def count(event: Any) -> None:
        if event.kind == CELL:
            cells[0] += 1
            timeouts[0] += event.data.get("status") == "timeout"

    request = DiRequest.build(idea=request_for(question), data=[str(table)], project_name=f"q{question['id']}",
                              workspace=str(workspace))  # fmt: skip
    response, error, usage = "", None, {}
    try:
        outcome = await start_run(settings, request, events=[count])
        response, usage = outcome.answer, outcome.summary
    except AgentcoError as exc:
        error = f"{type(exc).__name__}: {exc}"
    return _scored(question, "interpreter", response, started, usage, cells[0], bool(timeouts[0]), error)


async def bare_answer(settings: Any, question: dict[str, Any], table: Path, workspace: Path) -> Answer:
    """One model call writes one script; it runs once in the sandbox; what it prints is the answer."""
    from agentco.bench.humaneval import extract_code
    from agentco.di.environment import ensure_environment, python_of
    from agentco.di.steps import file_preview
    from agentco.llm.base import ChatRequest
    from agentco.runtime import open_client
    from agentco.sandbox import run_sandboxed
    from agentco.templates import render

    started = time.monotonic()
    llm = open_client(settings, ready=True)[0]
    prompt = render("bench/dabench_bare.j2", request=request_for(question), path=f"data/{table.name}",
                    preview=file_preview(table))  # fmt: skip
    response, error, timed_out = "", None, False
    try:
        completion = await llm.complete(ChatRequest([{"role": "user", "content": prompt}], temperature=0.0, schema_name="script",
                                                     max_tokens=min(settings.llm.max_output_tokens, 1024)), who="bare")  # fmt: skip
        env = ensure_environment(settings.di.env_dir)
        folder = Path(tempfile.mkdtemp(prefix="dabench-", dir=workspace))
        (folder / "data").mkdir()
        shutil.copyfile(table, folder / "data" / table.name)
        (folder / "script.py").write_text(extract_code(completion.text), encoding="utf-8")
        ran = run_sandboxed([str(python_of(env)), "script.py"], project=folder, timeout=BARE_TIMEOUT, cpu_seconds=300,
                            memory_mb=settings.di.memory_mb, extra_ro=[env], read_only=("data",),
                            env={"MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/mpl", "OPENBLAS_NUM_THREADS": "1"})  # fmt: skip
        response, timed_out = ran.stdout, ran.timed_out
        if not ran.ok:
            error = f"the script {ran.describe()}: {ran.stderr.strip().splitlines()[-1:] or ''}"
    except AgentcoError as exc:
        error = f"{type(exc).__name__}: {exc}"
    return _scored(
        question, "bare", response, started, llm.meter.summary(), 1 if response or timed_out else 0, timed_out, error
    )


def _scored(question: dict[str, Any], mode: str, response: str, started: float, usage: dict[str, Any],
            executions: int, timed_out: bool, error: str | None) -> Answer:  # fmt: skip
    correct, share, predicted = judge(question, response)
    return Answer(
        id=question["id"], mode=mode, response=response[-4000:], correct=correct, sub_correct=round(share, 4),
        wall_s=round(time.monotonic() - started, 2), llm_calls=int(usage.get("llm_calls", 0)),
        prompt_tokens=int(usage.get("prompt_tokens", 0)), completion_tokens=int(usage.get("completion_tokens", 0)),
        executions=executions, timed_out=timed_out, error=error, predicted=predicted,
    )  # fmt: skip


def summary(answers: list[Answer]) -> dict[str, Any]:
    n = len(answers) or 1
    return {
        "abq": round(sum(a.correct for a in answers) / n, 4),
        "correct": sum(a.correct for a in answers),
        "n": len(answers),
        "partial_credit": round(sum(a.sub_correct for a in answers) / n, 4),
        "wall_s_per_question": round(sum(a.wall_s for a in answers) / n, 2),
        "llm_calls_per_question": round(sum(a.llm_calls for a in answers) / n, 2),
        "prompt_tokens_per_question": round(sum(a.prompt_tokens for a in answers) / n, 1),
        "completion_tokens_per_question": round(sum(a.completion_tokens for a in answers) / n, 1),
        "executions_per_question": round(sum(a.executions for a in answers) / n, 2),
        "timed_out": sum(a.timed_out for a in answers),
        "errors": sum(a.error is not None for a in answers),
    }


def write_responses(path: Path, report: dict[str, Any], mode: str) -> None:
    """One line per question, ``{"id": ..., "response": ...}``, as any scorer reads them."""
    lines = [json.dumps({"id": r["id"], "response": r["response"]}) for r in report["results"] if r["mode"] == mode]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def dabench_table(report: dict[str, Any]) -> Any:
    from agentco.bench.report import table

    rows = [[mode, f"{s['abq']:.1%}", f"{s['correct']}/{s['n']}", f"{s['partial_credit']:.1%}", s["wall_s_per_question"],
             s["llm_calls_per_question"], s["prompt_tokens_per_question"], s["completion_tokens_per_question"],
             s["timed_out"], s["errors"]] for mode, s in report["modes"].items()]  # fmt: skip
    columns = [
        "mode",
        "ABQ",
        "correct",
        "partial",
        "s/question",
        "calls",
        "prompt tok",
        "completion tok",
        "time-outs",
        "errors",
    ]
    return table("DABench", columns, rows)
