"""``agentco bench``: benchmarks of the product (project suite, HumanEval, overhead, local model speed)."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.markup import escape

from agentco.cli.batch import batch_scaling
from agentco.cli.common import err_console

ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="provider:model (default: from config)")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="where to write the JSON results")]
Mode = Literal["bare", "loop", "both"]
DaMode = Literal["interpreter", "bare", "both"]
SuiteMode = Literal["company", "bare"]


def register(app: typer.Typer) -> None:
    bench = typer.Typer(help="Measure the product: project tasks, HumanEval, overhead, local model speed.",
                        no_args_is_help=True, callback=_note_start)  # fmt: skip
    bench.command("suite")(suite)
    bench.command("humaneval")(humaneval)
    bench.command("dabench")(dabench)
    bench.command("changes")(changes)
    bench.command("overhead")(overhead)
    bench.command("server-load")(server_load)
    bench.command("batch-scaling")(batch_scaling)  # the batch's own benchmark, beside its command
    bench.command("retrieval")(retrieval)
    bench.command("crosscheck")(crosscheck)
    bench.command("local")(local)
    bench.command("all")(run_all)
    app.add_typer(bench, name="bench")


def _note_start() -> None:
    """Which source a benchmark starts from, before it runs: its result is labelled with that commit."""
    from agentco.bench.report import note_start

    note_start()


def suite(
    tasks_dir: Annotated[Path | None, typer.Argument(help="folder of tasks (default ../shared/bench/tasks)")] = None,
    model: ModelOpt = None,
    task: Annotated[list[str] | None, typer.Option("--task", "-t", help="run only this task (repeatable)")] = None,
    repeat: Annotated[int, typer.Option("--repeat", min=1, help="runs of each task")] = 1,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="seconds per task run")] = 1800,
    workspace: Annotated[Path | None, typer.Option("--workspace", help="where the projects go")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, help="task runs at once")] = 1,
    ray: Annotated[
        str | None, typer.Option("--ray", help="on Ray: local (a cluster started here), or HOST:PORT")
    ] = None,
    mode: Annotated[SuiteMode, typer.Option("--mode", help="company, or bare: one call writes the files")] = "company",
    out: OutOpt = None,
) -> None:
    """Run the company on each task (one batch); score the projects with the tasks' acceptance tests."""
    _check_out(out)
    name = _model_name(model)
    report = _suite(tasks_dir, name, task or [], repeat, timeout, workspace, concurrency, ray, mode)
    _finish("suite", report, out, _suite_table, name)


def humaneval(
    model: ModelOpt = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="first N problems (default all 164)")
    ] = None,
    offset: Annotated[int, typer.Option("--offset", min=0, help="skip the first N problems (a slice)")] = 0,
    merge: Annotated[
        list[Path] | None,
        typer.Option("--merge", help="combine saved slices (JSON files) into one result; runs nothing"),
    ] = None,
    mode: Annotated[Mode, typer.Option("--mode", help="bare: one call; loop: write, test, fix")] = "both",
    fix_rounds: Annotated[int, typer.Option("--fix-rounds", min=0, help="rewrites after failing own tests")] = 2,
    task_id: Annotated[list[str] | None, typer.Option("--task-id", help="e.g. HumanEval/0 (repeatable)")] = None,
    out: OutOpt = None,
) -> None:
    """HumanEval pass@1, judged with the official tests in the sandbox; bare call and engineer loop side by side.
    Long runs go in slices (--offset/--limit, each saved with --out), combined with --merge."""
    _check_out(out)
    if merge:
        from agentco.bench.humaneval import merge_slices

        report, name = merge_slices(merge)
        _finish("humaneval", report, out, _humaneval_table, name)
        return
    name = _model_name(model)
    report = _humaneval(name, limit, mode, fix_rounds, task_id or [], offset)
    _finish("humaneval", report, out, _humaneval_table, name)


