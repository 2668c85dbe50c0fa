"""The team server's HTTP API (OpenAPI at ``/docs``): runs, their live event stream, their files and
their review gates, over the runtime (runs are never started by shelling out to the CLI).

``create_app`` builds the whole server from loaded settings; ``agentco serve`` runs it in uvicorn.
"""

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from agentco.config import Settings
from agentco.errors import ConfigError
from agentco.events import Event
from agentco.runtime.request import AnyRequest, DiRequest, RunRequest, ScenarioRequest, stored_request
from agentco.server import files, page
from agentco.server.auth import CSRF_HEADER, SESSION_COOKIE, SESSION_S, Auth, AuthError, Principal, is_loopback
from agentco.server.runs import Busy, RunManager
from agentco.server.schemas import MAX_DATA_BYTES, GateAnswer, NewRun, RunView, SignIn, TurnAnswer
from agentco.server.tokens import TokenStore
from agentco.store import RunRecord, RunStore
from agentco.store.records import as_seen

RUN_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{4}")
KEEPALIVE_S = 15.0
POLL_S = 1.0
"""How often a run worked on by another process (a CLI run in the same workspace) is looked at."""


def create_app(settings: Settings, *, host: str = "127.0.0.1", max_parallel: int = 4) -> FastAPI:
    tokens = TokenStore.open(settings.workspace)
    auth = Auth(tokens, loopback=is_loopback(host))
    store = RunStore.open(settings.workspace)
    manager = RunManager(settings, max_parallel=max_parallel)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await manager.shutdown()
            store.close()
            tokens.close()

    app = FastAPI(title="agentco team server", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.manager, app.state.auth, app.state.store = manager, auth, store

    def need(scope: str) -> Any:
        def check(request: Request) -> Principal:
            try:
                return auth.check(request.method, request.headers, request.cookies, scope)
            except AuthError as exc:
                raise HTTPException(exc.status, exc.detail) from None

        return Depends(check)

    Reader = Annotated[Principal, need("read")]
    Runner = Annotated[Principal, need("run")]

    def record(run_id: str) -> RunRecord:
        found = store.get_run(run_id) if RUN_ID.fullmatch(run_id) else None
        if found is None:
            raise HTTPException(404, f"no run {run_id}")
        return found

    def view(found: RunRecord) -> RunView:
        found = as_seen(found, store.is_live(found.id))
        reviewer, seat = manager.gate(found.id), manager.seat(found.id)
        pending = seat.view() if seat else None
        options = found.options
        return RunView(
            id=found.id, status=manager.state(found.id) or found.status, stage=found.stage, idea=found.idea,
            created_at=found.created_at, updated_at=found.updated_at, model=options.get("model"),
            llm_calls=found.llm_calls, prompt_tokens=found.prompt_tokens, completion_tokens=found.completion_tokens,
            cost_usd=found.cost_usd, budget_usd=options.get("investment"), wall_s=found.wall_s,
            project=Path(found.project_path).name if found.project_path else "", error=found.error,
            waiting_for_review=reviewer is not None and reviewer.pending is not None,
            kind=options.get("kind", "company"), waiting_for_person=pending["role"] if pending else None,
        )  # fmt: skip

    # --- health and sessions -----------------------------------------------------------------
    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "runs_here": len(manager.live)}

    @app.post("/api/session")
    async def sign_in(body: SignIn, response: Response) -> dict[str, str]:
        signed = auth.sign_in(body.token)
        if signed is None:
            raise HTTPException(401, "missing, wrong or revoked token")
        session_id, principal = signed
        response.set_cookie(SESSION_COOKIE, session_id, max_age=SESSION_S, httponly=True, samesite="strict",
                            path="/")  # fmt: skip
        return {"scope": principal.scope, "csrf": principal.csrf, "csrf_header": CSRF_HEADER}

    @app.get("/api/session")
    async def session(principal: Reader) -> dict[str, str]:
        return {"scope": principal.scope, "via": principal.via, "csrf": principal.csrf, "csrf_header": CSRF_HEADER}

    @app.delete("/api/session")
    async def sign_out(_: Reader, request: Request, response: Response) -> dict[str, str]:
        auth.sign_out(request.cookies.get(SESSION_COOKIE))
        response.delete_cookie(SESSION_COOKIE, path="/")
        return {"signed_out": "yes"}

    # --- runs --------------------------------------------------------------------------------
    @app.get("/api/runs")
    async def list_runs(_: Reader) -> list[RunView]:
        return [view(r) for r in store.list_runs()]

    def requested(body: NewRun) -> AnyRequest:
        """The runtime's request for a new run; a Data Interpreter's files are stored in the workspace first."""
        fields = body.model_dump(exclude_defaults=True, exclude={"kind", "data"})
        if body.kind == "company":
            return RunRequest.build(**fields)
        if body.kind == "scenario":
            from agentco.scenario.registry import PYTHON_PIPELINES, RUNNABLE

            if body.scenario not in RUNNABLE or body.scenario in PYTHON_PIPELINES:
                raise ConfigError(f"no built-in scenario {body.scenario!r} (GET /api/scenarios lists them)")
            return ScenarioRequest.build(**fields)
        folder = settings.workspace / ".agentco" / "uploads" / uuid.uuid4().hex
        saved = files.save_uploads(folder, [(f.name, f.content()) for f in body.data], limit=MAX_DATA_BYTES)
        return DiRequest.build(**fields, data=[str(path) for path in saved])

    @app.post("/api/runs", status_code=201)
    async def create_run(_: Runner, body: NewRun) -> dict[str, str]:
        try:
            request = await asyncio.to_thread(requested, body)
            run_id = await manager.create(request)
        except (ConfigError, ValueError) as exc:
            raise HTTPException(422, str(exc)) from None
        return {"id": run_id, "status": manager.state(run_id) or "queued"}

    @app.get("/api/runs/{run_id}")
    async def show_run(_: Reader, run_id: str) -> RunView:
        return view(record(run_id))

    @app.post("/api/runs/{run_id}/cancel", status_code=202)
    async def cancel_run(_: Runner, run_id: str) -> dict[str, str]:
        record(run_id)
        if not manager.cancel(run_id):
            raise HTTPException(409, f"run {run_id} is not queued or running on this server")
        return {"id": run_id, "status": "cancelling"}

    @app.post("/api/runs/{run_id}/resume", status_code=202)
    async def resume(_: Runner, run_id: str) -> dict[str, str]:
        found = record(run_id)
        if found.status == "completed":
            raise HTTPException(409, f"run {run_id} is already completed")
        if store.is_live(run_id) and manager.state(run_id) is None:
            raise HTTPException(409, f"run {run_id} is being worked on by another agentco process")
        try:
            manager.resume(run_id, stored_request(found.options))
        except (Busy, ConfigError) as exc:
            raise HTTPException(409, str(exc)) from None
        return {"id": run_id, "status": manager.state(run_id) or "queued"}

    @app.get("/api/runs/{run_id}/events")
    async def events(_: Reader, run_id: str, request: Request, after: int = 0) -> Response:
        """Server-Sent Events: the stored events after ``Last-Event-ID`` (or ``?after=``), then the live ones
        (streamed tokens too, without an id) until the run's work ends."""
        record(run_id)
        last = request.headers.get("last-event-id", "")
        since = int(last) if last.isdigit() else max(after, 0)
        return StreamingResponse(
            _stream(manager, store, run_id, since, request), media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )  # fmt: skip

    @app.get("/api/runs/{run_id}/history")
    async def history(_: Reader, run_id: str) -> list[dict[str, Any]]:
        """The run's stored events as one JSON list (the page replays a finished run from it)."""
        record(run_id)
        return [{"kind": e.kind, "seq": e.seq, "at": e.at, **e.data} for e in store.events(run_id)]

    # --- gates ---------------------------------------------------------------------------------
    @app.get("/api/runs/{run_id}/gate")
    async def gate(_: Reader, run_id: str) -> dict[str, Any]:
        record(run_id)
        reviewer = manager.gate(run_id)
        if reviewer is None or (question := reviewer.view()) is None:
            raise HTTPException(404, f"run {run_id} is not waiting at a review gate")
        return question

    @app.post("/api/runs/{run_id}/gate")
    async def answer(_: Runner, run_id: str, body: GateAnswer) -> dict[str, str]:
        record(run_id)
        reviewer = manager.gate(run_id)
        if reviewer is None:
            raise HTTPException(404, f"run {run_id} is not waiting at a review gate")
        try:
            reviewer.answer(body.decision, document=body.document, feedback=body.feedback)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from None
        except ValueError as exc:  # an invalid edit: the gate keeps waiting, the errors go back
            return JSONResponse({"detail": "the answer is not valid", "errors": str(exc).splitlines()}, 422)
        return {"id": run_id, "answered": body.decision}

    # --- scenarios and a person's turns --------------------------------------------------------
    @app.get("/api/scenarios")
    async def scenarios(_: Reader) -> list[dict[str, Any]]:
        """The built-in scenarios a run may hold: inputs (with defaults), roles (which a person may play)."""
        from agentco.scenario.registry import entries, load

        def described(name: str) -> dict[str, Any]:
            sc = load(name)
            return {"name": name, "description": sc.description,
                    "inputs": {k: {"description": i.description, "default": i.default} for k, i in sc.inputs.items()},
                    "roles": [{"name": r, "human": role.human, "persona": role.persona} for r, role in sc.roles.items()]}  # fmt: skip

        return [described(e.name) for e in entries() if e.kind == "scenario"]

    @app.get("/api/runs/{run_id}/turn")
    async def turn(_: Reader, run_id: str) -> dict[str, Any]:
        record(run_id)
        seat = manager.seat(run_id)
        if seat is None or (waiting := seat.view()) is None:
            raise HTTPException(404, f"run {run_id} is not waiting for a person's turn")
        return waiting

    @app.post("/api/runs/{run_id}/turn")
    async def speak(_: Runner, run_id: str, body: TurnAnswer) -> dict[str, str]:
        record(run_id)
        seat = manager.seat(run_id)
        try:
            if seat is None:
                raise LookupError(f"run {run_id} is not waiting for a person's turn")
            seat.answer(body.text, leave=body.leave)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from None
        return {"id": run_id, "answered": "left" if body.leave else "said"}

    # --- files ---------------------------------------------------------------------------------
    def project(run_id: str) -> Path:
        found = record(run_id)
        if not found.project_path or not Path(found.project_path).is_dir():
            raise HTTPException(404, f"run {run_id} has no project folder yet")
        return Path(found.project_path)

    @app.get("/api/runs/{run_id}/files")
    async def tree(_: Reader, run_id: str) -> dict[str, Any]:
        return {"files": await asyncio.to_thread(files.tree, project(run_id))}

    @app.get("/api/runs/{run_id}/files/{path:path}")
    async def one_file(_: Reader, run_id: str, path: str, download: bool = False) -> Response:
        root = project(run_id)
        try:
            data = await asyncio.to_thread(files.read_file, root, path)
        except files.Refused as exc:
            raise HTTPException(403, f"{path}: {exc}") from None
        except FileNotFoundError:
            raise HTTPException(404, f"no file {path}") from None
        name = Path(path).name.replace('"', "")
        headers = {"Content-Disposition": f'attachment; filename="{name}"'} if download else {}
        kind = _media_type(data)
        return Response(data, media_type=kind, headers=headers)

    @app.get("/api/runs/{run_id}/archive.zip")
    async def archive(_: Reader, run_id: str) -> StreamingResponse:
        root = project(run_id)
        zipped = await asyncio.to_thread(files.archive, root, root.name)
        return StreamingResponse(
            _chunks(zipped), media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{root.name}.zip"'},
        )  # fmt: skip

    page.mount(app)
    return app


