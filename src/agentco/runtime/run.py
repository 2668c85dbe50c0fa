"""Starting, resuming and replaying runs: the one place a run is wired, for every entry point.

The CLI, the benchmarks and (later) the server and batch workers call ``start_run`` or
``resume_run`` with loaded settings and a ``RunRequest``; none builds a model client itself.
Subscribers given as ``events`` see the run's whole event stream, from its first event.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentco.company.run import RunOutcome, run_company
from agentco.company.workshop import CompanyOptions
from agentco.config import Settings
from agentco.core.review import Reviewer
from agentco.errors import AgentcoError, ConfigError
from agentco.events import NOTE, EventBus, Subscriber
from agentco.llm.base import parse_model_string
from agentco.runtime.clients import check_model, open_client, prepare, role_clients
from agentco.runtime.request import AnyRequest, ChangeRequest, DiRequest, RunRequest, ScenarioRequest, stored_request
from agentco.store import RunBusy, RunRecord, RunStore, db_path, find_store


class RunAlreadyCompleted(AgentcoError):
    """``resume`` of a run that finished: nothing to do."""

    def __init__(self, record: RunRecord):
        self.record = record
        super().__init__(f"run {record.id} is already completed: {record.project_path}")


@dataclass
class _Run:
    """A run recorded in the store, about to be worked on."""

    settings: Settings
    request: AnyRequest
    store: RunStore
    run_id: str
    previous_wall_s: float = 0.0
    replaceable: Path | None = None
    """The one existing folder this run may replace: its own project, rebuilt on resume."""
    switched: bool = False
    """Resumed with another model: the calls earlier models answered are served from the store."""
    human: Any = None
    """Who speaks for a scenario's human roles (a ``scenario.human.HumanSeat``)."""


async def start_run(
    settings: Settings,
    request: AnyRequest,
    *,
    events: Iterable[Subscriber] = (),
    reviewer: Reviewer | None = None,
    human: Any = None,
) -> RunOutcome:
    """Record a new run in the workspace's store and run it. Raises what stops it (after recording
    it: ``resume_run`` continues); ``ConfigError`` for what the user must fix."""
    settings = request.settings(settings)
    _check_reviewer(request, reviewer)
    store, request, run_id = _new_run(settings, request)
    try:
        run = _Run(settings, request, store, run_id, human=human)  # a new run replaces no folder: only resume its own
        return await _execute(run, events, reviewer)
    finally:
        store.close()


def record_run(settings: Settings, request: AnyRequest) -> str:
    """Record a new run without working on it (the server queues it, then ``resume_run`` runs it).
    Until then it reads ``interrupted`` at stage ``queued``: a run nobody works on, resumable."""
    store, _, run_id = _new_run(request.settings(settings), request)
    try:
        store.update_run(run_id, status="interrupted", stage="queued")
    finally:
        store.close()
    return run_id


def _new_run(settings: Settings, request: AnyRequest) -> tuple[RunStore, AnyRequest, str]:
    """The open store with the new run recorded in it, the request as stored, and the run's id."""
    if request.replay_of is None:  # what the user must fix is said before anything is written
        check_model(settings)
        _free_folder(settings.workspace, request.project_name)
    elif not db_path(settings.workspace).is_file():  # never create a store to look in it
        raise ConfigError(f"no run {request.replay_of} in {settings.workspace} to replay (try --workspace)")
    store = RunStore.open(settings.workspace)
    try:
        if request.replay_of is not None:
            request = _replay_request(store, request, settings.workspace)
            _free_folder(settings.workspace, request.project_name)
        run_id = store.new_run_id()
        store.create_run(run_id, request.idea, "", request.model_dump(mode="json"))
    except BaseException:
        store.close()
        raise
    return store, request, run_id


async def resume_run(
    settings: Settings,
    run_id: str | None = None,
    *,
    recover_path: Path | None = None,
    investment: float | None = None,
    model: str | None = None,
    events: Iterable[Subscriber] = (),
    reviewer: Reviewer | None = None,
    human: Any = None,
) -> RunOutcome:
    """Continue an interrupted run (found by id in the workspace, or by its project folder);
    its completed model calls are served from the store. With ``model`` it goes on with another
    model (a run that failed because of its model can be continued); a replay cannot switch."""
    store, record = find_run(settings, run_id, recover_path)
    try:
        if record.status == "completed":
            raise RunAlreadyCompleted(record)
        request = stored_request(record.options)
        switched = model is not None and model != request.model
        if switched and request.replay_of is not None:
            raise ConfigError("a replay serves a recorded run's answers; it cannot switch to another model")
        if investment is not None or switched:
            update = {"investment": investment} if investment is not None else {}
            request = type(request).build(
                **{**request.model_dump(), **update, **({"model": model} if switched else {})}
            )
            store.update_run(record.id, options=request.model_dump(mode="json"))
        request = request.model_copy(update={"workspace": str(store.path.parent.parent)})
        _check_reviewer(request, reviewer)
        project = Path(record.project_path) if record.project_path else None
        run = _Run(
            request.settings(settings), request, store, record.id, record.wall_s or 0.0, project, switched, human
        )
        return await _execute(run, events, reviewer)
    finally:
        store.close()


