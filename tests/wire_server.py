"""A scriptable model server on loopback that speaks the OpenAI and Anthropic wire formats.

Tests queue behaviours (a reply, an HTTP error, a dropped connection, a stalled stream) and the
server plays them in order, one per request, whichever API the request came in on. It records
every request so tests can assert on paths, headers and bodies. Use the ``wire_server`` fixture,
or ``with WireServer() as server:`` directly.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest


@dataclass
class Reply:
    """A normal answer, streamed in ``chunks`` pieces when the request asked for a stream."""

    text: str
    chunks: int = 3
    usage: bool = True
    prompt_tokens: int = 10
    completion_tokens: int = 5
    finish: str = "stop"


@dataclass
class ToolReply:
    """Structured output: a forced tool call for Anthropic; JSON message content for OpenAI,
    which is what ``response_format`` json_schema produces there."""

    data: Any
    name: str | None = None
    chunks: int = 3
    prompt_tokens: int = 10
    completion_tokens: int = 5


@dataclass
class Status:
    """An HTTP error answer with the provider's error body."""

    code: int
    message: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    error_code: str | None = None


@dataclass
class Drop:
    """Start streaming ``text``, then close the socket after ``after`` chunks."""

    text: str = "this answer never finishes"
    after: int = 2


@dataclass
class Stall:
    """Start streaming ``text``, then go silent for ``seconds`` after ``after`` chunks."""

    text: str = "this answer stalls"
    seconds: float = 5.0
    after: int = 2


@dataclass
class StreamError:
    """Start streaming, then send the provider's in-stream error event after ``after`` chunks and end."""

    error_type: str = "overloaded_error"
    message: str = "scripted error mid-stream"
    text: str = "this answer breaks off"
    after: int = 2


Behaviour = Reply | ToolReply | Status | Drop | Stall | StreamError


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    at: float
    """``time.monotonic()`` when the request arrived."""


