"""A proxy in front of moto's server that does what moto does not: Lambda's optimistic concurrency.

moto gives a function one RevisionId at creation and never checks it. Here every function has a revision of
ours that moves on every successful write; a write carrying another RevisionId is answered as Lambda answers it
(HTTP 412, ``PreconditionFailedException``). A code or configuration write moves it twice, as Lambda does (once
for the write, whose answer carries that revision, and again when the update finishes: aws/aws-sdk#377), so a
deploy that wrote against the revision of an answer would be refused. Each deploy talks to its own ``Door`` (a port of its own, so the
proxy knows whose call it is), and a ``turns`` list makes the order of the deploys' writes deterministic:
``["a", "b", "a", "b"]`` lets a's first write through, then b's, and so on; after the list, calls flow freely.
A write goes on its turn only once the other deploy is held at its own next write too (or has ended), so each
write carries the revision its deploy read before the previous write landed: lockstep, whatever the machine's
speed. An upper-case turn (``"B"``) lets b's write land but loses its answer (HTTP 503, which botocore sends
again at once: the second copy carries a revision that has moved, and is refused), as a network can.
After every successful write the function's state is recorded (``states``), so a test can tell whether a deploy's
whole intent was ever in place, and the state each door's last GetFunction answered (``last_read``): what a deploy
saw at its end. ``leave(door)`` drops the turns of a deploy that has ended. Binds 127.0.0.1 only; ``close()``
stops it (and it is a daemon thread).
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

FUNCTION = re.compile(r"^/2015-03-31/functions/(?P<name>[^/?]+)(?P<rest>/[^?]*)?")
#: (method, the path after the function's name) -> the write's kind; reads are the rest
WRITES = {("PUT", "/code"): "code", ("PUT", "/configuration"): "config", ("POST", "/versions"): "version"}
#: how long a held write waits for its turn before the turn is skipped (the other deploy may have no such write);
#: under botocore's read timeout of a short call (20 s), which would otherwise send the held write a second time
TURN_WAIT_S = 15.0
#: how far a successful write moves the revision: the write, then the update finishing (a version: once)
MOVES = {"code": 2, "config": 2, "version": 1}


class Revisions:
    """The state both doors share."""

    def __init__(self, upstream: str, turns: list[str] | None = None) -> None:
        self.upstream = urlsplit(upstream)
        self.turns = list(turns or [])
        self.revision: dict[str, int] = {}
        self.reads: dict[str, int] = {}
        self.states: list[tuple[str, str, dict[str, Any]]] = []  # (door, write kind, function state) after each write
        self.refused: list[tuple[str, str]] = []  # (door, write kind) answered 412
        self.log: list[str] = []  # every write as it went: "a code rev-f-2 -> 200"
        self.last_read: dict[tuple[str, str], dict[str, Any]] = {}  # (door, function) -> its last GetFunction's state
        self.parked: set[str] = set()  # doors with a write held for its turn
        self.gone: set[str] = set()  # doors whose deploy has ended
        self.retrying: set[str] = set()  # doors whose next write is botocore's copy of one whose answer was lost
        self.cond = threading.Condition()

    def rid(self, name: str) -> str:
        return f"rev-{name}-{self.revision.get(name, 0)}"

    def wait_turn(self, door: str) -> bool:
        """Hold a write until the turns say it is ``door``'s and the other deploy is held at its next write too (or
        has ended); True when the answer of this write is to be lost."""
        deadline = time.monotonic() + TURN_WAIT_S
        with self.cond:
            self.parked.add(door)
            self.cond.notify_all()
            try:
                while self.turns:
                    head = self.turns[0]
                    others = set(self.reads) - {door} - self.gone
                    ready = len(set(self.reads) | self.gone) >= 2 and others <= self.parked
                    if head.lower() == door and ready:
                        return head.isupper()
                    left = deadline - time.monotonic()
                    if left <= 0:
                        if head.lower() == door:  # the other deploy makes no further write: go
                            return head.isupper()
                        self.turns.pop(0)  # that deploy has no write left: skip its turn
                        deadline = time.monotonic() + TURN_WAIT_S
                        continue
                    self.cond.wait(left)
                return False
            finally:
                self.parked.discard(door)

    def leave(self, door: str) -> None:
        """``door``'s deploy has ended: its turns are skipped from now on."""
        with self.cond:
            self.gone.add(door)
            self.turns = [turn for turn in self.turns if turn.lower() != door]
            self.cond.notify_all()

    def done_turn(self, door: str) -> None:
        with self.cond:
            if self.turns and self.turns[0].lower() == door:
                self.turns.pop(0)
            self.cond.notify_all()

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
        try:
            connection.request(method, path, body=body or None, headers=headers)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def snapshot(self, name: str, headers: dict[str, str]) -> dict[str, Any]:
        read = {k: v for k, v in headers.items() if k.lower() in ("authorization", "x-amz-date", "user-agent")}
        status, _, body = self.forward("GET", f"/2015-03-31/functions/{name}", read, b"")
        return summary(json.loads(body)["Configuration"] if status == 200 else {})


