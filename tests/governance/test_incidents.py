"""SLA evidence per agreement and incidents over real HTTP, on SQLite and PostgreSQL, measured on
a real Delta table (written with delta-rs at the port's location): a breach opens an incident for
the provider naming the agreements affected; the incident resolves itself when the SLA holds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import httpx
import pyarrow as pa
import pytest
from deltalake import write_deltalake

from meshlake.governance.services._sla_schedule import SlaSchedule
from tests.governance._sharing import Clock, Mesh, serve_mesh

pytestmark = pytest.mark.integration

EMPLOYEES = "hr.employees.employees"


@pytest.fixture(scope="module")
def mesh(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    clock = Clock(datetime.now(UTC))
    yield from serve_mesh(database_url, tmp_path_factory.mktemp("state"), clock)


def _rows(count: int, start: int = 0) -> pa.Table:
    return pa.table({"employee_id": [f"E{index:04d}" for index in range(start, start + count)]})


def _status(evaluation: dict[str, Any], prop: str) -> str:
    return str(next(item["status"] for item in evaluation["results"] if item["property"] == prop))


def _agree(mesh: Mesh, name: str, sla: list[dict[str, object]]) -> None:
    today = mesh.clock.now.date()
    body = {
        "name": name,
        "consumer": {"kind": "product", "id": "sales.account_manager_performance"},
        "purpose": "sales_performance_reporting",
        "start": today.isoformat(),
        "end": (today + timedelta(days=200)).isoformat(),
        "ports": [{"port": EMPLOYEES, "columns": ["employee_id", "department"]}],
        "sla": sla,
    }
    with mesh.as_("sales") as sales, mesh.as_("hr owner") as owner:
        sales.post("/api/v1/agreements", json=body).raise_for_status()
        owner.post(f"/api/v1/agreements/{name}/approve", json={}).raise_for_status()


def test_a_breach_opens_an_incident_that_resolves_when_the_sla_holds_again(mesh: Mesh) -> None:
    with mesh.as_("admin") as admin:
        location = admin.get(f"/api/v1/datasets/{EMPLOYEES}").json()["location"]
    table = urlparse(location).path if location.startswith("file:") else location
    write_deltalake(table, _rows(5), mode="overwrite")
    _agree(
        mesh,
        "sales-needs-ten-employees",
        [{"property": "completeness", "value": 10, "unit": "rows"}],
    )
    _agree(
        mesh,
        "sales-needs-three-employees",
        [{"property": "completeness", "value": 3, "unit": "rows"}],
    )

    with mesh.as_("sales") as sales, mesh.as_("hr member") as hr, mesh.as_("operations") as ops:
        first = sales.post("/api/v1/agreements/sales-needs-ten-employees/sla/evaluate").json()
        relaxed = sales.post("/api/v1/agreements/sales-needs-three-employees/sla/evaluate").json()
        opened = hr.get("/api/v1/incidents", params={"state": "open"}).json()
        unseen = ops.get("/api/v1/incidents").json()
        write_deltalake(table, _rows(10, start=5), mode="append")
        mesh.clock.now += timedelta(minutes=5)
        again = sales.post("/api/v1/agreements/sales-needs-ten-employees/sla/evaluate").json()
        closed = sales.get(f"/api/v1/incidents/{opened[0]['id']}").json()
        evidence = sales.get("/api/v1/agreements/sales-needs-ten-employees/sla").json()

    assert (first["evaluated"], first["missed"]) == (1, 1)
    assert _status(first["evaluations"][0], "completeness") == "missed"
    assert first["evaluations"][0]["delta_version"] == 0
    assert relaxed["missed"] == 0
    assert len(opened) == 1
    incident = opened[0]
    assert (incident["port"], incident["provider_domain"]) == (EMPLOYEES, "hr")
    assert incident["breached"] == ["completeness"]
    assert incident["agreements"] == ["sales-needs-ten-employees"]
    assert incident["evidence"][0]["agreement"] == "sales-needs-ten-employees"
    assert incident["time_to_detect_seconds"] is None  # never seen met before
    assert unseen == []
    assert _status(again["evaluations"][0], "completeness") == "met"
    # Down for 5 of the 5 minutes observed: availability is missed, but opens no incident.
    assert _status(again["evaluations"][0], "availability") == "missed"
    assert closed["state"] == "resolved"
    assert closed["time_to_resolve_seconds"] == pytest.approx(300, abs=1)
    assert [_status(item, "completeness") for item in evidence] == ["met", "missed"]
    assert evidence[0]["delta_version"] == 1


def test_a_looser_sla_than_the_contract_is_refused_at_request(mesh: Mesh) -> None:
    """hr.employees promises latency 1 d: an agreement may only tighten it."""
    with pytest.raises(httpx.HTTPStatusError) as refused:
        _agree(mesh, "sales-lax-latency", [{"property": "latency", "value": 3, "unit": "d"}])
    assert refused.value.response.status_code == 422
    assert "latency 3 d is looser than the 1 d the contract promises" in refused.value.response.text


def test_the_schedule_measures_every_active_agreement_when_due(mesh: Mesh) -> None:
    """The service started its schedule; a run measures only when the last one is older than the
    interval, so several server processes on one database do not each measure everything."""
    started: SlaSchedule = mesh.app.state.sla_schedule
    schedule = SlaSchedule(mesh.app.state.sessions, 60, lambda: mesh.clock.now)
    _agree(mesh, "sales-scheduled", [{"property": "completeness", "value": 1, "unit": "rows"}])

    mesh.clock.now += timedelta(minutes=2)
    first = schedule.run_due()
    again = schedule.run_due()
    mesh.clock.now += timedelta(minutes=2)
    later = schedule.run_due()
    with mesh.as_("sales") as sales:
        evidence = sales.get("/api/v1/agreements/sales-scheduled/sla").json()

    assert started.runs >= 1
    assert first >= 1 and again == 0 and later == first
    assert len(evidence) == 2


def test_an_incident_number_beyond_the_column_is_a_422_not_a_database_error(mesh: Mesh) -> None:
    """Found by schemathesis on PostgreSQL: 32427524616 does not fit the id column."""
    with mesh.as_("admin") as admin:
        too_big = admin.get("/api/v1/incidents/32427524616")
        unknown = admin.get("/api/v1/incidents/2147483647")
    assert too_big.status_code == 422 and too_big.json()["problems"][0]["field"] == "number"
    assert unknown.status_code == 404
