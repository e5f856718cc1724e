"""Scoped principals over real HTTP: a zone's service writes the domains that zone hosts, and the
lineage of their jobs only; a domain's writers the jobs named after their domain."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from meshlake.governance.cli import governance
from meshlake.platform import load_mesh
from meshlake.platform._governance import GovernanceClient, product_payload
from tests.governance.conftest import BOOTSTRAP, Service
from tests.governance.lineage._support import run_event, wire
from tests.helpers import REPO

pytestmark = pytest.mark.integration

MESH = load_mesh(REPO)  # hr and operations live in zone emea, sales in americas


@pytest.fixture(scope="module")
def state(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("state")
    with GovernanceClient(service.url, BOOTSTRAP) as client:
        client.sync(MESH, home)
    return home


@pytest.fixture(scope="module")
def emea(service: Service, state: Path) -> str:
    return service.token(
        "zone-service-emea", kind="service", grants=[{"role": "zone_service", "zone": "emea"}]
    )


def _event(product: str, state: Path) -> dict[str, Any]:
    return wire(run_event(product, "START", state, str(uuid.uuid4())))


def _runs(service: Service, job: str) -> int:
    with service.client() as admin:
        return len(admin.get("/api/v1/lineage/runs", params={"job": job}).json())


def test_a_zone_service_registers_its_zones_domains_only(
    service: Service, state: Path, emea: str
) -> None:
    with service.client(emea) as client:
        own = client.put(
            "/api/v1/products/hr/employees",
            json=product_payload(MESH.product("hr.employees"), state),
        )
        other = client.put(
            "/api/v1/products/sales/orders",
            json=product_payload(MESH.product("sales.orders"), state),
        )
    assert own.status_code == 200, own.text
    assert other.status_code == 403
    assert other.json()["detail"] == (
        "zone-service-emea may not register products of domain 'sales': it needs the domain_owner "
        "or domain_member role of domain 'sales', or the zone_service role of the zone hosting it "
        "(or admin)"
    )


def test_a_zone_service_records_lineage_of_its_zones_jobs_only(
    service: Service, state: Path, emea: str
) -> None:
    before = _runs(service, "sales.orders")
    with service.client(emea) as client:
        own = client.post("/api/v1/lineage", json=_event("operations.pump_telemetry", state))
        other = client.post("/api/v1/lineage", json=_event("sales.orders", state))
        mixed = client.post(
            "/api/v1/lineage/batch",
            json=[_event("hr.employees", state), _event("sales.orders", state)],
        )
        renamed = _event("hr.employees", state)
        renamed["job"]["namespace"] = "americas"  # an emea domain's job, claimed in another zone
        elsewhere = client.post("/api/v1/lineage", json=renamed)

    assert own.status_code == 201, own.text
    assert (other.status_code, mixed.status_code, elsewhere.status_code) == (403, 403, 403)
    assert other.json()["detail"] == (
        "zone-service-emea may not record lineage of job americas/sales.orders: it records "
        "lineage only for jobs named '<domain>.<product>' of its domains (zone emea: namespace "
        "'emea', domain hr, operations)"
    )
    assert "job americas/hr.employees" in elsewhere.json()["detail"]
    assert _runs(service, "sales.orders") == before  # the batch wrote nothing, not even hr's


def test_a_domain_writer_records_its_domains_jobs_in_any_namespace(
    service: Service, state: Path
) -> None:
    bot = service.token(
        "sales-bot", kind="service", grants=[{"role": "domain_member", "domain": "sales"}]
    )
    plain = service.token("plain-bot", kind="service")
    event = _event("sales.orders", state)
    event["job"]["namespace"] = "elsewhere"
    with service.client(bot) as client:
        own = client.post("/api/v1/lineage", json=event)
        other = client.post("/api/v1/lineage", json=_event("hr.employees", state))
    with service.client(plain) as client:
        unscoped = client.post("/api/v1/lineage", json=_event("sales.orders", state))

    assert own.status_code == 201, own.text
    assert other.status_code == 403
    assert "(domain sales)" in other.json()["detail"]
    assert unscoped.status_code == 403
    assert unscoped.json()["detail"].endswith("(it has no domain or zone_service role)")


def test_zone_service_grants_are_for_services_and_name_a_zone(service: Service) -> None:
    with service.client() as admin:
        person = admin.post(
            "/api/v1/principals",
            json={
                "name": "zed@example.com",
                "kind": "person",
                "grants": [{"role": "zone_service", "zone": "emea"}],
            },
        )
        no_zone = admin.post(
            "/api/v1/principals",
            json={"name": "svc", "kind": "service", "grants": [{"role": "zone_service"}]},
        )
        zone_on_domain_role = admin.post(
            "/api/v1/principals",
            json={
                "name": "svc",
                "kind": "service",
                "grants": [{"role": "domain_member", "domain": "hr", "zone": "emea"}],
            },
        )
    assert person.status_code == 422
    assert person.json()["detail"] == (
        "role 'zone_service' is for service principals; 'zed@example.com' is a person"
    )
    assert (no_zone.status_code, no_zone.json()["detail"]) == (
        422,
        "role 'zone_service' needs a zone",
    )
    assert zone_on_domain_role.status_code == 422
    assert "only a zone_service grant has a zone" in zone_on_domain_role.json()["detail"]


def test_the_token_command_creates_a_zone_service(
    service: Service, state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESHLAKE_DATABASE_URL", service.database_url)
    result = CliRunner().invoke(
        governance,
        ["token", "cli-zone-service", "--kind", "service", "--role", "zone_service:americas"],
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    with service.client(token) as client:
        own = client.post("/api/v1/lineage", json=_event("sales.orders", state))
        other = client.post("/api/v1/lineage", json=_event("hr.employees", state))
    assert own.status_code == 201, own.text
    assert other.status_code == 403