def summary(config: dict[str, Any]) -> dict[str, Any]:
    """What the tests compare of a function: its code, memory size and environment."""
    return {"CodeSha256": config.get("CodeSha256"), "MemorySize": config.get("MemorySize"),
            "Environment": (config.get("Environment") or {}).get("Variables") or {}}


class Door(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, label: str, state: Revisions) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.label, self.state = label, state
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: Door

    def log_message(self, *args: Any) -> None:
        pass

    def _any(self) -> None:
        state, door = self.server.state, self.server.label
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        match = FUNCTION.match(self.path)
        name = unquote(match["name"]) if match else ""
        kind = WRITES.get((self.command, (match["rest"] or "") if match else "")) if match else None
        if kind is None:
            status, out_headers, out = state.forward(self.command, self.path, headers, body)
            if match and self.command == "GET" and status == 200:
                with state.cond:
                    state.reads[door] = state.reads.get(door, 0) + 1
                    if not match["rest"]:  # GetFunction
                        state.last_read[(door, name)] = summary(json.loads(out).get("Configuration") or {})
                    state.cond.notify_all()
                out = self._stamp(out, name)
            elif self.command == "POST" and self.path.rstrip("/").endswith("/2015-03-31/functions") and status < 300:
                created = json.loads(out).get("FunctionName", "")
                with state.cond:
                    state.revision[created] = 1
                out = self._stamp(out, created)
            return self._answer(status, out_headers, out)
        retry = door in state.retrying  # botocore's copy of a write whose answer was lost: no turn of its own
        state.retrying.discard(door)
        lose = False if retry else state.wait_turn(door)
        try:
            with state.cond:
                sent = (json.loads(body or b"{}") or {}).get("RevisionId")
                if sent and sent != state.rid(name):
                    state.refused.append((door, kind))
                    state.log.append(f"{door} {kind} {sent} -> 412 (at {state.rid(name)})")
                    message = json.dumps({"Type": "User", "message": "The Revision Id provided does not match "
                                          "the latest Revision Id. Call the GetFunction API to retrieve the latest "
                                          "Revision Id"}).encode()
                    return self._answer(412, {"x-amzn-ErrorType": "PreconditionFailedException",
                                              "Content-Type": "application/json"}, message)
                status, out_headers, out = state.forward(self.command, self.path, headers, body)
                state.log.append(f"{door} {kind} {sent} -> {status}")
                if status < 300:
                    state.revision[name] = state.revision.get(name, 0) + 1
                    out = self._stamp(out, name)  # the write's own revision
                    state.revision[name] += MOVES[kind] - 1
                    state.states.append((door, kind, state.snapshot(name, headers)))
                    if lose:
                        state.log[-1] += " (answer lost)"
                        state.retrying.add(door)
                        return self._answer(503, {"x-amzn-ErrorType": "ServiceException",
                                                  "Content-Type": "application/json"},
                                            b'{"Type": "Service", "message": "lost"}')
            return self._answer(status, out_headers, out)
        finally:
            if not retry:
                state.done_turn(door)

    def _stamp(self, body: bytes, name: str) -> bytes:
        """Our revision in place of moto's, wherever the answer carries one."""
        try:
            data = json.loads(body)
        except ValueError:
            return body
        rid = self.server.state.rid(name)
        if isinstance(data, dict):
            if "RevisionId" in data:
                data["RevisionId"] = rid
            if isinstance(data.get("Configuration"), dict):
                data["Configuration"]["RevisionId"] = rid
        return json.dumps(data).encode()

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any
