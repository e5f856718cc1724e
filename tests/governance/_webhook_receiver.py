"""A webhook receiver on 127.0.0.1 for the tests: verifies signatures, deduplicates deliveries,
and answers from a script (500, a dropped connection, a slow answer) before it accepts."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from meshlake.governance import verify_signature


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# -- the receiver -------------------------------------------------------------------------------


@dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    answered: str


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1: per path, a script of answers for the first attempts of
    each delivery ("500", "drop" the connection, "slow" past the timeout), then 200.

    It verifies every signature with the secret registered for the path, and processes each
    X-Meshlake-Delivery once (``processed``), answering 200 to a duplicate, as a receiver must.
    """

    port: int = field(default_factory=free_port)
    slow_for: float = 2.0
    """How long a "slow" answer takes: past the deliverer's timeout."""
    scripts: dict[str, list[str]] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)
    received: list[Received] = field(default_factory=list)
    processed: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                answer = receiver._answer(self.path, dict(self.headers.items()), body)
                if answer == "drop":
                    self.close_connection = True
                    return
                if answer == "slow":
                    time.sleep(receiver.slow_for)
                status = {"500": 500, "503": 503, "401": 401}.get(answer, 200)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"no")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the deliverer hung up on a slow answer: expected here

        self._server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _answer(self, path: str, headers: dict[str, str], body: bytes) -> str:
        with self._lock:
            secret = self.secrets.get(path, "")
            verified = verify_signature(
                secret,
                headers.get("X-Meshlake-Timestamp", ""),
                body,
                headers.get("X-Meshlake-Signature", ""),
            )
            delivery = headers.get("X-Meshlake-Delivery", "")
            earlier = sum(
                1 for r in self.received if r.headers.get("X-Meshlake-Delivery") == delivery
            )
            script = self.scripts.get(path, [])
            if not verified:
                answer = "401"
            elif path in self.down:
                answer = "503"
            else:
                answer = script[earlier] if earlier < len(script) else "200"
            self.received.append(Received(time.monotonic(), path, headers, body, verified, answer))
            if answer == "200" and delivery not in self.processed:
                self.processed.append(delivery)
            return answer

    def requests(self, delivery: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.headers.get("X-Meshlake-Delivery") == delivery]

    def bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(r.body) for r in self.received]
