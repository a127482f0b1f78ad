"""A real local HTTP server that replays provider responses (JSON fixtures) in order, per route.

Each route (method, path) has a queue of `Reply`s; the last reply repeats. Every request is recorded
(method, path with query, headers, JSON body) so tests can assert what was sent and how often.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Any:
    """The parsed JSON fixture `fixtures/<name>.json`."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    delay_s: float = 0.0


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeApi:
    routes: dict[tuple[str, str], list[Reply]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on(self, method: str, path: str, *replies: Reply) -> None:
        self.routes[(method, path)] = list(replies)

    def calls(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if (r.method, r.path) == (method, path)]

    def next_reply(self, method: str, path: str) -> Reply:
        with self.lock:
            queue = self.routes.get((method, path))
            if not queue:
                return Reply(404, {"error": {"code": "NOT_FOUND", "message": f"no fixture for {method} {path}"}})
            return queue.pop(0) if len(queue) > 1 else queue[0]


def _handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            api.requests.append(Recorded(self.command, parts.path, parts.query, dict(self.headers), body))
            reply = api.next_reply(self.command, parts.path)
            if reply.delay_s:
                time.sleep(reply.delay_s)
            payload = json.dumps(reply.body).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class FakeServer:
    """Context manager: serves `api` on 127.0.0.1 at a free port; `base_url` is http://127.0.0.1:PORT."""

    def __init__(self, api: FakeApi) -> None:
        self.api = api
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
