"""The API keeps the contract its OpenAPI states: each failure schemathesis found, as a regression.

Plain httpx over real HTTP, on SQLite and PostgreSQL (the ``service`` fixture).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from meshlake.governance import GovernanceSettings, create_app, serve_in_thread, upgrade
from tests.governance.conftest import BOOTSTRAP, Service

pytestmark = pytest.mark.integration

DOCUMENTED = {"401", "403", "404", "409", "413", "422", "500", "503"}


def test_every_operation_documents_the_errors_it_can_answer(service: Service) -> None:
    with service.client() as client:
        document = client.get("/openapi.json").json()

    operations = [op for item in document["paths"].values() for op in item.values()]
    assert len(operations) > 20
    for operation in operations:
        assert set(operation["responses"]) >= DOCUMENTED, operation["summary"]
        invalid = operation["responses"]["422"]["content"]["application/json"]["schema"]
        assert invalid == {"$ref": "#/components/schemas/InvalidOut"}
    assert "HTTPValidationError" not in document["components"]["schemas"]


@pytest.mark.parametrize(
    ("method", "path", "content", "field"),
    [
        ("PUT", "/api/v1/zones/emea", None, "body"),  # no body at all
        ("GET", "/api/v1/lineage/graph", None, "dataset, job"),  # a service's own refusal
        ("PUT", "/api/v1/zones/emea", b"\x1f\x8b\xff\xfe", "body"),  # not UTF-8: was 400
    ],
)
def test_a_422_has_the_declared_body_with_every_problem(
    service: Service, method: str, path: str, content: bytes | None, field: str
) -> None:
    headers = {"Content-Type": "application/json"} if content else {}
    with service.client() as client:
        response = client.request(method, path, content=content, headers=headers)

    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"detail", "problems"}
    assert body["problems"][0]["field"] == field
    assert body["detail"].startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", "/api/v1/glossary/Revenue", "GET, PUT"),
        ("DELETE", "/api/v1/products/hr/employees", "GET, PUT"),
        ("POST", "/api/v1/health/live", "GET"),
    ],
)
def test_a_405_names_every_method_of_the_path(
    service: Service, method: str, path: str, allowed: str
) -> None:
    with service.client() as client:
        response = client.request(method, path)

    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert allowed in response.json()["detail"]


def test_times_in_responses_carry_an_offset(service: Service) -> None:
    service.token("offset@example.com")
    with service.client() as client:
        entries = client.get("/api/v1/audit", params={"limit": 5}).json()

    assert entries
    for entry in entries:
        assert datetime.fromisoformat(entry["at"]).utcoffset() is not None, entry["at"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/audit", {"since": "0.5"}, "since"),  # was read as seconds since 1970: 200
        ("/api/v1/policies/decisions", {"since": "1e-300"}, "since"),
        ("/api/v1/audit", {"since": "0001-01-01T00:00:00+05:00"}, "since"),
        ("/api/v1/datasets/hr.employees.employees/freshness", {"at": "0001-01-01T00:00:00"}, "at"),
        ("/api/v1/datasets/hr.employees.employees/freshness", {"at": "9999-12-31T23:59:59"}, "at"),
    ],
)
def test_times_out_of_range_or_not_iso_are_422(
    service: Service, path: str, params: dict[str, str], field: str
) -> None:
    with service.client() as client:
        response = client.get(path, params=params)

    assert response.status_code == 422, response.text
    assert response.json()["problems"][0]["field"] == field


def test_a_time_without_offset_is_taken_as_utc(service: Service) -> None:
    with service.client() as client:
        naive = client.get("/api/v1/audit", params={"since": "2000-01-01T00:00:00"})
        aware = client.get("/api/v1/audit", params={"since": "2000-01-01T00:00:00Z"})

    assert naive.status_code == aware.status_code == 200
    assert naive.json() == aware.json()


@pytest.mark.parametrize(
    ("port", "field"),
    [
        ({"port": "p", "delta_version": 2**64, "contract_version": "1"}, "ports.0.delta_version"),
        (
            {"port": "p", "delta_version": 1, "contract_version": "1", "row_count": 2**63},
            "ports.0.row_count",
        ),
        ({"port": "p", "delta_version": -1, "contract_version": "1"}, "ports.0.delta_version"),
    ],
)
def test_versions_and_counts_past_the_bound_are_422(
    service: Service, port: dict[str, object], field: str
) -> None:
    body = {"run_id": "r1", "decision_id": 1, "ports": [port]}
    with service.client() as client:
        response = client.post("/api/v1/products/hr/employees/versions", json=body)

    assert response.status_code == 422, response.text
    assert response.json()["problems"][0]["field"] == field


def test_a_decision_id_past_the_bound_is_422(service: Service) -> None:
    body = {"run_id": "r1", "decision_id": 2**63, "ports": [{"port": "p", "delta_version": 0,
            "contract_version": "1"}]}  # fmt: skip
    with service.client() as client:
        response = client.post("/api/v1/products/hr/employees/versions", json=body)

    assert response.status_code == 422
    assert response.json()["problems"][0]["field"] == "decision_id"


def test_a_string_longer_than_its_column_is_422(service: Service) -> None:
    zone = {"kind": "data", "region": "r" * 101, "storage_root": "/lake"}
    with service.client() as client:
        response = client.put("/api/v1/zones/emea", json=zone)

    assert response.status_code == 422
    assert response.json()["problems"][0]["field"] == "region"


@pytest.mark.parametrize(
    ("path", "params", "body", "where"),
    [
        ("/api/v1/products", {"domain": "h\x00r"}, None, "domain"),
        ("/api/v1/glossary/Rev%00enue", None, None, "path"),
        ("/api/v1/glossary/Revenue", None, {"definition": "a\x00b"}, "definition"),
        ("/api/v1/glossary/Revenue", None, {"definition": "d", "columns": ["a\x00"]}, "columns.0"),
    ],
)
def test_a_nul_character_is_422_on_both_databases(
    service: Service,
    path: str,
    params: dict[str, str] | None,
    body: dict[str, str] | None,
    where: str,
) -> None:
    # PostgreSQL cannot store it and SQLite can: without the rule one database took what the other
    # refused with a 500.
    with service.client() as client:
        response = client.get(path, params=params) if body is None else client.put(path, json=body)

    assert response.status_code == 422, response.text
    assert response.json()["problems"][0]["field"] == where


def test_grants_the_service_refuses_are_outside_the_schema(service: Service) -> None:
    with service.client() as client:
        document = client.get("/openapi.json").json()
        refused = client.post(
            "/api/v1/principals",
            json={"name": "a", "kind": "person", "grants": [{"role": "admin", "domain": "hr"}]},
        )

    assert refused.status_code == 422
    grant = document["components"]["schemas"]["Grant"]
    admin_branch = grant["anyOf"][0]["properties"]
    assert admin_branch["role"]["enum"] == ["admin", "consumer"]
    assert admin_branch["domain"] == {"type": "null"}


def test_a_service_grant_for_a_name_stored_as_a_person_is_409(service: Service) -> None:
    # The request is schema-valid (kind service); what is stored contradicts it: 409, not 422.
    service.token("twin@example.com")
    with service.client() as client:
        response = client.post(
            "/api/v1/principals",
            json={
                "name": "twin@example.com",
                "kind": "service",
                "grants": [{"role": "zone_service", "zone": "emea"}],
            },
        )

    assert response.status_code == 409, response.text
    assert "registered as a person" in response.json()["detail"]


# -- failures the routes cannot be made to produce on demand: a test app adds routes that raise --


@pytest.fixture(scope="module")
def failing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    url = f"sqlite:///{tmp_path_factory.mktemp('contract') / 'governance.db'}"
    upgrade(url)
    app = create_app(GovernanceSettings(database_url=url, bootstrap_token=BOOTSTRAP))
    boom = APIRouter()

    @boom.get("/test/crash")
    def crash() -> None:
        raise RuntimeError("a bug")

    @boom.get("/test/pool-timeout")
    def pool_timeout() -> None:
        raise PoolTimeoutError("QueuePool limit of size 5 overflow 10 reached")

    app.include_router(boom)
    running = serve_in_thread(app)
    yield Service(running.url, url)
    running.stop()
    app.state.engine.dispose()


def test_an_unexpected_exception_is_a_json_500_with_a_request_id(failing: Service) -> None:
    with httpx.Client(base_url=failing.url, timeout=10) as client:
        crashed = client.get("/test/crash")
        after = client.get("/api/v1/health/live")

    assert crashed.status_code == 500
    body = crashed.json()
    assert body["request_id"] == crashed.headers["x-request-id"]
    assert "report the request id" in body["detail"]
    assert crashed.headers.get("connection", "").lower() != "close"
    assert after.status_code == 200
    assert after.headers["x-request-id"] != body["request_id"]


def test_a_pool_timeout_is_503_with_retry_after(failing: Service) -> None:
    with httpx.Client(base_url=failing.url, timeout=10) as client:
        response = client.get("/test/pool-timeout")

    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1
    assert "every database connection is in use" in response.json()["detail"]
