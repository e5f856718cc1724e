"""Catalog over real HTTP: register the sample mesh with its declared inputs, publish versions, read
them back."""

from __future__ import annotations

import pytest

from tests.governance._publishing import MESH, Publisher, ensure_published, register_mesh
from tests.governance.conftest import Service

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def synced(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Service:
    register_mesh(service, tmp_path_factory.mktemp("state"))
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
    assert employees["inputs"] == [
        {
            "name": "hris_employees",
            "kind": "raw",
            "port": None,
            "source": "hr.raw.hris_employees",
            "domain": "hr",
        }
    ]
    amp = next(
        product for product in products if product["ref"] == "sales.account_manager_performance"
    )
    assert [(item["name"], item["port"], item["domain"]) for item in amp["inputs"]] == [
        ("employees", "hr.employees.employees", "hr"),
        ("customers", "sales.customers.customers", "sales"),
        ("orders", "sales.orders.orders", "sales"),
    ]


def test_publish_records_versions_and_refuses_another_runs_claim(synced: Service) -> None:
    publisher = Publisher(synced)
    product = MESH.product("sales.customers")
    ensure_published(publisher, "sales.customers")  # run-sales.customers-upstream, version 0
    later = publisher.decide(product, "run-2").json()
    refused = publisher.record(product, "run-2", later["id"], {"customers": 0})
    with synced.client() as client:
        dataset = client.get("/api/v1/datasets/sales.customers.customers").json()

    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "sales.customers.customers version 0 is already published (by run "
        "run-sales.customers-upstream)"
    )
    assert [(v["delta_version"], v["row_count"], v["run_id"]) for v in dataset["versions"]] == [
        (0, 3, "run-sales.customers-upstream")
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
            "/api/v1/products/hr/employees/versions",
            json={"run_id": "r", "decision_id": 1, "ports": [{"port": "employees"}]},
        )
        negative = client.post(
            "/api/v1/products/hr/employees/versions",
            json={
                "run_id": "r",
                "decision_id": 1,
                "ports": [{"port": "employees", "delta_version": -1, "contract_version": "1.0.0"}],
            },
        )
        no_run = client.post(
            "/api/v1/products/hr/employees/decisions",
            json={"ports": [{"port": "employees", "contract_version": "1.0.0"}]},
        )
        bad_input = client.put(
            "/api/v1/products/hr/employees",
            json={
                "ports": [{"name": "employees", "location": "/x", "contract": {}}],
                "inputs": [{"name": "x", "kind": "raw", "port": "a.b.c", "domain": "hr"}],
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
    assert no_run.status_code == 422 and no_run.json()["detail"] == "run_id: Field required"
    assert bad_input.status_code == 422
    assert bad_input.json()["detail"] == (
        "inputs.0: Value error, an input of kind raw names a source (the raw source id), no port"
    )
    assert bad_contract.status_code == 422
    assert bad_contract.json()["detail"].startswith("ports[0].contract.apiVersion")


def test_unknown_product_is_404(synced: Service) -> None:
    with synced.client() as client:
        response = client.get("/api/v1/products/hr/nobody")
    assert response.status_code == 404
    assert response.json()["detail"] == "no product hr.nobody in the catalog"
