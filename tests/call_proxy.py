"""A recording HTTP proxy in front of moto's server, on 127.0.0.1: every AWS call a command makes (in any
process) is listed by its operation name, so a test can say "no write call"."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

READ_PREFIXES = ("Get", "List", "Describe", "Head")


def operation(method: str, path: str, headers: dict[str, str], body: bytes) -> str:
    """The call's name: X-Amz-Target's (JSON protocols), the query protocol's Action, else method and path."""
    target = headers.get("x-amz-target", "")
    if target:
        return target.rsplit(".", 1)[-1]
    if body and headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        action = parse_qs(body.decode(errors="replace")).get("Action")
        if action:
            return action[0]
    return f"{method} {urlsplit(path).path}"


def is_write(call: str) -> bool:
    if " " in call:  # a REST call: GET and HEAD read
        return not call.startswith(("GET ", "HEAD "))
    return not call.startswith(READ_PREFIXES)


@contextmanager
def recording_proxy(upstream: str) -> Iterator[tuple[str, list[str]]]:
    """``(url, calls)``: point AWS_ENDPOINT_URL at ``url``; ``calls`` fills as requests pass."""
    target = urlsplit(upstream)
    calls: list[str] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            with lock:
                calls.append(operation(self.command, self.path, headers, body))
            connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=60)
            connection.request(self.command, self.path, body=body or None,
                               headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
            answer = connection.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            connection.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", calls
    finally:
        server.shutdown()
        server.server_close()
