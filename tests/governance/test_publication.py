"""The publication decision on a staged version over real HTTP, on SQLite and PostgreSQL: each of
governance's own checks of the staged facts denies, naming what is wrong."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.governance._publishing import (
    MESH,
    Publisher,
    ensure_published,
    register_mesh,
    staged_ports,
)
from tests.governance.conftest import Service
from tests.helpers import REPO

pytestmark = pytest.mark.integration

EMPLOYEES = MESH.product("hr.employees")
AMP = MESH.product("sales.account_manager_performance")
Ports = list[dict[str, Any]]


@pytest.fixture(scope="module")
def synced(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Service:
    register_mesh(service, tmp_path_factory.mktemp("state"))
    ensure_published(Publisher(service), str(AMP.ref))
    return service


def _denials(response: Any) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["allowed"] is False and body["commit"] is False, body
    return [
        (reason["policy"], reason["message"])
        for reason in body["reasons"]
        if reason["severity"] == "deny"
    ]


def _columns(ports: Ports) -> list[dict[str, Any]]:
    columns: list[dict[str, Any]] = ports[0]["schema"]
    return columns


def _retype(ports: Ports) -> None:
    next(c for c in _columns(ports) if c["name"] == "annual_salary")["type"] = "double"


def _nullable_required(ports: Ports) -> None:
    _columns(ports)[0]["nullable"] = True


def _missing(ports: Ports) -> None:
    ports[0]["schema"] = [c for c in _columns(ports) if c["name"] != "country"]


def _extra(ports: Ports) -> None:
    _columns(ports).append({"name": "nickname", "type": "string", "nullable": True})


def _reordered(ports: Ports) -> None:
    columns = _columns(ports)
    columns[0], columns[1] = columns[1], columns[0]


def _decimal_scale(ports: Ports) -> None:
    next(c for c in _columns(ports) if c["name"] == "annual_salary")["type"] = "decimal(12,4)"


PREFIX = "staged schema of port employees differs from contract hr.employees.employees 1.0.0: "
SCHEMA_CASES: dict[str, tuple[Callable[[Ports], None], str]] = {
    "retyped": (_retype, "column 'annual_salary' type: expected decimal(12,2), found double"),
    "rounded": (
        _decimal_scale,
        "column 'annual_salary' type: expected decimal(12,2), found decimal(12,4)",
    ),
    "required but nullable": (
        _nullable_required,
        "column 'employee_id' nullable: expected false (the column is required), found true",
    ),
    "missing": (_missing, "column 'country': expected a string column, found no such column"),
    "extra": (
        _extra,
        "column 'nickname': expected no such column (not in the contract), found string",
    ),
    "reordered": (
        _reordered,
        "column order: expected employee_id, full_name, email, birth_date, hire_date, "
        "termination_date, is_active, department, job_title, manager_id, country, annual_salary, "
        "engagement_score, found full_name, employee_id, email, birth_date, hire_date, "
        "termination_date, is_active, department, job_title, manager_id, country, annual_salary, "
        "engagement_score",
    ),
}


@pytest.mark.parametrize("case", sorted(SCHEMA_CASES))
def test_a_staged_schema_unlike_the_registered_contract_is_denied(
    synced: Service, case: str
) -> None:
    edit, message = SCHEMA_CASES[case]
    ports = staged_ports(EMPLOYEES)
    edit(ports)
    decided = Publisher(synced).decide(EMPLOYEES, f"run-schema-{case}", ports=ports)
    assert _denials(decided) == [("contract_schema", PREFIX + message)]


def test_the_staged_schema_in_the_contracts_own_spelling_is_allowed(synced: Service) -> None:
    ports = staged_ports(EMPLOYEES)
    _columns(ports)[-2]["type"] = "DECIMAL(12, 2)"  # Spark DDL rather than simpleString
    decided = Publisher(synced).decide(EMPLOYEES, "run-schema-spelling", ports=ports)
    assert decided.json()["allowed"] is True, decided.text


def test_a_merge_port_staged_without_a_row_count_is_decided(synced: Service) -> None:
    ports = staged_ports(EMPLOYEES)
    ports[0]["row_count"] = None  # a merge into an existing table writes its rows at the commit
    decided = Publisher(synced).decide(EMPLOYEES, "run-merge-rows", ports=ports)
    assert decided.status_code == 200 and decided.json()["allowed"] is True, decided.text


def test_a_port_staged_under_another_contract_version_is_denied(synced: Service) -> None:
    ports = staged_ports(EMPLOYEES)
    ports[0]["contract_version"] = "2.0.0"
    decided = Publisher(synced).decide(EMPLOYEES, "run-contract", ports=ports)
    assert _denials(decided) == [
        (
            "contract_version",
            "port employees was staged under contract 2.0.0, but the catalog holds contract "
            "1.0.0 for hr.employees.employees; register the product first",
        )
    ]


def _crafted(service: Service, name: str, inputs: list[dict[str, Any]]) -> Any:
    """sales.<name>: sales.customers' contract under another name, reading ``inputs``."""
    contract = copy.deepcopy(
        yaml.safe_load(
            (REPO / "domains/sales/products/customers/contract.yaml").read_text(encoding="utf-8")
        )
    )
    contract["id"] = f"sales.{name}.{name}"
    contract["name"] = contract["dataProduct"] = contract["schema"][0]["name"] = name
    payload = {
        "description": "Crafted for a test.",
        "owners": ["camila.torres@example.com"],
        "ports": [{"name": name, "location": f"/nowhere/{name}", "contract": contract}],
        "inputs": inputs,
    }
    with service.client() as admin:
        admin.put(f"/api/v1/products/sales/{name}", json=payload).raise_for_status()
    customers = MESH.product("sales.customers")
    ports = staged_ports(customers)
    ports[0]["port"] = name
    return ports


