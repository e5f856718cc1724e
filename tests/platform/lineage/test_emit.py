"""Where product-run events go: JSON lines in the state folder without a backend, HTTP with the API
key to OPENLINEAGE_URL, and never a raised error for an unreachable backend."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from openlineage.client.event_v2 import RunEvent
from openlineage.client.serde import Serde

from meshlake.platform import ConfigurationError, PortRef
from meshlake.platform._materialize import PortResult
from meshlake.platform.lineage._emit import EVENTS_FILE, LineageEmitter, read_events
from meshlake.platform.lineage._events import product_run_event
from meshlake.platform.lineage._naming import (
    LineageError,
)
from tests.platform.lineage._support import MINI, wire

pytestmark = pytest.mark.unit


def _events_for(state: Path) -> list[RunEvent]:
    product = MINI.product("alpha.things")
    run_id = str(uuid.uuid4())
    published = [PortResult(PortRef("alpha", "things", "things"), "x", 0, 100, "overwrite")]
    return [
        product_run_event(
            kind, mesh=MINI, product=product, run_id=run_id, state_home=state, published=results
        )
        for kind, results in (("START", None), ("COMPLETE", published))
    ]


def test_without_a_backend_events_are_appended_as_json_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENLINEAGE_URL", raising=False)
    monkeypatch.delenv("OPENLINEAGE_DISABLED", raising=False)
    emitter = LineageEmitter.from_environment(tmp_path)
    events = _events_for(tmp_path)
    for event in events:
        emitter.emit(event)
    emitter.emit(events[0])  # appends; never rewrites

    lines = (tmp_path / EVENTS_FILE).read_text(encoding="utf-8").splitlines()
    assert lines == [Serde.to_json(event) for event in [*events, events[0]]]
    assert read_events(tmp_path / EVENTS_FILE) == [wire(e) for e in [*events, events[0]]]
    assert emitter.target == str(tmp_path / EVENTS_FILE)


def test_read_events_reports_a_torn_line(tmp_path: Path) -> None:
    assert read_events(tmp_path / "absent.jsonl") == []
    file = tmp_path / "events.jsonl"
    file.write_text('{"eventType": "START"}\n\n{"eventType": "COMP\n', encoding="utf-8")
    with pytest.raises(LineageError, match=r"events\.jsonl, line 3"):
        read_events(file)


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, str | None, dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers.get("Authorization"), json.loads(body)))
        self.send_response(201)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def backend() -> Iterator[tuple[str, list[tuple[str, str | None, dict[str, Any]]]]]:
    """A real HTTP server on a free local port that records what it is sent."""
    received: list[tuple[str, str | None, dict[str, Any]]] = []
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def test_with_openlineage_url_events_go_over_http_with_the_api_key(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    backend: tuple[str, list[tuple[str, str | None, dict[str, Any]]]],
) -> None:
    url, received = backend
    monkeypatch.setenv("OPENLINEAGE_URL", url)
    monkeypatch.setenv("OPENLINEAGE_API_KEY", "s3cret")
    monkeypatch.delenv("OPENLINEAGE_ENDPOINT", raising=False)
    monkeypatch.delenv("OPENLINEAGE_DISABLED", raising=False)
    emitter = LineageEmitter.from_environment(tmp_path)
    events = _events_for(tmp_path)
    for event in events:
        emitter.emit(event)
    emitter.close()

    assert received == [("/api/v1/lineage", "Bearer s3cret", wire(event)) for event in events]
    assert not (tmp_path / EVENTS_FILE).exists()


def test_an_unreachable_backend_logs_a_warning_and_does_not_raise(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    emitter = LineageEmitter.from_environment(
        tmp_path, environ={"OPENLINEAGE_URL": "http://127.0.0.1:9"}
    )
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="meshlake.platform.lineage._emit"):
        emitter.emit(_events_for(tmp_path)[0])
    assert time.perf_counter() - started < 5, "a dead backend must not hold the run up"

    (record,) = [r for r in caplog.records if r.name == "meshlake.platform.lineage._emit"]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "START event of lab/alpha.things" in message
    assert "http://127.0.0.1:9/api/v1/lineage" in message
    assert "ConnectionError" in message
    assert not (tmp_path / EVENTS_FILE).exists()


def test_a_broken_url_is_a_configuration_error_and_disabled_sends_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="OPENLINEAGE_URL='not a url'"):
        LineageEmitter.from_environment(tmp_path, environ={"OPENLINEAGE_URL": "not a url"})
    quiet = LineageEmitter.from_environment(
        tmp_path, environ={"OPENLINEAGE_URL": "http://127.0.0.1:9", "OPENLINEAGE_DISABLED": "true"}
    )
    quiet.emit(_events_for(tmp_path)[0])
    assert not (tmp_path / EVENTS_FILE).exists()
