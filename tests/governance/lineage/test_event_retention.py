"""Kept lineage events are pruned after the retention (MESHLAKE_LINEAGE_EVENT_RETENTION_DAYS, default
90 days), on SQLite and PostgreSQL: old events go, recent ones stay, and the runs they fed stay.

Events are sent over real HTTP; their age is set in the real database (received_at), the one fact
a test cannot wait for.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, update

from meshlake.governance.db._tables import LineageEvent, LineageEventDataset
from meshlake.governance.services._lineage import _retention
from tests.governance.conftest import Service

pytestmark = pytest.mark.integration

NAMESPACE = "retention-tests"
PRODUCER = "https://example.com/retention-tests"


def _event(job: str, run_id: str) -> dict[str, Any]:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-02T07:00:00Z",
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id},
        "job": {"namespace": NAMESPACE, "name": job},
        "inputs": [{"namespace": "file", "name": f"/lake/{job}/in"}],
        "outputs": [{"namespace": "file", "name": f"/lake/{job}/out"}],
    }


def _send(service: Service, job: str) -> str:
    run_id = str(uuid.uuid4())
    with service.client() as client:
        response = client.post("/api/v1/lineage", json=_event(job, run_id))
    assert response.status_code == 201, response.text
    return run_id


def _age(service: Service, run_id: str, days: float) -> None:
    engine = create_engine(service.database_url)
    with engine.begin() as connection:
        connection.execute(
            update(LineageEvent)
            .where(LineageEvent.run_id == run_id)
            .values(received_at=datetime.now(UTC) - timedelta(days=days))
        )
    engine.dispose()


def _kept_runs(service: Service, job: str) -> list[str]:
    with service.client() as client:
        response = client.get(
            "/api/v1/lineage/events", params={"job": job, "namespace": NAMESPACE, "limit": 1000}
        )
    assert response.status_code == 200, response.text
    return [event["run_id"] for event in response.json()["events"]]


def _filing_rows(service: Service) -> int:
    engine = create_engine(service.database_url)
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(LineageEventDataset))
    engine.dispose()
    return int(count or 0)


def test_an_admin_prune_takes_events_older_than_90_days_and_keeps_the_rest(
    service: Service,
) -> None:
    job = "admin-prune"
    old, young, fresh = (_send(service, job) for _ in range(3))
    _age(service, old, 200)
    _age(service, young, 80)  # inside the default 90 days
    rows_before = _filing_rows(service)

    with service.client() as admin:
        response = admin.post("/api/v1/lineage/events/prune")
    assert response.status_code == 200, response.text
    assert response.json()["pruned"] == 1
    cut = datetime.fromisoformat(response.json()["before"])
    assert abs((datetime.now(UTC) - cut) - timedelta(days=90)) < timedelta(minutes=5)

    assert sorted(_kept_runs(service, job)) == sorted([young, fresh])
    # The old event's two datasets (input and output) are no longer filed under it.
    assert _filing_rows(service) == rows_before - 2
    # The run it fed stays: the graph and runs are what the store made of the events.
    with service.client() as client:
        runs = client.get("/api/v1/lineage/runs", params={"job": job, "namespace": NAMESPACE})
    assert runs.status_code == 200, runs.text
    assert old in {run["run_id"] for run in runs.json()}

    with service.client() as admin:
        again = admin.post("/api/v1/lineage/events/prune")
    assert again.json()["pruned"] == 0


def test_only_an_admin_prunes(service: Service) -> None:
    producer = service.token("retention-producer", kind="service")
    with service.client(producer) as client:
        response = client.post("/api/v1/lineage/events/prune")
    assert response.status_code == 403, response.text
    assert "prune" in response.json()["detail"]


def test_ingest_prunes_by_the_configured_retention(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = "ingest-prune"
    stale, kept = _send(service, job), _send(service, job)
    _age(service, stale, 20)
    _age(service, kept, 5)
    monkeypatch.setenv("MESHLAKE_LINEAGE_EVENT_RETENTION_DAYS", "10")
    monkeypatch.setattr(_retention, "PRUNE_EVERY", 0.0)  # due at this ingest, not in an hour

    newest = _send(service, job)

    assert sorted(_kept_runs(service, job)) == sorted([kept, newest])


def test_ingest_prunes_at_most_once_per_interval(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = "throttled-prune"
    monkeypatch.setenv("MESHLAKE_LINEAGE_EVENT_RETENTION_DAYS", "10")
    monkeypatch.setattr(_retention, "PRUNE_EVERY", 0.0)
    first = _send(service, job)  # prunes now, and starts the interval
    monkeypatch.setattr(_retention, "PRUNE_EVERY", 3600.0)
    _age(service, first, 20)

    second = _send(service, job)

    # Within the hour nothing is pruned: the stale event is still readable until the next turn.
    assert sorted(_kept_runs(service, job)) == sorted([first, second])


def test_a_retention_that_is_not_positive_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from meshlake.governance import GovernanceSettings

    monkeypatch.setenv("MESHLAKE_LINEAGE_EVENT_RETENTION_DAYS", "0")
    with pytest.raises(ValidationError, match="lineage_event_retention_days"):
        GovernanceSettings()
