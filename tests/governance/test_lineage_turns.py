"""Ingest writers on one SQLite database, across threads and processes, lose nothing and never
wait for each other's locks.

Two processes (as ``meshlake governance serve --workers 2`` runs) and two threads in each write
batches of meshlake's real events into the same database at once: threads take turns in their
process, processes meet SQLite's busy handler; every run and every audit entry lands. Over real
HTTP, concurrent single events sent with a token whose last use is to be recorded are answered at
once: that record is written outside the request's transaction, which once held SQLite's write
lock while waiting for a writer turn (a 30 s stall and a 503).
"""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openlineage.client.serde import Serde

from meshlake.governance import upgrade
from meshlake.platform import load_mesh
from meshlake.platform.lineage import product_column_lineage, product_run_event
from tests.governance.conftest import Service
from tests.helpers import REPO

pytestmark = pytest.mark.integration

BATCHES_PER_WRITER = 3


def _bodies(copy: int) -> list[bytes]:
    mesh = load_mesh(REPO)
    bodies = []
    for batch in range(BATCHES_PER_WRITER):
        events = []
        for product in mesh.products.values():
            lineage = product_column_lineage(mesh, product)
            run_id = str(uuid.uuid4())
            for second, kind in ((0, "START"), (30, "COMPLETE")):
                event = json.loads(
                    Serde.to_json(
                        product_run_event(
                            kind,
                            mesh=mesh,
                            product=product,
                            run_id=run_id,
                            state_home=Path(f"/state/copy{copy}-{batch}"),
                            column_lineage=lineage,
                            event_time=datetime(2026, 11, 2, 7, 0, second, tzinfo=UTC),
                        )
                    )
                )
                events.append(event)
        bodies.append(json.dumps(events).encode())
    return bodies


def _writer(url: str, copy: int) -> None:
    from meshlake.governance.db._engine import make_engine, session_factory
    from meshlake.governance.services import _lineage
    from meshlake.governance.services._access import BOOTSTRAP_CALLER

    engine = make_engine(url)
    sessions = session_factory(engine)

    def send(body: bytes) -> None:
        with sessions() as session, session.begin():
            _lineage.ingest_body(session, BOOTSTRAP_CALLER, body, batch=True)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(send, _bodies(copy)))
    engine.dispose()


def test_two_processes_of_two_threads_all_land(tmp_path: Path) -> None:
    database = tmp_path / "governance.db"
    url = f"sqlite:///{database}"
    upgrade(url)
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_writer, args=(url, copy)) for copy in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
    assert [process.exitcode for process in processes] == [0, 0]
    products = len(load_mesh(REPO).products)
    with sqlite3.connect(database) as connection:
        runs = connection.execute(
            "SELECT count(*), sum(state = 'COMPLETE') FROM lineage_runs"
        ).fetchone()
        audits = connection.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'lineage.ingest'"
        ).fetchone()
    assert runs == (2 * BATCHES_PER_WRITER * products, 2 * BATCHES_PER_WRITER * products)
    assert audits == (2 * BATCHES_PER_WRITER,)


SENDERS = 4
STALL_S = 10.0
"""Far above a single event's answer (tens of ms), far below SQLite's busy timeout (30 s)."""


def _single_event(job: str) -> dict[str, object]:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-02T07:00:00Z",
        "producer": "https://example.com/turn-tests",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "turn-tests", "name": job},
        "inputs": [{"namespace": "file", "name": f"/lake/{job}/in"}],
        "outputs": [{"namespace": "file", "name": f"/lake/{job}/out"}],
    }


def test_concurrent_events_with_a_token_in_first_use_are_answered_at_once(
    service: Service,
) -> None:
    # A fresh token: its last use is recorded by the first requests, which all arrive together.
    token = service.token(f"turns-{uuid.uuid4().hex[:8]}", "service", [{"role": "admin"}])
    start = threading.Barrier(SENDERS)
    answers: list[tuple[int, float, str]] = []

    def send(sender: int) -> None:
        with service.client(token) as client:
            client.get("/api/v1/health").raise_for_status()  # connected before the start
            start.wait()
            for index in range(3):
                began = time.monotonic()
                response = client.post(
                    "/api/v1/lineage", json=_single_event(f"turns.job{sender}{index}")
                )
                answers.append((response.status_code, time.monotonic() - began, response.text))

    threads = [threading.Thread(target=send, args=(sender,)) for sender in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(answers) == SENDERS * 3
    assert [status for status, _, _ in answers] == [201] * len(answers), answers
    slowest = max(seconds for _, seconds, _ in answers)
    assert slowest < STALL_S, f"an event waited {slowest:.1f} s for an answer"