def dabench(
    questions: Annotated[Path, typer.Option("--questions", help="a JSONL file of questions (e.g. dev.jsonl)")],
    data_dir: Annotated[Path, typer.Option("--data-dir", help="the folder holding da-dev-tables/")],
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="the first N questions")] = None,
    question_id: Annotated[list[str] | None, typer.Option("--id", help="only this question (repeatable)")] = None,
    model: ModelOpt = None,
    mode: Annotated[DaMode, typer.Option("--mode", help="interpreter, bare (one script) or both")] = "interpreter",
    workspace: Annotated[Path | None, typer.Option("--workspace", help="where the notebooks go")] = None,
    responses: Annotated[
        Path | None, typer.Option("--responses", help="write {id, response} lines here (one file per mode)")
    ] = None,
    out: OutOpt = None,
) -> None:
    """DABench accuracy: the Data Interpreter (or one bare script) on closed-form data questions."""
    from agentco.bench.dabench import dabench_table, load_questions, run_dabench, write_responses
    from agentco.cli.common import settings_from_cli

    _check_out(out)
    _check_out(responses)
    name = _model_name(model)
    rows = load_questions(questions, limit, question_id)
    modes = ("interpreter", "bare") if mode == "both" else (mode,)
    settings = settings_from_cli(model=name)
    workspace = (workspace or Path(tempfile.mkdtemp(prefix="agentco-dabench-"))).resolve()
    workspace.mkdir(parents=True, exist_ok=True)
    console = err_console()
    console.print(f"DABench: {len(rows)} questions, modes {', '.join(modes)}, model {name}; notebooks in {workspace}")

    def progress(a: Any) -> None:
        mark = "[green]right[/]" if a.correct else "[red]wrong[/]"
        console.print(f"  {a.id} {a.mode}: {mark} ({a.sub_correct:.0%}) in {a.wall_s:.1f} s, {a.llm_calls} calls"
                      + (f" ({escape(a.error[:120])})" if a.error else ""))  # fmt: skip

    report = asyncio.run(
        run_dabench(settings, rows, data_dir.resolve(), modes, workspace=workspace, on_answer=progress)
    )
    report = {"questions_file": str(questions), "workspace": str(workspace), **report}
    if responses is not None:
        for m in modes:
            target = responses if len(modes) == 1 else responses.with_name(f"{responses.stem}-{m}{responses.suffix}")
            write_responses(target, report, m)
            console.print(f"wrote {target}")
    _finish("dabench", report, out, dabench_table, name)


def changes(
    changes_dir: Annotated[
        Path | None, typer.Argument(help="folder of change tasks (default ../shared/bench/changes)")
    ] = None,
    model: ModelOpt = None,
    task: Annotated[list[str] | None, typer.Option("--task", "-t", help="run only this task (repeatable)")] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="seconds per change")] = 1800,
    workspace: Annotated[Path | None, typer.Option("--workspace", help="where the projects go")] = None,
    out: OutOpt = None,
) -> None:
    """Change known-good projects (--inc) and score regression and change tests in the sandbox."""
    from agentco.bench.changes import changes_table, default_changes_dir, find_change_tasks, run_changes

    _check_out(out)
    name = _model_name(model)
    root = changes_dir.resolve() if changes_dir else default_changes_dir()
    tasks = find_change_tasks(root, task or [])
    workspace = (workspace or Path(tempfile.mkdtemp(prefix="agentco-changes-"))).resolve()
    console = err_console()
    console.print(f"{len(tasks)} change tasks from {root}, model {name}; projects in {workspace}")

    def progress(r: Any) -> None:
        console.print(f"  {r.task}: {r.status}, regression {r.regression_passed}/{r.regression_total}, change "
                      f"{r.change_passed}/{r.change_total}, {r.llm_calls} calls, {r.wall_s:.0f} s"
                      + (f" ({r.error})" if r.error else ""))  # fmt: skip

    report = run_changes(tasks, name, workspace, timeout=timeout, on_run=progress)
    _finish("changes", {"changes_dir": str(root), "workspace": str(workspace), **report}, out, changes_table, name)


def overhead(
    repeat: Annotated[int, typer.Option("--repeat", min=1, help="fresh processes per start-up timing")] = 5,
    calls: Annotated[int, typer.Option("--calls", min=1, help="fake model calls for the per-call cost")] = 2000,
    rounds: Annotated[int, typer.Option("--rounds", min=1, help="team rounds for the message rate")] = 200,
    out: OutOpt = None,
) -> None:
    """agentco's own cost: import and --help time, per call, per message, memory, replay."""
    _check_out(out)
    from agentco.bench.overhead import overhead_table, run_overhead

    _finish("overhead", run_overhead(repeat=repeat, calls=calls, rounds=rounds), out, overhead_table)


def server_load(
    clients: Annotated[int, typer.Option("--clients", min=1, help="event-stream followers of one run")] = 50,
    queued: Annotated[int, typer.Option("--queued", min=0, help="runs queued behind it")] = 20,
    model: Annotated[str, typer.Option("--model", help="a scripted model")] = "fake:roman?delay=0.05",
    out: OutOpt = None,
) -> None:
    """The team server under load: dropped events, API latency and memory (a real server on loopback)."""
    _check_out(out)
    from agentco.bench.server_load import run_server_load, server_load_table

    _finish("server_load", run_server_load(clients, queued, model), out, server_load_table, model)


