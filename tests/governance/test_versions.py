"""Recording committed versions over real HTTP, on SQLite and PostgreSQL: governance reads each
version in its Delta log (delta-rs) and refuses a record that the log, or the decision, does not
bear out; what it records is what the log says."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tests.governance._publishing import (
    MESH,
    Publisher,
    commit,
    contract_table,
    ensure_published,
    register_mesh,
    staged_ports,
)
from tests.governance.conftest import Service

pytestmark = pytest.mark.integration

CUSTOMERS = MESH.product("sales.customers")
CONTRACT = CUSTOMERS.ports["customers"].contract
REF = "sales.customers.customers"


@pytest.fixture(scope="module")
def synced(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Service:
    register_mesh(service, tmp_path_factory.mktemp("state"))
    return service


def _decided(publisher: Publisher, run_id: str) -> int:
    response = publisher.decide(CUSTOMERS, run_id)
    assert response.status_code == 200 and response.json()["commit"], response.text
    return int(response.json()["id"])


def _versions(service: Service) -> list[tuple[int, int | None, str | None]]:
    with service.client() as admin:
        dataset = admin.get(f"/api/v1/datasets/{REF}").json()
    return [(v["delta_version"], v["row_count"], v["run_id"]) for v in dataset["versions"]]


def test_nothing_published_yet_is_404_then_the_last_recorded_version(synced: Service) -> None:
    publisher = Publisher(synced)
    with synced.client() as client:
        before = client.get(f"/api/v1/datasets/{REF}/published")
    publisher.publish(CUSTOMERS, "run-first", rows=4)
    publisher.publish(CUSTOMERS, "run-second", rows=5)
    with synced.client() as client:
        after = client.get(f"/api/v1/datasets/{REF}/published")
        unknown = client.get("/api/v1/datasets/sales.nothing.here/published")

    assert before.status_code == 404
    assert before.json()["detail"] == f"nothing of {REF} is published yet"
    assert after.status_code == 200, after.text
    body = after.json()
    assert (body["ref"], body["delta_version"], body["row_count"], body["run_id"]) == (
        REF,
        1,
        5,
        "run-second",
    )
    assert body["location"] == publisher.location(REF) and body["published_at"]
    assert unknown.status_code == 404


def test_the_record_is_the_logs_and_the_decisions_not_the_clients(synced: Service) -> None:
    publisher = Publisher(synced)
    decision = _decided(publisher, "run-facts")
    version = commit(publisher.location(REF), contract_table(CONTRACT, 6), "run-facts")
    recorded = publisher.record(
        CUSTOMERS, "run-facts", decision, {"customers": version}, quality={"rules": 99}
    )

    assert recorded.status_code == 201, recorded.text
    stored = recorded.json()["datasets"][0]["versions"][-1]
    assert (stored["delta_version"], stored["row_count"], stored["decision_id"]) == (
        version,
        6,  # no count was claimed: governance counted
        decision,
    )
    assert stored["quality"] == staged_ports(CUSTOMERS)[0]["quality"]  # the decision's


def test_recording_the_same_versions_of_the_same_run_again_is_200(synced: Service) -> None:
    publisher = Publisher(synced)
    decision = _decided(publisher, "run-again")
    version = commit(publisher.location(REF), contract_table(CONTRACT, 2), "run-again")
    first = publisher.record(
        CUSTOMERS, "run-again", decision, {"customers": version}, {"customers": 2}
    )
    again = publisher.record(
        CUSTOMERS, "run-again", decision, {"customers": version}, {"customers": 2}
    )

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert _versions(synced).count((version, 2, "run-again")) == 1


def test_a_claimed_row_count_the_log_does_not_hold_is_refused(synced: Service) -> None:
    publisher = Publisher(synced)
    before = _versions(synced)
    decision = _decided(publisher, "run-rows")
    version = commit(publisher.location(REF), contract_table(CONTRACT, 3), "run-rows")
    refused = publisher.record(
        CUSTOMERS, "run-rows", decision, {"customers": version}, {"customers": 2000}
    )

    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"port customers ({REF}) version {version}: row_count: expected 2000 (claimed), found 3 "
        "in the Delta log; nothing recorded: the Delta log is the evidence"
    )
    assert _versions(synced) == before


def test_a_version_another_run_committed_is_refused(synced: Service) -> None:
    publisher = Publisher(synced)
    decision = _decided(publisher, "run-mine")
    theirs = commit(publisher.location(REF), contract_table(CONTRACT, 3), "run-theirs")
    unmarked = commit(publisher.location(REF), contract_table(CONTRACT, 3), None)
    refused = publisher.record(CUSTOMERS, "run-mine", decision, {"customers": theirs})
    bare = publisher.record(CUSTOMERS, "run-mine", decision, {"customers": unmarked})

    assert refused.status_code == 409
    assert refused.json()["detail"].startswith(
        f"port customers ({REF}) version {theirs}: userMetadata meshlake.run_id: expected "
        "run-mine, found run-theirs in the commit"
    )
    assert bare.status_code == 409
    assert "meshlake.run_id: expected run-mine, found none in the commit" in bare.json()["detail"]


def test_a_version_not_in_the_log_is_refused(synced: Service) -> None:
    publisher = Publisher(synced)
    decision = _decided(publisher, "run-future")
    refused = publisher.record(CUSTOMERS, "run-future", decision, {"customers": 999})
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith(
        f"version 999 is not in the Delta log at {publisher.location(REF)}: its latest is "
    )


def test_a_schema_unlike_the_contract_in_the_log_is_refused(synced: Service) -> None:
    publisher = Publisher(synced)
    decision = _decided(publisher, "run-drifted")
    table = contract_table(CONTRACT, 2)
    # The staged schema was the contract's; what was committed is not: a column retyped.
    position = table.schema.get_field_index("customer_id")
    retyped = table.set_column(
        position, pa.field("customer_id", pa.int64(), nullable=False), pa.array([1, 2])
    )
    version = commit(publisher.location(REF), retyped, "run-drifted")
    refused = publisher.record(CUSTOMERS, "run-drifted", decision, {"customers": version})

    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"port customers ({REF}) version {version}: schema: column 'customer_id' type: expected "
        f"string, found bigint in the Delta log (contract {REF} 1.0.0); nothing recorded: the "
        "Delta log is the evidence"
    )
    # Required columns are NOT NULL in the Delta schema; a nullable one is refused too.
    loose = contract_table(CONTRACT, 2).cast(
        pa.schema([field.with_nullable(True) for field in table.schema])
    )
    decision = _decided(publisher, "run-loose")
    version = commit(publisher.location(REF), loose, "run-loose")
    refused = publisher.record(CUSTOMERS, "run-loose", decision, {"customers": version})
    assert refused.status_code == 409
    assert (
        f"version {version}: schema: column 'customer_id' nullable: expected false (the column "
        f"is required), found true in the Delta log (contract {REF} 1.0.0)"
    ) in refused.json()["detail"]


def test_a_version_without_an_allowed_decision_is_refused(synced: Service) -> None:
    publisher = Publisher(synced)
    ensure_published(publisher, "hr.employees")
    ports = staged_ports(CUSTOMERS)
    ports[0]["schema"][0]["type"] = "int"
    denied = publisher.decide(CUSTOMERS, "run-denied", ports=ports).json()
    other_run = _decided(publisher, "run-other")
    employees = MESH.product("hr.employees")
    other_product = publisher.decide(employees, "run-denied").json()["id"]
    version = commit(publisher.location(REF), contract_table(CONTRACT, 2), "run-denied")

    outcomes = {
        name: publisher.record(CUSTOMERS, "run-denied", decision, {"customers": version})
        for name, decision in {
            "denied": denied["id"],
            "another run's": other_run,
            "another product's": other_product,
            "unknown": 10_000_000,
        }.items()
    }

    assert denied["commit"] is False
    assert {name: response.status_code for name, response in outcomes.items()} == {
        "denied": 409,
        "another run's": 409,
        "another product's": 409,
        "unknown": 409,
    }
    detail = {name: response.json()["detail"] for name, response in outcomes.items()}
    assert detail["denied"].startswith(
        f"decision_id: decision {denied['id']} denied publishing sales.customers (staged schema"
    )
    assert detail["another run's"] == (
        f"decision_id: decision {other_run} is for run run-other, not run-denied"
    )
    assert detail["another product's"] == (
        f"decision_id: decision {other_product} is about hr.employees, not sales.customers"
    )
    assert detail["unknown"].startswith("decision_id: 10000000 is no publication decision")
    assert version not in [item[0] for item in _versions(synced)]


def test_every_port_of_the_decision_is_recorded_at_once(synced: Service) -> None:
    publisher = Publisher(synced)
    telemetry = MESH.product("operations.pump_telemetry")
    decided = publisher.decide(telemetry, "run-telemetry")
    versions = publisher.commit_ports(telemetry, "run-telemetry")
    part = publisher.record(
        telemetry,
        "run-telemetry",
        decided.json()["id"],
        {"pump_telemetry": versions["pump_telemetry"]},
    )
    whole = publisher.record(telemetry, "run-telemetry", decided.json()["id"], versions)

    assert part.status_code == 409
    assert part.json()["detail"] == (
        f"port pump_units of operations.pump_telemetry was staged under decision "
        f"{decided.json()['id']} but is not recorded here; record every port of the product at once"
    )
    assert whole.status_code == 201, whole.text
    assert {d["name"]: len(d["versions"]) for d in whole.json()["datasets"]} == {
        "pump_telemetry": 1,
        "pump_units": 1,
    }


def test_a_zone_service_records_only_its_zones_products(synced: Service) -> None:
    emea = synced.token(
        "versions-emea", kind="service", grants=[{"role": "zone_service", "zone": "emea"}]
    )
    americas = Publisher(synced)
    decision = _decided(americas, "run-zones")
    version = commit(americas.location(REF), contract_table(CONTRACT, 2), "run-zones")
    refused = Publisher(synced, emea).record(
        CUSTOMERS, "run-zones", decision, {"customers": version}
    )
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith(
        "versions-emea may not publish products of domain 'sales'"
    )
