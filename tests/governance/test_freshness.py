"""Freshness over real HTTP: a Delta table written by delta-rs, judged against its contract."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from deltalake import DeltaTable

from tests.governance._publishing import (
    MESH,
    Publisher,
    commit,
    contract_table,
    register_mesh,
)
from tests.governance.conftest import Service

pytestmark = pytest.mark.integration

PORT = "hr.employees.employees"  # its contract promises a latency of 1 d


@pytest.fixture(scope="module")
def synced(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Service:
    register_mesh(service, tmp_path_factory.mktemp("state"))
    return service


def _freshness(service: Service, ref: str, at: datetime | None = None) -> dict[str, object]:
    params = {"at": at.isoformat()} if at else {}
    with service.client() as client:
        response = client.get(f"/api/v1/datasets/{ref}/freshness", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_port_without_a_table_is_missing(synced: Service) -> None:
    answer = _freshness(synced, "sales.orders.orders")

    assert (answer["status"], answer["delta_version"], answer["row_count"]) == (
        "missing",
        None,
        None,
    )
    assert "no Delta table at" in str(answer["reason"])


def test_the_delta_log_is_the_evidence_fresh_then_late(synced: Service) -> None:
    publisher = Publisher(synced)
    product = MESH.product("hr.employees")
    contract = product.ports["employees"].contract
    publisher.publish(product, "run-1", rows=3)  # version 0, recorded
    commit(publisher.location(PORT), contract_table(contract, 1), "run-2", mode="append")
    location = publisher.location(PORT)
    committed = datetime.fromtimestamp(DeltaTable(location).history(1)[0]["timestamp"] / 1000, UTC)

    now = _freshness(synced, PORT)
    later = _freshness(synced, PORT, at=committed + timedelta(days=1, minutes=1))

    assert now["status"] == "fresh", now
    assert (now["delta_version"], now["row_count"], now["published_version"]) == (1, 4, 0)
    assert datetime.fromisoformat(str(now["last_commit_at"])) == committed
    assert now["latency"] == "P1D"
    assert later["status"] == "late"
    assert later["reason"] == "version 1 was committed 1.0 d ago; the contract promises 1.0 d"


def test_an_unknown_dataset_is_404(synced: Service) -> None:
    with synced.client() as client:
        response = client.get("/api/v1/datasets/hr.nothing.here/freshness")

    assert response.status_code == 404