def find_run(settings: Settings, run_id: str | None, recover_path: Path | None = None) -> tuple[RunStore, RunRecord]:
    """The open store holding the run, and its record (by id, or as the newest run of a project folder)."""
    if recover_path is not None:
        if not db_path(recover_path.resolve().parent).is_file():  # never create a store to look in it
            raise ConfigError(f"no agentco run store beside {recover_path} (a project folder of a workspace)")
        store = RunStore.open(recover_path.resolve().parent)
        record = store.find_run_by_project(recover_path)
        if record is None:
            store.close()
            raise ConfigError(f"no agentco run recorded for {recover_path}")
        return store, record
    if run_id is None:
        raise ConfigError("give a run id or the run's project folder")
    found = find_store(run_id, [settings.workspace, Path("workspace")])
    if found is None:
        raise ConfigError(f"no run {run_id} found (looked in {settings.workspace}); try --workspace")
    store = RunStore.open(found)
    record = store.get_run(run_id)
    assert record is not None
    return store, record


def _check_reviewer(request: AnyRequest, reviewer: Reviewer | None) -> None:
    if request.review and reviewer is None and request.replay_of is None:
        raise ConfigError(
            f"this run stops for review at the {', '.join(request.review)} and nobody can answer: stdin is not a "
            "terminal; give --review-answers FILE (one answer a line: approve, feedback: TEXT, edit: FILE.json, abort)"
        )


def review_gate(request: AnyRequest, answerer: Reviewer | None, bus: EventBus, store: RunStore, run_id: str) -> Any:
    """The run's review gate over the stages its request names, with the answers given before it was
    resumed (a replay: the replayed run's answers); None when nothing is under review."""
    if not request.review:
        return None
    from agentco.core.review import Gate, recorded_answers

    answers = recorded_answers(store.events(request.replay_of or run_id))
    if answerer is None:  # a replay: only the recorded answers
        answerer = _NoMoreAnswers()

    if isinstance(request, DiRequest):
        from agentco.di.schemas import REVIEWABLE
    else:
        from agentco.company.stages import REVIEWABLE
    stages = {cause: name for cause, name in REVIEWABLE.items() if name in request.review}
    return Gate(answerer, stages, bus, answers)


class _NoMoreAnswers:
    async def review(self, message: Any) -> Any:
        raise ConfigError("the replayed run's review answers ran out before this gate")


def _free_folder(workspace: Path, name: str | None) -> None:
    if name and (workspace / name).exists():
        raise ConfigError(
            f"{workspace / name} already exists; choose another name with --project-name, or remove it first"
        )


def _replay_request(store: RunStore, request: RunRequest, workspace: Path) -> RunRequest:
    """The replayed run's request, into a folder of its own: the one named, or the first free
    ``NAME_replay``, ``NAME_replay2``, ... (a replay never replaces a folder)."""
    source = store.get_run(request.replay_of or "")
    if source is None:
        raise ConfigError(f"no run {request.replay_of} in {store.path.parent.parent} to replay")
    stored = RunRequest.stored(source.options)
    name = request.project_name
    if name is None:
        base = f"{Path(source.project_path).name if source.project_path else 'project'}_replay"[:70]
        names = (f"{base}{n}" if n > 1 else base for n in itertools.count(1))
        name = next(n for n in names if not (workspace / n).exists())
    return stored.model_copy(
        update={"project_name": name, "idea": source.idea, "investment": None, "replay_of": request.replay_of}
    )


async def _execute(run: _Run, subscribers: Iterable[Subscriber], reviewer: Reviewer | None) -> RunOutcome:
    """Work on the run while holding it, so no second process can and ``runs list`` can tell a
    killed run from a running one."""
    try:
        with run.store.claim(run.run_id):
            return await _work(run, subscribers, reviewer)
    except RunBusy as exc:
        raise ConfigError(f"{exc}; wait for it to finish, or stop it first") from None


