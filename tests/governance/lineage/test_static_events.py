"""Every event OpenLineage 2-0-2 allows is recorded, and every event is kept and read back.

RunEvents without eventType, the static JobEvent and DatasetEvent, and times with nanoseconds or
without an offset: each event sent here is first checked against the official OpenLineage.json
(tests/fixtures/specs), then sent over real HTTP, then read back from GET /api/v1/lineage/events
and from the graph and runs it feeds.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import jsonschema
import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import DatasetEvent, InputDataset, Job, JobEvent, StaticDataset
from openlineage.client.facet_v2 import symlinks_dataset
from referencing import Registry, Resource

from tests.governance.conftest import Service
from tests.governance.lineage._support import lineage_client
from tests.helpers import REPO

pytestmark = pytest.mark.integration

SPECS = REPO / "tests" / "fixtures" / "specs" / "openlineage"
PRODUCER = "https://example.com/another-producer"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
NAMESPACE = "static-tests"


def _spec_errors(event: dict[str, Any]) -> list[str]:
    """What OpenLineage.json says against ``event``. ``format`` is an annotation in JSON Schema
    2020-12 (not asserted by default), which is why producers send times without an offset."""
    documents = [json.loads(path.read_text()) for path in sorted(SPECS.rglob("*.json"))]
    registry: Registry[Any] = Registry().with_resources(
        (document["$id"], Resource.from_contents(document)) for document in documents
    )
    core = next(doc for doc in documents if doc["$id"].endswith("/OpenLineage.json"))
    validator = jsonschema.Draft202012Validator(core, registry=registry)
    return [error.message for error in validator.iter_errors(event)]


def _dataset(name: str, logical: str | None = None) -> dict[str, Any]:
    dataset: dict[str, Any] = {"namespace": "file", "name": f"/lake/{name}"}
    if logical is not None:
        dataset["facets"] = {
            "symlinks": {
                "_producer": PRODUCER,
                "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/SymlinksDatasetFacet.json",
                "identifiers": [{"namespace": "meshlake", "name": logical, "type": "TABLE"}],
            }
        }
    return dataset


def _column_lineage(source: dict[str, Any], column: str) -> dict[str, Any]:
    return {
        "columnLineage": {
            "_producer": PRODUCER,
            "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
            "fields": {
                column: {
                    "inputFields": [
                        {
                            "namespace": source["namespace"],
                            "name": source["name"],
                            "field": column,
                            "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                        }
                    ]
                }
            },
        }
    }


def _run_event(job: str, run_id: str, event_time: str, **extra: Any) -> dict[str, Any]:
    return {
        "eventTime": event_time,
        "producer": PRODUCER,
        "schemaURL": f"{SCHEMA_URL}#/$defs/RunEvent",
        "run": {"runId": run_id},
        "job": {"namespace": NAMESPACE, "name": job},
        **extra,
    }


def _job_event(job: str, source: str, target: str, logical: str) -> dict[str, Any]:
    read, written = _dataset(source), _dataset(target, logical)
    written["facets"].update(_column_lineage(read, "order_id"))
    return {
        "eventTime": "2026-11-02T07:00:00.000000001Z",
        "producer": PRODUCER,
        "schemaURL": f"{SCHEMA_URL}#/$defs/JobEvent",
        "job": {"namespace": NAMESPACE, "name": job},
        "inputs": [read],
        "outputs": [written],
    }


def _dataset_event(name: str, logical: str) -> dict[str, Any]:
    return {
        "eventTime": "2026-11-02T07:00:00",
        "producer": PRODUCER,
        "schemaURL": f"{SCHEMA_URL}#/$defs/DatasetEvent",
        "dataset": _dataset(name, logical),
    }


def _send(service: Service, token: str, event: Any, path: str = "/api/v1/lineage") -> Any:
    with service.client(token) as client:
        response = client.post(path, json=event)
    assert response.status_code == 201, response.text
    return response.json()


def _events(service: Service, token: str, **params: Any) -> dict[str, Any]:
    with service.client(token) as client:
        response = client.get("/api/v1/lineage/events", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_run_event_without_event_type_is_recorded_in_state_other(
    service: Service, bot: str
) -> None:
    run_id = str(uuid.uuid4())
    event = _run_event("sales.no_type", run_id, "2026-11-02T07:00:00.123456789+02:00")
    assert "eventType" not in event
    assert _spec_errors(event) == []

    result = _send(service, bot, event)

    assert (result["events"], result["runs"], result["jobs"]) == (1, 1, 1)
    page = _events(service, bot, run=run_id)
    assert page["next_after"] is None
    [stored] = page["events"]
    assert stored["event"] == event  # kept as sent
    assert (stored["shape"], stored["event_type"], stored["run_id"]) == ("RunEvent", None, run_id)
    assert stored["event_time"] == "2026-11-02T05:00:00.123456Z"  # UTC; nanoseconds dropped
    with service.client(bot) as client:
        runs = client.get("/api/v1/lineage/runs", params={"job": "sales.no_type"}).json()
    assert [(run["run_id"], run["state"]) for run in runs] == [(run_id, "OTHER")]


def test_a_time_without_offset_is_utc(service: Service, bot: str) -> None:
    run_id = str(uuid.uuid4())
    event = _run_event("sales.naive_time", run_id, "2026-11-02T09:30:00", eventType="START")
    assert _spec_errors(event) == []

    _send(service, bot, event)

    [stored] = _events(service, bot, run=run_id)["events"]
    assert stored["event_time"] == "2026-11-02T09:30:00Z"
    with service.client(bot) as client:
        runs = client.get("/api/v1/lineage/runs", params={"job": "sales.naive_time"}).json()
    assert runs[0]["started_at"] == "2026-11-02T09:30:00Z"


def test_a_job_event_records_static_lineage_without_a_run(service: Service, bot: str) -> None:
    event = _job_event("sales.static_orders", "shop/orders", "sales/orders", "sales.static.orders")
    assert _spec_errors(event) == []

    result = _send(service, bot, event)

    assert (result["events"], result["runs"], result["jobs"]) == (1, 0, 1)
    assert (result["datasets"], result["io"], result["column_edges"]) == (2, 2, 1)
    with service.client(bot) as client:
        graph = client.get(
            "/api/v1/lineage/graph", params={"dataset": "sales.static.orders"}
        ).json()
        columns = client.get(
            "/api/v1/lineage/graph",
            params={"dataset": "sales.static.orders", "level": "column"},
        ).json()
        runs = client.get("/api/v1/lineage/runs", params={"job": "sales.static_orders"}).json()
    job = f"job:{NAMESPACE}:sales.static_orders"
    assert {(edge["source"], edge["target"]) for edge in graph["edges"]} == {
        ("dataset:file:/lake/shop/orders", job),
        (job, "dataset:file:/lake/sales/orders"),
    }
    assert [
        (edge["source_column"], edge["target_column"], edge["subtype"]) for edge in columns["edges"]
    ] == [("order_id", "order_id", "IDENTITY")]
    assert runs == []
    [stored] = _events(service, bot, job="sales.static_orders")["events"]
    assert (stored["shape"], stored["run_id"], stored["event_type"]) == ("JobEvent", None, None)
    assert (stored["job_namespace"], stored["job_name"]) == (NAMESPACE, "sales.static_orders")
    assert stored["event"] == event
    assert stored["event_time"] == "2026-11-02T07:00:00Z"


def test_a_dataset_event_records_the_dataset(service: Service, bot: str) -> None:
    event = _dataset_event("hr/people", "hr.static.people")
    assert _spec_errors(event) == []

    result = _send(service, bot, event)

    assert (result["events"], result["runs"], result["jobs"], result["datasets"]) == (1, 0, 0, 1)
    [stored] = _events(service, bot, dataset="hr.static.people")["events"]
    assert (stored["shape"], stored["job_name"], stored["run_id"]) == ("DatasetEvent", None, None)
    assert stored["event"] == event
    by_physical = _events(service, bot, dataset="/lake/hr/people", namespace="file")
    assert [item["id"] for item in by_physical["events"]] == [stored["id"]]


def test_the_openlineage_client_sends_static_events(service: Service, bot: str) -> None:
    # The static events as the reference Python client builds and sends them.
    client: OpenLineageClient = lineage_client(service, bot)
    symlinks = symlinks_dataset.SymlinksDatasetFacet(
        identifiers=[
            symlinks_dataset.Identifier(
                namespace="meshlake", name="operations.static.pumps", type="TABLE"
            )
        ]
    )
    pumps = StaticDataset(namespace="file", name="/lake/ops/pumps", facets={"symlinks": symlinks})
    client.emit(
        DatasetEvent(eventTime="2026-11-02T08:00:00.000Z", producer=PRODUCER, dataset=pumps)
    )
    client.emit(
        JobEvent(
            eventTime="2026-11-02T08:00:01.000Z",
            producer=PRODUCER,
            job=Job(namespace=NAMESPACE, name="operations.static_pumps"),
            inputs=[InputDataset(namespace="file", name="/lake/ops/pumps")],
            outputs=[],
        )
    )
    client.close()

    stored = _events(service, bot, dataset="operations.static.pumps")["events"]
    assert [item["shape"] for item in stored] == ["DatasetEvent", "JobEvent"]
    for item in stored:
        assert _spec_errors(item["event"]) == []
    assert stored[1]["job_name"] == "operations.static_pumps"


def test_a_batch_of_every_kind_is_kept_once_and_pages(service: Service, bot: str) -> None:
    run_id = str(uuid.uuid4())
    batch = [
        _run_event("hr.paged", run_id, "2026-11-03T07:00:00Z", eventType="START"),
        _run_event("hr.paged", run_id, "2026-11-03T07:01:00.5Z", eventType="COMPLETE"),
        _job_event("hr.paged", "hr/in", "hr/out", "hr.paged.out"),
        _dataset_event("hr/out", "hr.paged.out"),
    ]
    assert [_spec_errors(event) for event in batch] == [[], [], [], []]

    first = _send(service, bot, batch, "/api/v1/lineage/batch")
    again = _send(service, bot, batch, "/api/v1/lineage/batch")  # a transport's retry

    assert first == again
    assert first["events"] == 4
    seen, after = [], None
    while True:
        params = {"job": "hr.paged", "limit": 2} | ({"after": after} if after else {})
        page = _events(service, bot, **params)
        assert len(page["events"]) <= 2
        seen += page["events"]
        after = page["next_after"]
        if after is None:
            break
    assert [item["event"] for item in seen] == batch[:3]  # the DatasetEvent names no job
    by_dataset = _events(service, bot, dataset="hr.paged.out")["events"]
    assert [item["shape"] for item in by_dataset] == ["JobEvent", "DatasetEvent"]
    assert [item["event"] for item in _events(service, bot, run=run_id)["events"]] == batch[:2]


@pytest.mark.parametrize(
    ("params", "status", "detail"),
    [
        ({"job": "no.such"}, 404, "no job 'no.such' in the lineage store"),
        ({"dataset": "no.such.port"}, 404, "no dataset in the lineage store answers to"),
        ({"limit": 0}, 422, "limit:"),
        ({"after": -1}, 422, "after:"),
    ],
)
def test_the_events_endpoint_refuses_clearly(
    params: dict[str, Any], status: int, detail: str, service: Service, bot: str
) -> None:
    with service.client(bot) as client:
        response = client.get("/api/v1/lineage/events", params=params)

    assert response.status_code == status
    assert detail in response.json()["detail"]


def test_an_unknown_run_is_an_empty_page(service: Service, bot: str) -> None:
    assert _events(service, bot, run="no-such-run") == {"events": [], "next_after": None}


def test_an_event_of_no_kind_is_422_naming_what_is_missing(service: Service, bot: str) -> None:
    with service.client(bot) as client:
        response = client.post(
            "/api/v1/lineage", json={"eventTime": "2026-11-02T07:00:00Z", "producer": PRODUCER}
        )

    assert response.status_code == 422
    assert response.json()["detail"].startswith(
        "run: required: a RunEvent has run and job, a JobEvent job, a DatasetEvent dataset"
    )


def test_reading_events_needs_a_token(service: Service) -> None:
    with service.client(None) as anonymous:
        assert anonymous.get("/api/v1/lineage/events").status_code == 401


def test_a_dataset_event_with_a_stray_job_is_a_dataset_event(service: Service, bot: str) -> None:
    # OpenLineage.json is a oneOf: with a job that is no Job (no name) this is not a JobEvent,
    # and a DatasetEvent only may not carry both job and run. So it is a valid DatasetEvent.
    event = _dataset_event("ops/stray", "operations.stray.things") | {"job": {"namespace": "x"}}
    assert _spec_errors(event) == []

    _send(service, bot, event)

    [stored] = _events(service, bot, dataset="operations.stray.things")["events"]
    assert (stored["shape"], stored["job_name"]) == ("DatasetEvent", None)
