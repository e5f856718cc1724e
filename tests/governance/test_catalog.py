"""Catalog over real HTTP: register the sample mesh, publish versions, read them back."""

from __future__ import annotations

import pytest

from meshlake.platform import PortRef, load_mesh
from meshlake.platform._governance import GovernanceClient, GovernanceError
from meshlake.platform._materialize import PortResult
from tests.governance.conftest import BOOTSTRAP, Service
from tests.helpers import REPO

pytestmark = pytest.mark.integration

MESH = load_mesh(REPO)


@pytest.fixture(scope="module")
def synced(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Service:
    with GovernanceClient(service.url, BOOTSTRAP) as client:
        client.sync(MESH, tmp_path_factory.mktemp("state"))
    return service


def test_sync_registers_every_product_with_ports_and_columns(synced: Service) -> None:
    with synced.client() as client:
        products = client.get("/api/v1/products").json()

    assert sorted(product["ref"] for product in products) == sorted(
        str(ref) for ref in MESH.products
    )
    employees = next(product for product in products if product["ref"] == "hr.employees")
    assert (employees["zone"], employees["tier"], employees["team"]) == (
        "emea",
        "bronze",
        "hr-data",
    )
    port = employees["datasets"][0]
    contract = MESH.product("hr.employees").ports["employees"].contract
    assert [column["name"] for column in port["columns"]] == [
        prop.name for prop in contract.columns
    ]
    salary = next(column for column in port["columns"] if column["name"] == "annual_salary")
    assert (salary["type"], salary["classification"]) == ("decimal(12,2)", "sensitive")
    assert port["classification"] == "sensitive"
    assert port["versions"] == []


def test_publish_records_versions_and_refuses_a_duplicate(synced: Service) -> None:
    product = MESH.product("sales.customers")
    result = PortResult(PortRef.parse("sales.customers.customers"), "/lake", 0, 2000, "overwrite")
    with GovernanceClient(synced.url, BOOTSTRAP) as client:
        client.publish(product, [result], "run-1")
        with pytest.raises(GovernanceError) as refused:
            client.publish(product, [result], "run-2")

    assert refused.value.status == 409
    assert "sales.customers.customers version 0 is already published" in str(refused.value)
    with synced.client() as client:
        dataset = client.get("/api/v1/datasets/sales.customers.customers").json()
    assert [(v["delta_version"], v["row_count"], v["run_id"]) for v in dataset["versions"]] == [
        (0, 2000, "run-1")
    ]


def test_a_changed_contract_without_a_new_version_is_a_conflict(
    synced: Service, tmp_path_factory: pytest.TempPathFactory
) -> None:
    product = MESH.product("hr.employees")
    from meshlake.platform._governance import product_payload

    payload = product_payload(product, tmp_path_factory.mktemp("s"))
    payload["ports"][0]["contract"]["schema"][0]["properties"][1]["description"] = "changed"
    with synced.client() as client:
        response = client.put("/api/v1/products/hr/employees", json=payload)

    assert response.status_code == 409
    assert "a changed contract needs a new version" in response.json()["detail"]


def test_malformed_payloads_get_422_naming_the_field(synced: Service) -> None:
    with synced.client() as client:
        missing = client.post(
            "/api/v1/products/hr/employees/versions", json={"ports": [{"port": "employees"}]}
        )
        negative = client.post(
            "/api/v1/products/hr/employees/versions",
            json={
                "ports": [{"port": "employees", "delta_version": -1, "contract_version": "1.0.0"}]
            },
        )
        bad_contract = client.put(
            "/api/v1/products/hr/employees",
            json={
                "ports": [
                    {"name": "employees", "location": "/x", "contract": {"kind": "DataContract"}}
                ]
            },
        )

    assert missing.status_code == 422 and missing.json()["detail"].startswith(
        "ports.0.delta_version: Field required"
    )
    assert negative.status_code == 422 and "ports.0.delta_version" in negative.json()["detail"]
    assert bad_contract.status_code == 422
    assert bad_contract.json()["detail"].startswith("ports[0].contract.apiVersion")


def test_unknown_product_is_404(synced: Service) -> None:
    with synced.client() as client:
        response = client.get("/api/v1/products/hr/nobody")
    assert response.status_code == 404
    assert response.json()["detail"] == "no product hr.nobody in the catalog"