def retrieval(
    corpus: Annotated[
        Path | None, typer.Argument(help="folder with docs/ and questions.jsonl (default bench/retrieval)")
    ] = None,
    k: Annotated[int, typer.Option("--k", "-k", min=1, help="hits looked at per question")] = 5,
    out: OutOpt = None,
) -> None:
    """Knowledge-base retrieval: recall@k of full-text search alone and of the hybrid (with vectors)."""
    _check_out(out)
    from agentco.bench.retrieval import default_corpus_dir, retrieval_table, run_retrieval

    report = run_retrieval(corpus.resolve() if corpus else default_corpus_dir(), k)
    _finish("retrieval", report, out, retrieval_table, report["embedder"])


def crosscheck(
    problems: Annotated[int, typer.Option("--problems", "-n", min=1, help="word problems to generate")] = 60,
    seed: Annotated[int, typer.Option("--seed", help="which problems (the same seed asks the same ones)")] = 17,
    model: ModelOpt = None,
    workspace: Annotated[Path | None, typer.Option("--workspace", help="where the runs are recorded")] = None,
    out: OutOpt = None,
) -> None:
    """Cross-checking: the cross-check scenario (two solvers and a critic) against one solver alone."""
    from agentco.bench.crosscheck import crosscheck_table, run_crosscheck
    from agentco.bench.crosscheck import problems as generated
    from agentco.cli.common import settings_from_cli

    _check_out(out)
    name = _model_name(model)
    workspace = (workspace or Path(tempfile.mkdtemp(prefix="agentco-crosscheck-"))).resolve()
    workspace.mkdir(parents=True, exist_ok=True)
    err_console().print(f"cross-check: {problems} problems (seed {seed}), model {name}; runs in {workspace}")

    def progress(a: Any) -> None:
        mark = "[green]right[/]" if a.correct else "[red]wrong[/]"
        err_console().print(f"  {a.id} {a.way}: {mark} ({a.predicted} for {a.expected}) {a.llm_calls} calls, "
                            f"{a.wall_s:.0f} s" + (f" ({escape(a.error[:120])})" if a.error else ""))  # fmt: skip

    asked = generated(problems, seed)
    report = asyncio.run(run_crosscheck(settings_from_cli(model=name), asked, workspace, on_answer=progress))
    _finish("crosscheck", {"seed": seed, "workspace": str(workspace), **report}, out, crosscheck_table, name)


def local(
    run: Annotated[bool, typer.Option("--run/--read", help="measure now (default), or show the stored results")] = True,
    models: Annotated[str | None, typer.Option("--models", help="comma-separated local model names")] = None,
) -> None:
    """Local model speed (bench/local_model.py): load, prompt and generation speed, prefix reuse."""
    from agentco.bench.local import local_table, read_results, run_local_bench

    report = run_local_bench(models) if run else read_results()
    if report is None:
        raise typer.BadParameter("no stored local model results; measure them with agentco bench local")
    _print(local_table(report))


def run_all(
    model: ModelOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="HumanEval problems")] = 20,
    repeat: Annotated[int, typer.Option("--repeat", min=1, help="runs of each suite task")] = 1,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="seconds per suite task run")] = 1800,
    workspace: Annotated[Path | None, typer.Option("--workspace", help="where the suite's projects go")] = None,
    out: OutOpt = None,
) -> None:
    """Overhead, local model speed, the project suite and HumanEval; writes bench/results/latest.json."""
    _check_out(out)
    from agentco.bench.local import local_table, run_local_bench, script_path
    from agentco.bench.overhead import overhead_table, run_overhead
    from agentco.bench.report import envelope, results_dir, write_json
    from agentco.errors import AgentcoError

    name = _model_name(model)
    sections: dict[str, Any] = {}

    def section(key: str, produce: Any, show: Any, save: bool = True) -> None:
        err_console().print(f"[bold]== {key}[/]")
        try:
            sections[key] = produce()
        except AgentcoError as exc:
            err_console().print(f"[red]{key} failed:[/] {escape(str(exc))}")
            sections[key] = {"error": str(exc)}
            return
        if sections[key] is not None:
            _print(show(sections[key]))
        if sections[key] is not None and save:
            write_json(results_dir() / f"{key}.json", envelope(key, name, sections[key]))

    def local_results() -> dict[str, Any] | None:
        """Measured now; never a stored figure inside this run's freshly dated envelope."""
        return run_local_bench() if script_path() else None

    section("overhead", run_overhead, overhead_table)
    section("local_model", local_results, local_table, save=False)  # bench/local_model.py writes its own
    section("suite", lambda: _suite(None, name, [], repeat, timeout, workspace), _suite_table)
    if name.startswith("fake:"):
        sections["humaneval"] = {"skipped": f"{name} only plays a scripted company"}
    else:
        section("humaneval", lambda: _humaneval(name, limit, "both", 2, []), _humaneval_table)
    path = write_json(out or results_dir() / "latest.json", envelope("all", name, sections))
    err_console().print(f"wrote {path}")


