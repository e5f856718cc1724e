"""Who may write what, over real HTTP: the role x write-endpoint matrix, refusals audited."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshlake.platform import load_mesh
from meshlake.platform._governance import (
    GovernanceClient,
    domain_payload,
    product_payload,
    zone_payload,
)
from tests.governance._publishing import staged_ports
from tests.governance.conftest import BOOTSTRAP, Service
from tests.helpers import REPO

pytestmark = pytest.mark.integration

MESH = load_mesh(REPO)
ROLES = {
    "admin": [{"role": "admin"}],
    "hr_owner": [{"role": "domain_owner", "domain": "hr"}],
    "hr_member": [{"role": "domain_member", "domain": "hr"}],
    "sales_owner": [{"role": "domain_owner", "domain": "sales"}],
    "consumer": [{"role": "consumer"}],
    "emea_service": [{"role": "zone_service", "zone": "emea"}],
    "americas_service": [{"role": "zone_service", "zone": "americas"}],
}


@pytest.fixture(scope="module")
def tokens(service: Service, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    with GovernanceClient(service.url, BOOTSTRAP) as client:
        client.sync(MESH, tmp_path_factory.mktemp("state"))
    return {
        name: service.token(
            f"{name}@example.com",
            kind="service" if name.endswith("_service") else "person",
            grants=grants,
        )
        for name, grants in ROLES.items()
    }


def _writes(state: Path) -> dict[str, tuple[str, str, object]]:
    employees = MESH.product("hr.employees")
    return {
        "put zone": ("PUT", "/api/v1/zones/emea", zone_payload(MESH, "emea", state)),
        "put domain": ("PUT", "/api/v1/domains/hr", domain_payload(MESH, "hr")),
        "put hr product": (
            "PUT",
            "/api/v1/products/hr/employees",
            product_payload(employees, state),
        ),
        "decide on hr product": (
            "POST",
            "/api/v1/products/hr/employees/decisions",
            {"run_id": "r", "ports": staged_ports(employees)},
        ),
        "publish hr product": (
            "POST",
            "/api/v1/products/hr/employees/versions",
            {
                "run_id": "r",
                "decision_id": 1_000_000,
                "ports": [{"port": "employees", "delta_version": 0, "contract_version": "1.0.0"}],
            },
        ),
        "create principal": (
            "POST",
            "/api/v1/principals",
            {"name": "x@example.com", "kind": "person"},
        ),
    }


# Who may do each write; everyone else is refused with 403 (and no token at all with 401).
ALLOWED = {
    "put zone": {"admin"},
    "put domain": {"admin"},
    "put hr product": {"admin", "hr_owner", "hr_member", "emea_service"},
    "decide on hr product": {"admin", "hr_owner", "hr_member", "emea_service"},
    "publish hr product": {"admin", "hr_owner", "hr_member", "emea_service"},
    "create principal": {"admin"},
}


@pytest.mark.parametrize("write", sorted(ALLOWED))
def test_role_by_write_endpoint_matrix(
    write: str, service: Service, tokens: dict[str, str], tmp_path: Path
) -> None:
    method, path, body = _writes(tmp_path)[write]
    outcomes = {}
    for role, token in tokens.items():
        with service.client(token) as client:
            response = client.request(method, path, json=body)
        # A publish under a decision that does not exist is a 409: allowed, but refused on facts.
        outcomes[role] = (
            "allowed" if response.status_code in (200, 201, 204, 409) else response.status_code
        )
        if response.status_code == 403:
            assert "may not" in response.json()["detail"], response.json()
    with service.client(None) as anonymous:
        unauthenticated = anonymous.request(method, path, json=body)

    assert outcomes == {role: "allowed" if role in ALLOWED[write] else 403 for role in tokens}
    assert unauthenticated.status_code == 401
    assert (
        unauthenticated.json()["detail"] == "no bearer token: send 'Authorization: Bearer <token>'"
    )


def test_reads_need_any_valid_token(service: Service, tokens: dict[str, str]) -> None:
    with service.client(tokens["consumer"]) as client:
        assert client.get("/api/v1/products/hr/employees").status_code == 200
    with service.client("mlk_not-a-token") as client:
        response = client.get("/api/v1/products")
    assert response.status_code == 401
    assert response.json()["detail"] == "the bearer token is unknown or revoked"


def test_refusals_and_changes_are_audited_and_only_admins_read_the_log(
    service: Service, tokens: dict[str, str]
) -> None:
    with service.client(tokens["sales_owner"]) as client:
        refused = client.put("/api/v1/domains/hr", json={"zone": "emea"})
        assert client.get("/api/v1/audit").status_code == 403
    assert refused.status_code == 403
    with service.client(tokens["admin"]) as client:
        log = client.get("/api/v1/audit", params={"principal": "sales_owner@example.com"}).json()

    refusal = next(entry for entry in log if entry["action"] == "PUT /api/v1/domains/hr")
    assert refusal["outcome"] == "refused"
    assert refusal["reason"].startswith("403: sales_owner@example.com may not register domains")
    with service.client(tokens["admin"]) as client:
        changes = client.get("/api/v1/audit", params={"action": "product.put"}).json()
    employees = [change for change in changes if change["target"] == "hr.employees"]
    assert employees and employees[0]["after"]["ports"] == {"employees": "1.0.0"}


def test_openapi_documents_every_endpoint(service: Service) -> None:
    with service.client(None) as client:
        schema = client.get("/openapi.json").json()
        docs = client.get("/docs")

    assert docs.status_code == 200
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), f"{method.upper()} {path} has no summary"
