"""Per-zone service principals for the embedded default: one token per data landing zone, each
scoped to the domains its zone hosts; on SQLite and PostgreSQL, and through start_embedded."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from meshlake.governance import start_embedded, sync_catalog, zone_service_tokens
from meshlake.governance.db._engine import make_engine, session_factory
from meshlake.platform._governance import GovernanceClient
from tests.governance._publishing import MESH, Publisher, register_mesh
from tests.governance.conftest import Service
from tests.governance.lineage._support import run_event, wire

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def state(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("state")
    register_mesh(service, home)
    return home


def test_one_token_per_data_zone_scoped_to_its_domains(service: Service, state: Path) -> None:
    tokens = zone_service_tokens(service.database_url, MESH)

    assert sorted(tokens) == ["americas", "emea"]  # the governance zone hosts no data
    emea = Publisher(service, tokens["emea"])
    employees, orders = MESH.product("hr.employees"), MESH.product("sales.orders")
    assert emea.decide(employees, "run-zone-1").status_code == 200
    assert emea.decide(orders, "run-zone-2", inputs=[]).status_code == 403
    with service.client(tokens["americas"]) as client:
        own = client.post(
            "/api/v1/lineage",
            json=wire(run_event("sales.orders", "START", state, str(uuid.uuid4()))),
        )
        other = client.post(
            "/api/v1/lineage",
            json=wire(run_event("hr.employees", "START", state, str(uuid.uuid4()))),
        )
    assert (own.status_code, other.status_code) == (201, 403)


def test_calling_again_issues_new_tokens_for_the_same_principals(service: Service) -> None:
    engine = make_engine(service.database_url)
    try:
        first = zone_service_tokens(session_factory(engine), MESH)
        second = zone_service_tokens(session_factory(engine), MESH)
    finally:
        engine.dispose()

    assert first["emea"] != second["emea"]
    with service.client() as admin:
        listed = admin.get("/api/v1/tokens", params={"principal": "zone-service-emea"}).json()
    expiries = [datetime.fromisoformat(token["expires_at"]) for token in listed]
    assert expiries and all(
        timedelta(days=29) < when - datetime.now(UTC) <= timedelta(days=30) for when in expiries
    )
    with service.client() as admin:
        issued = admin.get(
            "/api/v1/audit", params={"action": "principal.token_issued", "principal": "embedded"}
        ).json()
    assert {entry["target"] for entry in issued} == {"zone-service-americas", "zone-service-emea"}
    for token in (first["emea"], second["emea"]):
        with service.client(token) as client:
            assert client.get("/api/v1/products").status_code == 200


def test_the_embedded_service_gives_its_database_for_zone_tokens(tmp_path: Path) -> None:
    embedded = start_embedded(tmp_path)
    try:
        with GovernanceClient(embedded.url, embedded.token) as admin:
            sync_catalog(admin, MESH, tmp_path)
        tokens = zone_service_tokens(embedded.database_url, MESH)
        with GovernanceClient(embedded.url, tokens["emea"]) as emea:
            product = emea.request("GET", "/api/v1/products/hr/employees")
    finally:
        embedded.stop()
    assert embedded.database_url == f"sqlite:///{tmp_path / 'governance.db'}"
    assert product["zone"] == "emea"