# --- the work behind the commands ------------------------------------------------------------
def _check_out(out: Path | None) -> None:
    """Refuse an --out that cannot be written before the benchmark runs, not after an hour of it."""
    from agentco.errors import ConfigError

    if out is None:
        return
    if out.is_dir():
        raise ConfigError(f"{out} is a folder; give a file name such as {out / 'results.json'}", key="--out")
    parent = next((p for p in [out.parent, *out.parent.parents] if p.exists()), Path("/"))
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write {out}: {parent} is not a writable folder", key="--out")


def _model_name(model: str | None) -> str:
    """The model a run would use, spelled out so the results say which one it was."""
    from agentco.cli.common import settings_from_cli
    from agentco.llm.registry import resolve_model

    if model and "{task}" in model:  # resolved per task by the suite
        return model
    return str(resolve_model(settings_from_cli(model=model).llm)[0])


def _suite(
    tasks_dir: Path | None, model: str, names: list[str], repeat: int, timeout: float, workspace: Path | None,
    concurrency: int = 1, ray: str | None = None, mode: SuiteMode = "company",
) -> dict[str, Any]:  # fmt: skip
    from agentco.bench.suite import default_tasks_dir, find_tasks, run_suite
    from agentco.bench.suite_bare import run_bare_suite
    from agentco.cli.common import settings_from_cli

    root = tasks_dir.resolve() if tasks_dir else default_tasks_dir()
    tasks = find_tasks(root, names)
    workspace = (workspace or Path(tempfile.mkdtemp(prefix="agentco-bench-"))).resolve()
    console = err_console()
    console.print(f"{len(tasks)} tasks from {root}, {repeat} run(s) each, model {model}; projects in {workspace}")

    def progress(r: Any) -> None:
        console.print(
            f"  {r.task} #{r.run}: {r.status}, acceptance {r.acceptance_passed}/{r.acceptance_total}, "
            f"{r.llm_calls} calls, {r.wall_s:.1f} s" + (f" ({r.error})" if r.error else "")
        )

    if mode == "bare":
        report = run_bare_suite(model, tasks, workspace, repeat=repeat, on_run=progress)
    else:
        settings = settings_from_cli(model=None if "{task}" in model else model)
        report = run_suite(settings, tasks, model, workspace, repeat=repeat, timeout=timeout, on_run=progress,
                           concurrency=concurrency, ray=ray)  # fmt: skip
    return {"tasks_dir": str(root), "workspace": str(workspace), **report}


def _humaneval(
    model: str, limit: int | None, mode: Mode, fix_rounds: int, task_ids: list[str], offset: int = 0
) -> dict[str, Any]:
    from agentco.bench.humaneval import client_for, load_problems, run_humaneval
    from agentco.errors import ConfigError

    if model.startswith("fake:"):
        raise ConfigError(f"HumanEval needs a real model; {model} only plays a scripted company")
    problems = load_problems(limit, task_ids, offset)
    modes = ("bare", "loop") if mode == "both" else (mode,)
    console = err_console()
    console.print(f"HumanEval: {len(problems)} problems, modes {', '.join(modes)}, model {model}")

    def progress(r: Any) -> None:
        mark = "[green]pass[/]" if r.passed else "[red]fail[/]"
        extra = f", {r.fix_rounds} fixes" if r.fix_rounds else ""
        console.print(f"  {r.task_id} {r.mode}: {mark} in {r.wall_s:.1f} s, {r.llm_calls} calls{extra}")

    client = client_for(model)
    return asyncio.run(run_humaneval(client, problems, modes, fix_rounds=fix_rounds, on_result=progress))


def _suite_table(report: dict[str, Any]) -> Any:
    from agentco.bench.suite import suite_table

    return suite_table(report)


def _humaneval_table(report: dict[str, Any]) -> Any:
    from agentco.bench.humaneval import humaneval_table

    return humaneval_table(report)


def _finish(key: str, report: dict[str, Any], out: Path | None, show: Any, model: str | None = None) -> None:
    from agentco.bench.report import envelope, results_dir, write_json

    _print(show(report))
    path = write_json(out or results_dir() / f"{key}.json", envelope(key, model, report))
    err_console().print(f"wrote {path}")


def _print(renderable: Any) -> None:
    from rich.console import Console

    Console(width=None if sys.stdout.isatty() else 160).print(renderable)
