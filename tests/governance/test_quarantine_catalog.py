"""Quarantine tables in the catalog, over real HTTP on SQLite and PostgreSQL: a port with quarantine
rules has its quarantine table registered under it, labelled, with the port's classification, its
masked columns and its retention; search finds it under its own kind; its versions are recorded
only as the table's own Delta log (delta-rs) bears them out."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from meshlake.platform.quality._quarantine_table import quarantine_location
from tests.governance._publishing import (
    MESH,
    Publisher,
    commit,
    contract_table,
    ensure_published,
    register_mesh,
)
from tests.governance.conftest import Service

pytestmark = pytest.mark.integration

ORDERS = MESH.product("sales.orders")
CONTRACT = ORDERS.ports["orders"].contract
REF = "sales.orders.orders"
QUARANTINE_REF = "sales.orders._quarantine.orders"


@pytest.fixture(scope="module")
def synced(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Service:
    register_mesh(service, tmp_path_factory.mktemp("state"))
    ensure_published(Publisher(service), "sales.orders")  # its inputs, and a first version
    return service


def _product(service: Service, ref: str = "sales.orders") -> dict[str, Any]:
    domain, name = ref.split(".")
    with service.client() as admin:
        response = admin.get(f"/api/v1/products/{domain}/{name}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _quarantine(service: Service) -> dict[str, Any]:
    (dataset,) = _product(service)["datasets"]
    assert dataset["quarantine"] is not None
    return dict(dataset["quarantine"])


def _quarantined_rows(rows: int, run_id: str, masked: tuple[str, ...] = ()) -> pa.Table:
    """``rows`` rejected rows as the platform writes them: the port's columns (masked ones as
    text), the rules they broke, the run and when."""
    table = contract_table(CONTRACT, rows)
    for name in masked:
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, pa.array(["***"] * rows, pa.string()))
    return (
        table.append_column("_quarantine_rules", pa.array(["status_valid"] * rows))
        .append_column("_run_id", pa.array([run_id] * rows))
        .append_column(
            "_quarantined_at",
            pa.array([1_700_000_000_000_000] * rows, pa.timestamp("us", tz="UTC")),
        )
    )


def _publish_with_quarantine(
    publisher: Publisher, run_id: str, quarantined: pa.Table, claimed: int | None = None
) -> tuple[Any, int, int]:
    """Decide, commit the port and its quarantine table, record both; (response, port version,
    quarantine version)."""
    decided = publisher.decide(ORDERS, run_id)
    assert decided.status_code == 200 and decided.json()["commit"], decided.text
    location = publisher.location(REF)
    version = commit(location, contract_table(CONTRACT, 3), run_id)
    where = quarantine_location(location)
    table_version = commit(where, quarantined, run_id, mode="append")
    rows = _rows_at(where)
    recorded = publisher.record(
        ORDERS,
        run_id,
        decided.json()["id"],
        {"orders": version},
        {"orders": 3},
        quarantine={
            "delta_version": table_version,
            "row_count": rows if claimed is None else claimed,
        },
    )
    return recorded, version, table_version


def _rows_at(location: str) -> int:
    from deltalake import DeltaTable

    return len(DeltaTable(location).to_pyarrow_table())


def test_a_port_with_quarantine_rules_has_its_quarantine_table_in_the_catalog(
    synced: Service,
) -> None:
    (dataset,) = _product(synced)["datasets"]
    quarantine = dataset["quarantine"]
    (customers,) = _product(synced, "sales.customers")["datasets"]

    assert quarantine["kind"] == "quarantine"
    assert (quarantine["ref"], quarantine["port"]) == (QUARANTINE_REF, REF)
    assert quarantine["location"] == quarantine_location(dataset["location"])
    assert quarantine["location"].endswith("/sales/orders/_quarantine/orders")
    assert quarantine["classification"] == dataset["classification"] == "internal"
    assert quarantine["retention_days"] == 3650  # the contract's retention SLA: 10 y
    names = [column["name"] for column in quarantine["columns"]]
    assert names == [column["name"] for column in dataset["columns"]] + [
        "_quarantine_rules",
        "_run_id",
        "_quarantined_at",
    ]
    assert not any(column["masked"] for column in quarantine["columns"])  # nothing classified
    assert customers["quarantine"] is None  # no quarantine rule, no quarantine table


def test_search_finds_the_quarantine_table_labelled_under_its_own_kind(synced: Service) -> None:
    with synced.client() as client:
        only = client.get("/api/v1/search", params={"q": "orders", "type": "quarantine"})
        ports = client.get("/api/v1/search", params={"q": "orders", "type": "dataset"})
    assert only.status_code == 200, only.text
    hits = only.json()["hits"]
    assert [(hit["kind"], hit["ref"]) for hit in hits] == [("quarantine", QUARANTINE_REF)]
    assert hits[0]["name"] == "orders quarantine" and "quarantine" in hits[0]["tags"]
    assert "Quarantine of sales.orders.orders" in hits[0]["description"]
    assert "kept 3650 days" in hits[0]["description"]
    assert QUARANTINE_REF not in {hit["ref"] for hit in ports.json()["hits"]}


def test_a_quarantine_version_is_recorded_from_its_delta_log_once(synced: Service) -> None:
    publisher = Publisher(synced)
    recorded, version, table_version = _publish_with_quarantine(
        publisher, "run-quarantine", _quarantined_rows(2, "run-quarantine")
    )
    assert recorded.status_code == 201, recorded.text
    again = publisher.record(
        ORDERS,
        "run-quarantine",
        _decision_of(synced, "run-quarantine"),
        {"orders": version},
        {"orders": 3},
        quarantine={"delta_version": table_version, "row_count": 2},
    )

    versions = _quarantine(synced)["versions"]
    assert [(v["delta_version"], v["row_count"], v["run_id"]) for v in versions] == [
        (table_version, 2, "run-quarantine")
    ]
    assert again.status_code == 200, again.text  # the same run again: nothing new
    assert len(_quarantine(synced)["versions"]) == 1


def test_a_quarantine_record_the_log_does_not_bear_out_records_nothing(synced: Service) -> None:
    publisher = Publisher(synced)
    before = _product(synced)["datasets"][0]["versions"]
    wrong_count, _, table_version = _publish_with_quarantine(
        publisher, "run-claims", _quarantined_rows(2, "run-claims"), claimed=99
    )
    other_run = publisher.record(
        ORDERS,
        "run-claims",
        _decision_of(synced, "run-claims"),
        {"orders": table_version},
        quarantine={"delta_version": 0, "row_count": 2},
    )

    assert wrong_count.status_code == 409, wrong_count.text
    detail = wrong_count.json()["detail"]
    assert f"quarantine of port orders ({QUARANTINE_REF}) version {table_version}" in detail
    assert "row_count: expected 99 (claimed)" in detail
    assert other_run.status_code == 409
    # Neither the port's version nor the quarantine's was recorded.
    assert _product(synced)["datasets"][0]["versions"] == before
    assert table_version not in [v["delta_version"] for v in _quarantine(synced)["versions"]]


def test_a_classified_column_held_unmasked_is_refused(
    synced: Service, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # The port registered as masking order_id (as a personal column would be).
    from tests.governance._publishing import registration

    payload = registration(ORDERS, tmp_path_factory.mktemp("masked"))
    payload["ports"][0]["quarantine"]["masked_columns"] = ["order_id", "item_count"]
    payload["ports"][0]["location"] = Publisher(synced).location(REF)
    payload["ports"][0]["quarantine"]["location"] = quarantine_location(
        payload["ports"][0]["location"]
    )
    with synced.client() as admin:
        admin.put("/api/v1/products/sales/orders", json=payload).raise_for_status()
    columns = {column["name"]: column for column in _quarantine(synced)["columns"]}
    assert (columns["item_count"]["type"], columns["item_count"]["masked"]) == ("string", True)

    recorded, _, _ = _publish_with_quarantine(
        Publisher(synced), "run-unmasked", _quarantined_rows(1, "run-unmasked", ("order_id",))
    )

    assert recorded.status_code == 409, recorded.text
    detail = recorded.json()["detail"]
    assert "schema: item_count: expected string (masked), found int in the Delta log" in detail
    assert "order_id" not in detail  # held as text: masked


def test_a_quarantine_claimed_for_a_port_without_one_is_refused(synced: Service) -> None:
    publisher = Publisher(synced)
    customers = MESH.product("sales.customers")
    decided = publisher.decide(customers, "run-no-quarantine")
    assert decided.status_code == 200, decided.text
    versions = publisher.commit_ports(customers, "run-no-quarantine")
    recorded = publisher.record(
        customers,
        "run-no-quarantine",
        decided.json()["id"],
        versions,
        quarantine={"delta_version": 0, "row_count": 1},
    )

    assert recorded.status_code == 409
    assert (
        "ports[customers].quarantine: sales.customers.customers has no quarantine table"
        in (recorded.json()["detail"])
    )


def _decision_of(service: Service, run_id: str) -> int:
    with service.client() as admin:
        decisions = admin.get(
            "/api/v1/policies/decisions", params={"subject": "sales.orders"}
        ).json()
    return int(next(d["id"] for d in decisions if d["run_id"] == run_id))
