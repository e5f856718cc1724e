"""Freshness over real HTTP: a Delta table written by delta-rs, judged against its contract."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from meshlake.platform import PortRef, load_mesh
from meshlake.platform._governance import GovernanceClient
from meshlake.platform._materialize import PortResult
from tests.governance.conftest import BOOTSTRAP, Service
from tests.helpers import REPO

pytestmark = pytest.mark.integration

MESH = load_mesh(REPO)
PORT = "hr.employees.employees"  # its contract promises a latency of 1 d


@pytest.fixture(scope="module")
def synced(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Service:
    with GovernanceClient(service.url, BOOTSTRAP) as client:
        client.sync(MESH, tmp_path_factory.mktemp("state"))
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
    with synced.client() as client:
        location = client.get(f"/api/v1/datasets/{PORT}").json()["location"]
    Path(location).parent.mkdir(parents=True, exist_ok=True)
    write_deltalake(location, pa.table({"employee_id": ["E1", "E2", "E3"]}))
    write_deltalake(location, pa.table({"employee_id": ["E4"]}), mode="append")
    with GovernanceClient(synced.url, BOOTSTRAP) as client:
        client.publish(
            MESH.product("hr.employees"),
            [PortResult(PortRef.parse(PORT), location, 0, 3, "overwrite")],
            "run-1",
        )
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
