"""Recording lineage events: runs and their states, idempotency, batches (also racing ones), and a
bad event refusing its whole batch."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from meshlake.governance.db._engine import make_engine
from meshlake.governance.db._tables import (
    ColumnEdgeRow,
    LineageDataset,
    LineageIO,
    LineageJob,
    LineageRun,
)
from tests.governance.conftest import Service
from tests.governance.lineage._support import (
    AMP,
    MESH,
    T0,
    get_json,
    lineage_client,
    run_event,
    wire,
)

pytestmark = pytest.mark.integration


def test_runs_record_complete_and_fail_with_its_message(
    service: Service, bot: str, state: Path
) -> None:
    completed = get_json(service, bot, "/api/v1/lineage/runs", job="hr.employees")
    assert completed[0]["state"] == "COMPLETE"
    assert completed[0]["started_at"] is not None and completed[0]["ended_at"] is not None
    assert completed[0]["job_namespace"] == "emea"

    run_id = str(uuid.uuid4())
    message = "hr.employees: transform.sql: AnalysisException: [UNRESOLVED_COLUMN] hire_dt"
    failed_at = T0 + timedelta(days=1, minutes=2)
    client = lineage_client(
        service, bot, gzip=True
    )  # gzip is what HttpTransport sends when configured
    client.emit(
        run_event("hr.employees", "START", state, run_id, event_time=T0 + timedelta(days=1))
    )
    client.emit(
        run_event("hr.employees", "FAIL", state, run_id, error=message, event_time=failed_at)
    )
    client.close()

    latest = get_json(service, bot, "/api/v1/lineage/runs", job="hr.employees", limit=1)
    assert [(r["run_id"], r["state"], r["error"]) for r in latest] == [(run_id, "FAIL", message)]
    assert datetime.fromisoformat(latest[0]["ended_at"]) == failed_at
    assert datetime.fromisoformat(latest[0]["started_at"]) == T0 + timedelta(days=1)


def test_a_complete_that_overtakes_its_start_stays_complete(
    service: Service, bot: str, state: Path
) -> None:
    run_id = str(uuid.uuid4())
    start, end = T0 + timedelta(days=2), T0 + timedelta(days=2, minutes=5)
    with service.client(bot) as client:
        for kind, moment in (("COMPLETE", end), ("START", start), ("RUNNING", start)):
            # meshlake sends no RUNNING; other producers do: a START relabelled stands for one.
            event = wire(
                run_event(
                    "sales.customers",
                    kind.replace("RUNNING", "START"),
                    state,
                    run_id,
                    event_time=moment,
                )
            )
            event["eventType"] = kind
            response = client.post("/api/v1/lineage", json=event)
            assert response.status_code == 201, response.text
    (run,) = [
        r
        for r in get_json(service, bot, "/api/v1/lineage/runs", job="sales.customers")
        if r["run_id"] == run_id
    ]
    assert run["state"] == "COMPLETE"
    assert datetime.fromisoformat(run["started_at"]) == start
    assert datetime.fromisoformat(run["ended_at"]) == end


def _snapshot(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return {
                model.__tablename__: sorted(
                    tuple(row) for row in connection.execute(select(model.__table__))
                )
                for model in (LineageJob, LineageDataset, LineageRun, LineageIO, ColumnEdgeRow)
            }
    finally:
        engine.dispose()


def test_the_same_event_twice_changes_nothing(service: Service, bot: str, state: Path) -> None:
    run_id = str(uuid.uuid4())
    events = [
        wire(run_event(AMP, kind, state, run_id, event_time=T0 + timedelta(days=3, seconds=i)))
        for i, kind in enumerate(("START", "COMPLETE"))
    ]
    with service.client(bot) as client:
        for event in events:
            assert client.post("/api/v1/lineage", json=event).status_code == 201
        before = _snapshot(service.database_url)
        for event in [*events, events[0]]:
            assert client.post("/api/v1/lineage", json=event).status_code == 201
        assert client.post("/api/v1/lineage/batch", json=events).status_code == 201

    assert _snapshot(service.database_url) == before


def test_batch_records_all_and_counts_them(service: Service, bot: str, state: Path) -> None:
    products = ["sales.customers", "sales.orders", "hr.engagement_retention"]
    run_ids = {product: str(uuid.uuid4()) for product in products}
    events = [
        wire(
            run_event(
                product, kind, state, run_ids[product], event_time=T0 + timedelta(days=4, seconds=i)
            )
        )
        for product in products
        for i, kind in enumerate(("START", "COMPLETE"))
    ]
    with service.client(bot) as client:
        response = client.post("/api/v1/lineage/batch", json=events)
        assert response.status_code == 201, response.text
        counts = response.json()
        empty = client.post("/api/v1/lineage/batch", json=[])

    assert counts["events"] == 6
    assert counts["runs"] == 3
    assert counts["jobs"] == 3
    assert counts["column_edges"] > 0 and counts["datasets"] >= 6
    assert empty.status_code == 201 and empty.json()["events"] == 0
    for product, run_id in run_ids.items():
        runs = get_json(service, bot, "/api/v1/lineage/runs", job=product)
        assert (run_id, "COMPLETE") in {(run["run_id"], run["state"]) for run in runs}

    with service.client() as admin:
        audit = admin.get(
            "/api/v1/audit",
            params={"action": "lineage.ingest", "principal": "lineage-bot", "limit": 2},
        ).json()
    # One audit entry per request, not per event (the empty batch wrote none).
    assert audit[0]["after"]["events"] == 6
    assert audit[0]["after"]["runs"] == 3
    assert audit[0]["target"] == "3 jobs"


def test_concurrent_batches_racing_on_new_datasets_all_land(
    service: Service, bot: str, state: Path, tmp_path: Path
) -> None:
    """Four writers, each with batches naming the same new datasets: no conflict error, no
    deadlock, every run recorded and every dataset, IO row and edge stored once."""
    fresh = tmp_path / "elsewhere"  # new physical datasets that no writer has seen yet
    products = sorted(map(str, MESH.products))
    templates = {
        (product, kind): wire(run_event(product, kind, fresh, str(uuid.uuid4())))
        for product in products
        for kind in ("START", "COMPLETE")
    }

    def batch() -> list[dict[str, Any]]:
        events = []
        for product in products:
            run_id = str(uuid.uuid4())
            for kind in ("START", "COMPLETE"):
                event = json.loads(json.dumps(templates[(product, kind)]))
                event["run"]["runId"] = run_id
                events.append(event)
        return events

    def writer(_index: int) -> list[int]:
        with service.client(bot) as client:
            return [
                client.post("/api/v1/lineage/batch", json=batch()).status_code for _ in range(3)
            ]

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = [status for result in pool.map(writer, range(4)) for status in result]

    assert statuses == [201] * 12
    rows = _snapshot(service.database_url)
    names = [row[2] for row in rows["lineage_datasets"] if str(fresh) in row[2]]
    assert len(names) == len(set(names)) > 0
    fresh_ids = {row[0] for row in rows["lineage_datasets"] if str(fresh) in row[2]}
    io = [row[1:] for row in rows["lineage_io"] if row[2] in fresh_ids]
    assert len(io) == len(set(io))
    # Every run of every writer is there, COMPLETE.
    complete = {row[1] for row in rows["lineage_runs"] if row[3] == "COMPLETE"}
    with service.client(bot) as client:
        recent = client.get("/api/v1/lineage/runs", params={"limit": 1000}).json()
    assert sum(1 for run in recent if run["run_id"] in complete) >= 4 * 3 * len(products)


def test_a_bad_event_refuses_the_whole_batch(service: Service, bot: str, state: Path) -> None:
    good = wire(run_event("sales.orders", "START", state, str(uuid.uuid4())))
    bad = wire(run_event("sales.orders", "COMPLETE", state, str(uuid.uuid4())))
    del bad["run"]["runId"]
    with service.client(bot) as client:
        response = client.post("/api/v1/lineage/batch", json=[good, bad])
        runs = get_json(service, bot, "/api/v1/lineage/runs", job="sales.orders", limit=1000)
        not_a_list = client.post("/api/v1/lineage/batch", json=good)

    assert response.status_code == 422
    assert response.json()["detail"] == "[1].run.runId: required"
    assert good["run"]["runId"] not in {run["run_id"] for run in runs}
    assert not_a_list.status_code == 422
    assert not_a_list.json()["detail"].startswith("body: a JSON array of RunEvents expected")