async def _stream(
    manager: RunManager, store: RunStore, run_id: str, since: int, request: Request
) -> AsyncIterator[str]:
    """The SSE body. The live queue is joined before the stored events are read, and an event already
    sent (by number) is never sent again, so a listener sees every event exactly once."""
    queue = manager.listen(run_id)
    sent = since
    try:
        for event in store.events(run_id, sent):
            yield _sse(event)
            sent = event.seq or sent
        if queue is None:  # not worked on here: follow the store while another process works on it
            while store.is_live(run_id) and not await request.is_disconnected():
                await asyncio.sleep(POLL_S)
                for event in store.events(run_id, sent):
                    yield _sse(event)
                    sent = event.seq or sent
            return
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield ": keep-alive\n\n"
                continue
            if event is None:
                break
            if event.seq is not None and event.seq <= sent:
                continue
            yield _sse(event)
            sent = event.seq or sent
        for event in store.events(run_id, sent):  # anything stored after the last one delivered live
            yield _sse(event)
    finally:
        if queue is not None:
            manager.unlisten(run_id, queue)


def _sse(event: Event) -> str:
    data = json.dumps({"kind": event.kind, "seq": event.seq, "at": event.at, **event.data}, ensure_ascii=False)
    head = f"id: {event.seq}\n" if event.seq is not None else ""
    return f"{head}event: {event.kind}\ndata: {data}\n\n"


async def _chunks(spooled: Any) -> AsyncIterator[bytes]:
    try:
        while chunk := spooled.read(64 * 1024):
            yield chunk
    finally:
        spooled.close()


IMAGES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
"""Raster images (a Data Interpreter's charts) are shown as images, known by their first bytes; never
SVG or HTML, which can carry scripts: those are text."""


def _media_type(data: bytes) -> str:
    if kind := next((kind for magic, kind in IMAGES.items() if data.startswith(magic)), None):
        return kind
    if b"\0" in data[:8192]:
        return "application/octet-stream"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain; charset=utf-8"


def check_bind(host: str, workspace: Path) -> None:
    """Binding beyond loopback needs tokens: the server would otherwise be open to the network."""
    if is_loopback(host):
        return
    tokens = TokenStore.open(workspace)
    try:
        if not tokens.has_active():
            raise ConfigError(
                f"refusing to serve on {host} without API tokens: anyone who can reach it could start runs. "
                "Create one first (agentco tokens create NAME --scope admin), or serve on 127.0.0.1",
                key="--host",
            )
    finally:
        tokens.close()