def test_declared_inputs_that_do_not_resolve_are_denied(synced: Service) -> None:
    ports = _crafted(
        synced,
        "prospects",
        [
            {"name": "ghost", "kind": "product", "port": "hr.nothing.here", "domain": "hr"},
            {
                "name": "leads",
                "kind": "raw",
                "source": "marketing.raw.leads",
                "domain": "marketing",
            },
            {
                "name": "customers",
                "kind": "product",
                "port": "sales.customers.customers",
                "domain": "hr",  # the catalog holds the port in sales
            },
        ],
    )
    with synced.client() as admin:
        decided = admin.post(
            "/api/v1/products/sales/prospects/decisions",
            json={
                "run_id": "run-ghost",
                "ports": ports,
                "inputs": [{"port": "sales.customers.customers", "version": 0}],
            },
        )
    assert _denials(decided) == [
        (
            "declared_inputs",
            "declared input 'ghost' of sales.prospects reads port hr.nothing.here, which is not in "
            "the catalog; register its product first (meshlake governance sync)",
        ),
        (
            "declared_inputs",
            "declared input 'leads' of sales.prospects reads raw source marketing.raw.leads of "
            "domain marketing, which is not in the catalog; register the domain first "
            "(meshlake governance sync)",
        ),
        (
            "declared_inputs",
            "declared input 'customers' of sales.prospects says port sales.customers.customers "
            "belongs to domain hr, but the catalog holds it in domain sales",
        ),
    ]


def test_an_input_read_at_an_unpublished_version_is_denied(synced: Service) -> None:
    publisher = Publisher(synced)
    inputs = publisher.inputs_read(AMP)
    published = inputs[0]["version"]
    inputs[0]["version"] = published + 7
    decided = publisher.decide(AMP, "run-unpublished", inputs=inputs)
    assert _denials(decided) == [
        (
            "input_versions",
            f"input hr.employees.employees was read at version {published + 7}, which the "
            f"catalog has not published (published: {published}); read the published version",
        )
    ]


