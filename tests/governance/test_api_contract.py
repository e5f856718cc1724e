"""The API keeps the contract its OpenAPI states: each failure schemathesis found, as a regression.

Plain httpx over real HTTP, on SQLite and PostgreSQL (the ``service`` fixture).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

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


# -- tokens, principals, webhooks, lineage batch: what schemathesis found after they merged --


def test_unknown_fields_of_principal_and_token_requests_are_stated_and_refused(
    service: Service,
) -> None:
    # A misspelt expiry used to be ignored: the token got the longest lifetime.
    with service.client() as client:
        document = client.get("/openapi.json").json()
        principal = client.post(
            "/api/v1/principals",
            json={"name": "extra@example.com", "kind": "person", "expires_days": 5},
        )
        token = client.post(
            "/api/v1/tokens", json={"principal": "extra@example.com", "expire_at": "2030-01-01"}
        )

    for name in ("PrincipalTokenIn", "TokenIssueIn", "TokenRotateIn", "Grant"):
        assert document["components"]["schemas"][name]["additionalProperties"] is False, name
    assert principal.status_code == 422, principal.text
    assert principal.json()["problems"][0]["field"].endswith("expires_days")
    # The principal was not created, so the token request is refused for its field first.
    assert token.status_code == 422, token.text
    assert token.json()["problems"][0]["field"].endswith("expire_at")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/tokens", {"principal": "whole@example.com", "expires_in_days": True}),
        (
            "/api/v1/principals",
            {"name": "whole@example.com", "kind": "person", "expires_in_days": False},
        ),
    ],
)
def test_a_boolean_is_not_a_number_of_days(
    service: Service, path: str, body: dict[str, Any]
) -> None:
    # pydantic read true as 1 day; JSON Schema's integer excludes booleans.
    service.token("whole@example.com")
    with service.client() as client:
        response = client.post(path, json=body)

    assert response.status_code == 422, response.text
    assert response.json()["problems"][0]["field"] == "expires_in_days"


def test_both_expiry_fields_are_outside_the_schema_and_refused(service: Service) -> None:
    service.token("both@example.com")
    both = {"expires_at": "2030-01-01T00:00:00Z", "expires_in_days": 3}
    with service.client() as client:
        document = client.get("/openapi.json").json()
        response = client.post("/api/v1/tokens", json={"principal": "both@example.com", **both})
        one = client.post(
            "/api/v1/tokens", json={"principal": "both@example.com", "expires_in_days": 3}
        )

    assert response.status_code == 422, response.text
    assert "not both" in response.json()["detail"]
    assert one.status_code == 201, one.text
    for name in ("PrincipalTokenIn", "TokenIssueIn", "TokenRotateIn"):
        excluded = document["components"]["schemas"][name]["not"]
        assert excluded["required"] == ["expires_at", "expires_in_days"], name


@pytest.mark.parametrize(
    ("method", "suffix"), [("DELETE", ""), ("POST", "/revoke"), ("POST", "/rotate")]
)
def test_token_ids_past_the_database_integer_are_404_and_past_the_bound_422(
    service: Service, method: str, suffix: str
) -> None:
    # PostgreSQL's INTEGER ends at 2**31 - 1: such an id used to come back as a 422 on it only.
    with service.client() as client:
        absent = client.request(method, f"/api/v1/tokens/{2**33 + 7}{suffix}")
        past = client.request(method, f"/api/v1/tokens/{2**53}{suffix}")
        schema = client.get("/openapi.json").json()["paths"]["/api/v1/tokens/{token_id}"]

    assert absent.status_code == 404, absent.text
    assert "does not exist" in absent.json()["detail"]
    assert past.status_code == 422, past.text
    assert past.json()["problems"][0]["field"].endswith("token_id")
    bounds = schema["delete"]["parameters"][0]["schema"]
    assert (bounds["minimum"], bounds["maximum"]) == (1, 2**53 - 1)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("role=domain_member", "domain: a domain_member grant needs its domain"),
        ("role=zone_service", "zone: a zone_service grant needs its zone"),
        ("role=admin&domain=hr", "domain: a admin grant has no domain"),
        ("role=consumer&scope=hr&zone=emea", "scope: give scope, or domain or zone, not both"),
    ],
)
def test_a_grant_scope_that_does_not_fit_its_role_is_a_422_the_fuzz_rule_names(
    service: Service, query: str, message: str
) -> None:
    from tests.governance.test_fuzz import UNSTATABLE_RULES

    with service.client() as client:
        response = client.delete(f"/api/v1/principals/nobody@example.com/grants?{query}")

    assert response.status_code == 422, response.text
    assert response.json()["detail"] == message
    operation = "DELETE /api/v1/principals/{name}/grants"
    assert any(op == operation and rule.search(message) for op, rule in UNSTATABLE_RULES)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subscriber": "0", "url": "https://hooks.example.com/x"}, "subscriber"),
        ({"subscriber": "domain: ", "url": "https://hooks.example.com/x"}, "subscriber"),
        ({"subscriber": "principal:me", "url": "0"}, "url"),
        ({"subscriber": "principal:me", "url": "https://u:p@hooks.example.com"}, "url"),
        ({"subscriber": "principal:me", "url": "https://hooks.example.com:65536"}, "url"),
        ({"subscriber": "principal:me", "url": "https://hooks.example.com/a b"}, "url"),
        ({"subscriber": "principal:me", "url": "https://h.example.com", "events": []}, "events"),
        (
            {"subscriber": "principal:me", "url": "https://h.example.com", "events": ["a/b"]},
            "events.0",
        ),
        (
            {"subscriber": "principal:me", "url": "https://h.example.com", "description": "a\tb"},
            "description",
        ),
    ],
)
def test_webhook_fields_the_schema_refuses_are_refused_by_the_service(
    service: Service, body: dict[str, Any], field: str
) -> None:
    with service.client() as client:
        response = client.post("/api/v1/webhooks", json=body)
        schema = client.get("/openapi.json").json()["components"]["schemas"]["WebhookIn"]

    assert response.status_code == 422, response.text
    assert response.json()["problems"][0]["field"] == field
    assert not _valid_by(schema["properties"], body)


def test_a_webhook_the_schema_allows_is_registered_and_listed(service: Service) -> None:
    # U+0085 is whitespace to Python's re but not to the fuzzer's: the pattern names no \s.
    body = {"subscriber": "principal:hooks@example.com", "url": "http://10.0.0.1:8080/in?x=\x85"}
    service.token("hooks@example.com")
    with service.client() as client:
        schema = client.get("/openapi.json").json()["components"]["schemas"]["WebhookIn"]
        created = client.post("/api/v1/webhooks", json=body)
        listed = client.get("/api/v1/webhooks", params={"subscriber": body["subscriber"]})
        empty = client.get("/api/v1/webhooks", params={"subscriber": ""})

    assert _valid_by(schema["properties"], body)
    assert created.status_code == 201, created.text
    assert [hook["url"] for hook in listed.json()] == [body["url"]]
    assert empty.status_code == 422
    assert empty.json()["problems"][0]["field"] == "subscriber"


def _valid_by(properties: dict[str, Any], body: dict[str, Any]) -> bool:
    """Whether the stated patterns (and minItems) allow ``body``, read as the fuzzer reads them."""
    for name, value in body.items():
        stated = properties[name]
        if isinstance(value, list):
            if len(value) < stated.get("minItems", 0):
                return False
            if any(not re.search(stated["items"]["pattern"], item) for item in value):
                return False
        elif "pattern" in stated and not re.search(stated["pattern"], value):
            return False
    return True


def _event(**parts: Any) -> dict[str, Any]:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-02T07:00:00Z",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "contract", "name": "facets"},
        **parts,
    }


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (_event(run={"runId": "r-null", "facets": None}), "[0].run.facets"),
        (_event(inputs=[{"namespace": "s3", "name": "a", "facets": None}]), "[0].inputs[0].facets"),
        (
            _event(outputs=[{"namespace": "s3", "name": "b", "facets": None}]),
            "[0].outputs[0].facets",
        ),
        (_event(outputs=[{"namespace": "s3", "name": "b", "facets": 7}]), "[0].outputs[0].facets"),
    ],
)
def test_facets_that_are_not_an_object_are_refused_in_a_batch(
    service: Service, event: dict[str, Any], field: str
) -> None:
    with service.client() as client:
        refused = client.post("/api/v1/lineage/batch", json=[event])
        alone = client.post("/api/v1/lineage", json=event)
        left_out = client.post(
            "/api/v1/lineage/batch",
            json=[
                _event(
                    inputs=[{"namespace": "s3", "name": "a"}],
                    outputs=[{"namespace": "s3", "name": "b"}],
                )
            ],
        )

    assert refused.status_code == 422, refused.text
    assert refused.json()["problems"][0]["field"] == field
    assert "must be an object" in refused.json()["detail"]
    assert alone.status_code == 422, alone.text
    assert alone.json()["problems"][0]["field"] == field.removeprefix("[0].")
    assert left_out.status_code == 201, left_out.text