def _split(text: str, parts: int) -> list[str]:
    size = max(1, -(-len(text) // max(1, parts)))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


class WireServer:
    """A ``ThreadingHTTPServer`` on 127.0.0.1 with a queue of scripted behaviours."""

    def __init__(self) -> None:
        self._queue: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self.requests: list[Recorded] = []
        self.fallback: Callable[[Recorded], Behaviour] | None = None
        """Decides the behaviour when the queue is empty (e.g. for long runs); unset, the server answers 418."""
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="wire-server", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    # Scripting; each call queues one behaviour and returns the server so calls can be chained.
    def push(self, *behaviours: Behaviour) -> WireServer:
        with self._lock:
            self._queue.extend(behaviours)
        return self

    def reply(self, text: str, **options: Any) -> WireServer:
        return self.push(Reply(text, **options))

    def reply_tool(self, data: Any, **options: Any) -> WireServer:
        return self.push(ToolReply(data, **options))

    def status(
        self, code: int, message: str | None = None, *, headers: dict[str, str] | None = None, **options: Any
    ) -> WireServer:
        return self.push(Status(code, message, headers or {}, **options))

    def drop_connection(self, **options: Any) -> WireServer:
        return self.push(Drop(**options))

    def stall(self, seconds: float = 5.0, **options: Any) -> WireServer:
        return self.push(Stall(seconds=seconds, **options))

    def stream_error(self, error_type: str = "overloaded_error", **options: Any) -> WireServer:
        return self.push(StreamError(error_type, **options))

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def _next(self, request: Recorded) -> Behaviour:
        with self._lock:
            self.requests.append(request)
            if self._queue:
                return self._queue.popleft()
        if self.fallback is not None:
            return self.fallback(request)
        return Status(418, "wire server: no scripted behaviour left for this request")

    def close(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> WireServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@pytest.fixture
def wire_server() -> Iterator[WireServer]:
    with WireServer() as server:
        yield server


def _handler_for(server: WireServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_WireHandler):
        wire = server

    return Handler


class _WireHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 with chunked bodies, so a closed socket mid-stream is an error the client sees,
    # not a normal end of body as it would be for HTTP/1.0.
    protocol_version = "HTTP/1.1"
    wire: WireServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def do_GET(self) -> None:
        self._json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        self.close_connection = True
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        recorded = Recorded(
            "POST",
            split.path,
            dict(parse_qsl(split.query)),
            {k.lower(): v for k, v in self.headers.items()},
            body,
            time.monotonic(),
        )
        behaviour = self.wire._next(recorded)
        body = body if isinstance(body, dict) else {}
        if split.path.endswith("/chat/completions"):
            self._openai(behaviour, body)
        elif split.path.endswith("/messages"):
            self._anthropic(behaviour, body)
        else:
            self._json(404, {"error": {"message": f"no route {split.path}"}})

    # -- plumbing -----------------------------------------------------------------------------
    def _json(self, code: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _play(self, events: list[bytes], behaviour: Behaviour, error_event: bytes = b"") -> None:
        """Send SSE events; a Drop, Stall or StreamError cuts in after its ``after`` events."""
        self._start_stream()
        try:
            for i, event in enumerate(events):
                if isinstance(behaviour, Drop | Stall | StreamError) and i == behaviour.after:
                    if isinstance(behaviour, Drop):
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    if isinstance(behaviour, StreamError):
                        self._chunk(error_event)
                        break
                    self.wire.stopping.wait(behaviour.seconds)
                self._chunk(event)
            self._chunk(b"")
        except OSError:
            pass  # the client gave up on us (after a stall): nothing left to do

    def _error(self, behaviour: Status, payload: dict[str, Any]) -> None:
        headers = dict(behaviour.headers)
        if behaviour.code in (401, 403) and "x-request-id" not in {k.lower() for k in headers}:
            headers["x-request-id"] = "req_test"
        self._json(behaviour.code, payload, headers)

    # -- OpenAI chat completions ----------------------------------------------------------------
    def _openai(self, behaviour: Behaviour, body: dict[str, Any]) -> None:
        model = body.get("model", "test-model")
        if isinstance(behaviour, Status):
            message = behaviour.message or f"scripted HTTP {behaviour.code}"
            code = behaviour.error_code
            self._error(behaviour, {"error": {"message": message, "type": "scripted", "param": None, "code": code}})
            return
        text = json.dumps(behaviour.data) if isinstance(behaviour, ToolReply) else behaviour.text
        reply = behaviour if isinstance(behaviour, Reply | ToolReply) else Reply(text)
        usage = {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        }
        finish = reply.finish if isinstance(reply, Reply) else "stop"
        base = {"id": "chatcmpl-test", "created": 0, "model": model}
        if not body.get("stream"):
            message = {"role": "assistant", "content": text}
            choice = {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
            self._json(200, {**base, "object": "chat.completion", "choices": [choice], "usage": usage})
            return

        def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
            return (
                b"data: "
                + json.dumps({**base, "object": "chat.completion.chunk", "choices": choices, **extra}).encode()
                + b"\n\n"
            )

        def delta(content: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            return {"index": 0, "delta": content, "finish_reason": finish_reason, "logprobs": None}

        events = [chunk([delta({"role": "assistant", "content": ""})])]
        events += [chunk([delta({"content": piece})]) for piece in _split(text, reply.chunks)]
        events.append(chunk([delta({}, finish)]))
        wants_usage = (body.get("stream_options") or {}).get("include_usage")
        if wants_usage and getattr(reply, "usage", True):
            events.append(chunk([], usage=usage))
        events.append(b"data: [DONE]\n\n")
        error = {"error": {"message": getattr(behaviour, "message", ""), "type": getattr(behaviour, "error_type", "")}}
        self._play(events, behaviour, b"data: " + json.dumps(error).encode() + b"\n\n")

    # -- Anthropic messages ---------------------------------------------------------------------
    def _anthropic(self, behaviour: Behaviour, body: dict[str, Any]) -> None:
        model = body.get("model", "test-model")
        if isinstance(behaviour, Status):
            kind = _ANTHROPIC_ERROR_TYPES.get(behaviour.code, "api_error")
            message = behaviour.message or f"scripted HTTP {behaviour.code}"
            self._error(behaviour, {"type": "error", "error": {"type": kind, "message": message}})
            return
        reply = behaviour if isinstance(behaviour, Reply | ToolReply) else Reply(behaviour.text)
        if isinstance(reply, ToolReply):
            name = reply.name or _forced_tool(body) or "output"
            block: dict[str, Any] = {"type": "tool_use", "id": "toolu_test", "name": name, "input": {}}
            pieces = _split(json.dumps(reply.data), reply.chunks)
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in pieces]
            stop_reason, final_block = "tool_use", {**block, "input": reply.data}
        else:
            block = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in _split(reply.text, reply.chunks)]
            stop_reason = {"stop": "end_turn", "length": "max_tokens"}.get(reply.finish, reply.finish)
            final_block = {"type": "text", "text": reply.text}
        message = {
            "id": "msg_test",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": reply.prompt_tokens, "output_tokens": 1},
        }
        if not body.get("stream"):
            usage = {"input_tokens": reply.prompt_tokens, "output_tokens": reply.completion_tokens}
            self._json(200, {**message, "content": [final_block], "stop_reason": stop_reason, "usage": usage})
            return

        def event(name: str, data: dict[str, Any]) -> bytes:
            return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode()

        events = [
            event("message_start", {"message": message}),
            event("content_block_start", {"index": 0, "content_block": block}),
            event("ping", {}),
            *(event("content_block_delta", {"index": 0, "delta": d}) for d in deltas),
            event("content_block_stop", {"index": 0}),
            event(
                "message_delta",
                {
                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": reply.completion_tokens},
                },
            ),
            event("message_stop", {}),
        ]
        error = {"error": {"type": getattr(behaviour, "error_type", ""), "message": getattr(behaviour, "message", "")}}
        self._play(events, behaviour, event("error", error))


def _forced_tool(body: dict[str, Any]) -> str | None:
    choice = body.get("tool_choice") or {}
    return choice.get("name") if isinstance(choice, dict) else None
