"""A local Lambda Runtime API (the part a runtime client uses) on 127.0.0.1, for one execution environment.

The runtime client (``awslambdaric``, as Lambda's Python runtime runs it) asks for the next invocation, posts the
handler's response or error document, or posts an init error when the handler cannot be loaded. This server
hands out at most one event, records what came back and when (init and invocation durations), and keeps any
later ``/next`` waiting until the process is stopped, as Lambda freezes an idle environment.

Paths (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html): ``GET /2018-06-01/runtime/invocation/
next``, ``POST /2018-06-01/runtime/invocation/{id}/response``, ``.../{id}/error``, ``POST /2018-06-01/runtime/
init/error``. ``POST /lambda-tasks/notes`` is ours: verify's bootstrap reports what it refused to load there.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_PREFIX = "/2018-06-01/runtime"


@dataclass
class Exchange:
    """What happened between the runtime and this API, with monotonic timestamps (seconds)."""

    started: float = field(default_factory=time.monotonic)
    init_done: float | None = None  # the first /next: the end of Lambda's Init phase
    delivered: float | None = None  # the event handed out
    finished: float | None = None  # its response or error posted
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    init_error: dict[str, Any] | None = None
    response: bytes | None = None
    content_type: str = ""
    error: dict[str, Any] | None = None
    notes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def init_seconds(self) -> float | None:
        end = self.init_done if self.init_done is not None else self.finished if self.init_error else None
        return None if end is None else end - self.started

    @property
    def call_seconds(self) -> float | None:
        if self.delivered is None or self.finished is None:
            return None
        return self.finished - self.delivered


class RuntimeAPI:
    """The server: ``with RuntimeAPI(event, function_arn, timeout) as api:`` then ``api.address`` for
    ``AWS_LAMBDA_RUNTIME_API``; ``api.changed`` is set whenever the exchange moves on."""

    def __init__(self, event: bytes | None, function_arn: str, timeout: int) -> None:
        self.event = event
        self.function_arn = function_arn
        self.timeout = timeout
        self.exchange = Exchange()
        self.changed = threading.Event()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _handler_class(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def address(self) -> str:
        port = self._server.server_address[1]
        return f"127.0.0.1:{port}"

    def __enter__(self) -> RuntimeAPI:
        self.exchange = Exchange()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    # -- what the handler class calls
    def next_invocation(self) -> tuple[bytes, dict[str, str]] | None:
        """The event for the first /next (None: nothing to run; the caller waits until stopped)."""
        with self._lock:
            first = self.exchange.init_done is None
            if first:
                self.exchange.init_done = time.monotonic()
            self.changed.set()
            if not first or self.event is None:
                return None
            self.exchange.delivered = time.monotonic()
        deadline = int(time.time() * 1000) + self.timeout * 1000
        return self.event, {
            "Lambda-Runtime-Aws-Request-Id": self.exchange.request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline),
            "Lambda-Runtime-Invoked-Function-Arn": self.function_arn,
            "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
            "Content-Type": "application/json",
        }

    def record(self, kind: str, body: bytes, content_type: str) -> None:
        with self._lock:
            exchange = self.exchange
            if kind == "notes":
                exchange.notes.append(_json(body))
            else:
                exchange.finished = time.monotonic()
                if kind == "response":
                    exchange.response, exchange.content_type = body, content_type
                elif kind == "error":
                    exchange.error = _json(body)
                else:
                    exchange.init_error = _json(body)
        self.changed.set()

    def wait_stopped(self) -> None:
        self._stop.wait()


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a runtime stopped mid-request (verify kills it once it answered) is no error of ours


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return {"errorMessage": body.decode("utf-8", "replace"), "errorType": "Runtime.InvalidErrorDocument"}
    return value if isinstance(value, dict) else {"value": value}


def _handler_class(api: RuntimeAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the runtime's output is the user's
            pass

        def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path != f"{_PREFIX}/invocation/next":
                self._reply(404, b'{"errorType":"InvalidRequest"}')
                return
            handed = api.next_invocation()
            if handed is None:
                api.wait_stopped()  # an idle environment: frozen until verify stops the process
                self.close_connection = True
                return
            body, headers = handed
            self._reply(200, body, headers)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request_id = api.exchange.request_id
            kinds = {f"{_PREFIX}/invocation/{request_id}/response": "response",
                     f"{_PREFIX}/invocation/{request_id}/error": "error",
                     f"{_PREFIX}/init/error": "init_error", "/lambda-tasks/notes": "notes"}
            kind = kinds.get(self.path)
            if kind is None:
                self._reply(400, b'{"errorType":"InvalidRequestID"}')
                return
            api.record(kind, body, self.headers.get("Content-Type") or "")
            self._reply(202, b'{"status":"OK"}')

    return Handler