def test_an_input_read_without_its_version_or_not_declared_is_denied(synced: Service) -> None:
    publisher = Publisher(synced)
    inputs = [item for item in publisher.inputs_read(AMP) if item["port"] != "sales.orders.orders"]
    inputs.append({"port": "hr.engagement_retention.engagement_retention", "version": 0})
    decided = publisher.decide(AMP, "run-undeclared", inputs=inputs)
    assert _denials(decided) == [
        (
            "declared_inputs",
            "the staged version of sales.account_manager_performance read "
            "hr.engagement_retention.engagement_retention, which the product does not declare "
            "as an input; declare it (inputPorts) so that it is judged",
        ),
        (
            "input_versions",
            "declared input 'orders' (sales.orders.orders) has no staged version: the staged "
            "version must say which published version of it was read",
        ),
    ]


def test_a_product_is_staged_whole(synced: Service) -> None:
    telemetry = MESH.product("operations.pump_telemetry")
    ports = [item for item in staged_ports(telemetry) if item["port"] == "pump_telemetry"]
    decided = Publisher(synced).decide(telemetry, "run-part", ports=ports)
    assert _denials(decided) == [
        (
            "whole_product",
            "port pump_units of operations.pump_telemetry is not staged; a product is published "
            "whole, every port staged and checked before any commit",
        )
    ]


def test_malformed_or_misdirected_decisions_are_4xx(synced: Service) -> None:
    ports = staged_ports(EMPLOYEES)
    publisher = Publisher(synced)
    unknown_port = publisher.decide(EMPLOYEES, "r", ports=[{**ports[0], "port": "staff"}])
    twice = publisher.decide(EMPLOYEES, "r", ports=ports + ports)
    with synced.client() as admin:
        unknown_product = admin.post(
            "/api/v1/products/hr/nobody/decisions", json={"run_id": "r", "ports": ports}
        )
    assert unknown_port.status_code == 422
    assert unknown_port.json()["detail"] == (
        "ports[0].port: product hr.employees has no port 'staff' (it has employees)"
    )
    assert twice.status_code == 422
    assert twice.json()["detail"] == "ports[1].port: 'employees' is staged twice"
    assert unknown_product.status_code == 404


def test_a_zone_service_decides_only_on_its_zones_products(synced: Service) -> None:
    emea = synced.token(
        "decisions-emea", kind="service", grants=[{"role": "zone_service", "zone": "emea"}]
    )
    publisher = Publisher(synced, emea)
    own = publisher.decide(EMPLOYEES, "run-emea-own")
    other = publisher.decide(AMP, "run-emea-other")
    assert own.status_code == 200 and own.json()["allowed"] is True, own.text
    assert other.status_code == 403
    assert other.json()["detail"].startswith(
        "decisions-emea may not publish products of domain 'sales'"
    )


def test_every_decision_is_logged_and_a_denial_audited(synced: Service, tmp_path: Path) -> None:
    ports = staged_ports(EMPLOYEES)
    _retype(ports)
    decided = Publisher(synced).decide(EMPLOYEES, "run-logged", ports=ports)
    with synced.client() as admin:
        log = admin.get("/api/v1/policies/decisions", params={"subject": "hr.employees"}).json()
        audit = admin.get("/api/v1/audit", params={"action": "product.publication_decided"}).json()
    entry = next(item for item in log if item["id"] == decided.json()["id"])
    assert (entry["run_id"], entry["gate"], entry["commit_allowed"], entry["allowed"]) == (
        "run-logged",
        "enforce",
        False,
        False,
    )
    assert entry["staged"]["ports"][0]["schema"] == ports[0]["schema"]
    refusal = next(item for item in audit if item["after"]["decision"] == decided.json()["id"])
    assert refusal["outcome"] == "refused"
    assert refusal["reason"].startswith("contract_schema: staged schema of port employees")