async def _work(run: _Run, subscribers: Iterable[Subscriber], reviewer: Reviewer | None) -> RunOutcome:
    s, request, store = run.settings, run.request, run.store
    bus = EventBus(run.run_id, store)
    for subscriber in subscribers:
        bus.subscribe(subscriber)
    replay, earlier = None, []
    if request.replay_of is not None:
        from agentco.llm.registry import resolve_model

        used = store.call_models(request.replay_of)
        replay = (parse_model_string(used[0]) if used else resolve_model(s.llm)[0], request.replay_of)
        earlier = used[1:]  # a run resumed with another model: its later calls too
    cache = store.call_cache(request.replay_of or run.run_id)
    try:
        llm, notice = open_client(s, cache=cache, observer=bus, replay=replay, ready=False)
        if notice:
            bus.emit(NOTE, text=notice, source="runtime")
        if replay is None:  # a run resumed with another model, now or before: each model's answers count
            earlier = [m for m in store.call_models(run.run_id) if m != str(llm.ref)]
        if run.switched:
            bus.emit(NOTE, text=f"resumed with {llm.ref}; the calls {', '.join(earlier) or 'no model'} already "
                                "answered are served from the run store", source="runtime")  # fmt: skip
        llm.earlier = tuple(parse_model_string(m) for m in earlier)
        prepare(llm)
        llm_for = role_clients(s, llm) if replay is None else (lambda role: None)
    except AgentcoError as exc:
        store.update_run(run.run_id, status="failed", error=str(exc))  # else it would read 'running' for ever
        raise
    gate = review_gate(request, reviewer, bus, store, run.run_id)
    if isinstance(request, ScenarioRequest):
        from agentco.runtime.scenario import work_scenario

        return await work_scenario(s, request, llm, bus, store, run.run_id, run.previous_wall_s, run.human)
    if isinstance(request, ChangeRequest):
        from agentco.change.run import run_change

        return await run_change(
            request.idea, change_options(s, request, store, run.run_id), llm, toolchain=toolchain_for(s), events=bus,
            store=store, run_id=run.run_id, previous_wall_s=run.previous_wall_s,
        )  # fmt: skip
    if isinstance(request, DiRequest):
        from agentco.di.interpreter import run_interpreter

        return await run_interpreter(
            request.idea,
            di_options(s, request, run.replaceable),
            llm_for("data_interpreter") or llm,
            events=bus,
            store=store,
            run_id=run.run_id,
            previous_wall_s=run.previous_wall_s,
            reviewer=gate,
        )
    return await run_company(
        request.idea,
        company_options(s, request, llm.ref.provider, run.replaceable),
        llm,
        toolchain=toolchain_for(s),
        llm_for=llm_for,
        role_kwargs=role_kwargs(s),
        events=bus,
        store=store,
        run_id=run.run_id,
        previous_wall_s=run.previous_wall_s,
        n_round=request.n_round,
        reviewer=gate,
    )


def company_options(s: Settings, request: RunRequest, provider: str, replaceable: Path | None) -> CompanyOptions:
    return CompanyOptions(
        workspace=s.workspace,
        project_name=request.project_name,
        code_review=s.code_review,
        run_tests=s.run_tests,
        implement=request.implement,
        fix_rounds=s.fix_rounds,
        max_parallel_files=s.max_parallel_files or (1 if provider in {"local", "fake"} else 4),
        one_reply_files=s.one_reply_files,
        replace_project=replaceable,
    )


def change_options(s: Settings, request: ChangeRequest, store: RunStore, run_id: str) -> Any:
    from agentco.change.run import ChangeOptions

    return ChangeOptions(
        project=Path(request.project_path),
        allow_dirty=request.allow_dirty,
        reqa_file=request.reqa_file,
        fix_rounds=s.fix_rounds,
        output_attempts=s.output_attempts,
        temperature=s.llm.temperature,
        resumed_paths=tuple(dict.fromkeys(a.path for a in store.artifacts(run_id))),
    )


def di_options(s: Settings, request: DiRequest, replaceable: Path | None) -> Any:
    from agentco.di.interpreter import DiOptions
    from agentco.di.kernel import KernelLimits

    return DiOptions(
        workspace=s.workspace,
        project_name=request.project_name,
        data=tuple(Path(p) for p in request.data),
        max_steps=s.di.max_steps,
        fix_attempts=s.di.fix_attempts,
        replans=s.di.replans,
        max_calls=s.di.max_calls,
        cell_timeout=s.di.cell_timeout,
        limits=KernelLimits(memory_mb=s.di.memory_mb, cpu_seconds=s.di.cpu_seconds),
        env_dir=s.di.env_dir,
        output_attempts=s.output_attempts,
        temperature=s.llm.temperature,
        max_tokens=min(s.llm.max_output_tokens, 1024),
        replace_project=replaceable,
    )


def role_kwargs(s: Settings) -> dict[str, Any]:
    return {
        "output_attempts": s.output_attempts,
        "repair_output": s.repair_llm_output,
        "temperature": s.llm.temperature,
        "max_tokens": s.llm.max_output_tokens,
    }


def toolchain_for(s: Settings) -> Any:
    from agentco.lang import get_toolchain

    return get_toolchain("python", test_timeout=s.sandbox_timeout)
