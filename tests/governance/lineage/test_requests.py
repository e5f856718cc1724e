"""What the lineage endpoints refuse and document: tokens, malformed events and bodies (422 naming
the field), graph arguments, the OpenAPI description."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.governance.conftest import Service
from tests.governance.lineage._support import (
    run_event,
    wire,
)

pytestmark = pytest.mark.integration


def test_writes_need_a_service_token_and_reads_any_token(
    service: Service, bot: str, state: Path
) -> None:
    event = wire(run_event("hr.employees", "START", state, str(uuid.uuid4())))
    person = service.token("ana@example.com", kind="person")
    with service.client(None) as anonymous:
        assert anonymous.post("/api/v1/lineage", json=event).status_code == 401
        assert anonymous.get("/api/v1/lineage/runs").status_code == 401
    with service.client(person) as client:
        refused = client.post("/api/v1/lineage", json=event)
        refused_batch = client.post("/api/v1/lineage/batch", content=b"not json")
        graph = client.get("/api/v1/lineage/graph", params={"dataset": "hr.employees.employees"})
        impact = client.get(
            "/api/v1/lineage/impact",
            params={"dataset": "hr.employees.employees", "column": "full_name"},
        )
        runs = client.get("/api/v1/lineage/runs")

    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "ana@example.com may not record lineage: it needs a service account's token"
    )
    assert refused_batch.status_code == 403  # who you are is decided before what you sent
    assert (graph.status_code, impact.status_code, runs.status_code) == (200, 200, 200)
    with service.client() as admin:  # the bootstrap admin may write lineage too
        assert admin.post("/api/v1/lineage", json=event).status_code == 201
        log = admin.get("/api/v1/audit", params={"principal": "ana@example.com"}).json()
    assert log[0]["outcome"] == "refused"
    assert log[0]["action"] == "POST /api/v1/lineage/batch"


def _first_input_field(event: dict[str, Any]) -> dict[str, Any]:
    fields = event["outputs"][0]["facets"]["columnLineage"]["fields"]
    field: dict[str, Any] = fields["customer_country"]["inputFields"][0]
    return field


def _edit(change: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    def edited(event: dict[str, Any]) -> Any:
        change(event)
        return event

    return edited


_FIELD = "outputs[0].facets.columnLineage.fields.customer_country.inputFields[0]"
# Each case turns a valid COMPLETE event of sales.orders into the body sent, and names the detail.
MALFORMED: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "missing runId": (_edit(lambda e: e["run"].pop("runId")), "run.runId: required"),
    "eventType a number": (
        _edit(lambda e: e.update(eventType=5)),
        "eventType: must be a string, got a number",
    ),
    "unknown eventType": (
        _edit(lambda e: e.update(eventType="DONE")),
        "eventType: 'DONE' is not one of START, RUNNING, COMPLETE, ABORT, FAIL, OTHER",
    ),
    "eventTime not a time": (
        _edit(lambda e: e.update(eventTime="yesterday")),
        "eventTime: 'yesterday' is not an ISO 8601 date-time",
    ),
    "job without a name": (_edit(lambda e: e["job"].pop("name")), "job.name: required"),
    "inputs not a list": (
        _edit(lambda e: e.update(inputs={"a": 1})),
        "inputs: must be an array, got an object",
    ),
    "an input field without its field": (
        _edit(lambda e: _first_input_field(e).pop("field")),
        f"{_FIELD}.field: required",
    ),
    "a transformation without a type": (
        _edit(lambda e: _first_input_field(e)["transformations"][0].pop("type")),
        f"{_FIELD}.transformations[0].type: required",
    ),
    "a runId too long for the store": (
        _edit(lambda e: e["run"].update(runId="r" * 65)),
        "run.runId: longer than 64 characters (65)",
    ),
    "a NUL in a field name (PostgreSQL text refuses it)": (
        _edit(lambda e: _first_input_field(e).update(field="coun\x00try")),
        f"{_FIELD}.field: contains a NUL character",
    ),
    "an eventTime out of range in UTC": (
        _edit(lambda e: e.update(eventTime="0001-01-01T00:00:00+05:00")),
        "eventTime: '0001-01-01T00:00:00+05:00' is not an ISO 8601 date-time in range",
    ),
    "a list on the single-event endpoint": (
        lambda e: [e],
        "body: one RunEvent object expected, got an array",
    ),
    "a JobEvent with a malformed job": (
        lambda e: {"eventTime": e["eventTime"], "job": {"namespace": "x"}, "inputs": e["inputs"]},
        "job.name: required",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_events_are_422_naming_the_field(
    case: str, service: Service, bot: str, state: Path
) -> None:
    change, detail = MALFORMED[case]
    body = change(wire(run_event("sales.orders", "COMPLETE", state, str(uuid.uuid4()))))
    with service.client(bot) as client:
        response = client.post("/api/v1/lineage", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(detail)


def test_bodies_that_are_not_json_are_422(service: Service, bot: str) -> None:
    with service.client(bot) as client:
        for content, headers in (
            (b"this is not JSON", {"Content-Type": "application/json"}),
            (b"\xff\xfe\x00", {}),
            (b"[" * 100_000 + b"]" * 100_000, {}),
            (b"not gzip at all", {"Content-Encoding": "gzip"}),
        ):
            response = client.post("/api/v1/lineage", content=content, headers=headers)
            assert response.status_code == 422, (content[:20], response.text)
            assert response.json()["detail"].startswith("body: not valid"), response.text


def test_graph_arguments_are_checked(service: Service, bot: str, state: Path) -> None:
    with service.client(bot) as client:
        neither = client.get("/api/v1/lineage/graph")
        unknown = client.get("/api/v1/lineage/graph", params={"dataset": "no.such.port"})
        deep = client.get(
            "/api/v1/lineage/graph", params={"dataset": "sales.orders.orders", "depth": 99}
        )
        column_at_table_level = client.get(
            "/api/v1/lineage/graph",
            params={"dataset": "sales.orders.orders", "column": "channel"},
        )
        no_job = client.get("/api/v1/lineage/runs", params={"job": "no.such"})

    assert (neither.status_code, neither.json()["detail"]) == (
        422,
        "dataset, job: give exactly one of them",
    )
    assert unknown.status_code == 404
    assert "no dataset in the lineage store answers to 'no.such.port'" in unknown.json()["detail"]
    assert deep.status_code == 422 and deep.json()["detail"].startswith("depth:")
    assert column_at_table_level.status_code == 422
    assert column_at_table_level.json()["detail"].startswith("column:")
    assert no_job.status_code == 404


def test_openapi_documents_the_lineage_endpoints(service: Service) -> None:
    with service.client(None) as client:
        paths = client.get("/openapi.json").json()["paths"]

    post = paths["/api/v1/lineage"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert [kind["required"] for kind in body["anyOf"]] == [
        ["eventTime", "run", "job"],
        ["eventTime", "job"],
        ["eventTime", "dataset"],
    ]
    assert "201" in post["responses"]
    batch = paths["/api/v1/lineage/batch"]["post"]["requestBody"]["content"]["application/json"]
    assert batch["schema"]["type"] == "array"
    for path, model in (("graph", "GraphOut"), ("impact", "ImpactOut"), ("runs", "RunOut")):
        operation = paths[f"/api/v1/lineage/{path}"]["get"]
        assert model in json.dumps(operation["responses"]["200"]), path
        assert operation["summary"]
