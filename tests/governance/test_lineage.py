"""The lineage store over real HTTP, fed by openlineage-python's own client with meshlake's events.

Every sample product sends START and COMPLETE through ``OpenLineageClient`` + ``HttpTransport`` (as a
producer pointed at the service would), then the graph, impact and runs endpoints are checked edge by
edge against what the sample mesh's transforms say.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.serde import Serde
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpCompression,
    HttpConfig,
    HttpTransport,
)
from sqlalchemy import select

from meshlake.governance.api.routes.lineage import GraphOut, ImpactOut
from meshlake.governance.db._engine import make_engine
from meshlake.governance.db._tables import (
    ColumnEdgeRow,
    LineageDataset,
    LineageIO,
    LineageJob,
    LineageRun,
)
from meshlake.platform import load_mesh
from meshlake.platform.lineage import product_column_lineage, product_run_event
from tests.governance.conftest import Service
from tests.helpers import REPO

pytestmark = pytest.mark.integration

MESH = load_mesh(REPO)
AMP = "sales.account_manager_performance"
T0 = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def bot(service: Service) -> str:
    """A service account's token: what a producer's OPENLINEAGE_API_KEY holds."""
    return service.token("lineage-bot", kind="service")


def _client(service: Service, token: str, gzip: bool = False) -> OpenLineageClient:
    config = HttpConfig(
        url=service.url,
        endpoint="api/v1/lineage",
        auth=ApiKeyTokenProvider({"apiKey": token}),
        compression=HttpCompression.GZIP if gzip else None,
    )
    return OpenLineageClient(transport=HttpTransport(config))


def _event(product: str, kind: str, state: Path, run_id: str, **extra: Any) -> Any:
    spec = MESH.product(product)
    return product_run_event(
        kind,
        mesh=MESH,
        product=spec,
        run_id=run_id,
        state_home=state,
        column_lineage=product_column_lineage(MESH, spec),
        **extra,
    )


def _wire(event: Any) -> dict[str, Any]:
    return dict(json.loads(Serde.to_json(event)))


@pytest.fixture(scope="module")
def state(service: Service, bot: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The state folder the sample mesh 'ran' in: START + COMPLETE of every product, sent."""
    home = tmp_path_factory.mktemp("state")
    client = _client(service, bot)
    for offset, product in enumerate(sorted(map(str, MESH.products))):
        run_id = str(uuid.uuid4())
        start = T0 + timedelta(minutes=offset)
        client.emit(_event(product, "START", home, run_id, event_time=start))
        client.emit(
            _event(product, "COMPLETE", home, run_id, event_time=start + timedelta(seconds=30))
        )
    client.close()
    return home


def _port(state: Path, zone: str, ref: str) -> str:
    domain, product, port = ref.split(".")
    return f"dataset:file:{state}/lake/{zone}/{domain}/{product}/{port}"


def _raw(state: Path, zone: str, domain: str, source: str) -> str:
    return f"dataset:file:{state}/lake/{zone}/_raw/{domain}/{source}"


def _job(zone: str, product: str) -> str:
    return f"job:{zone}:{product}"


def _get(service: Service, token: str, path: str, **params: Any) -> Any:
    with service.client(token) as client:
        response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _pairs(graph: dict[str, Any]) -> set[tuple[str, str]]:
    return {(edge["source"], edge["target"]) for edge in graph["edges"]}


def test_upstream_table_graph_reaches_the_raw_sources_through_hr_employees(
    service: Service, bot: str, state: Path
) -> None:
    graph = _get(
        service, bot, "/api/v1/lineage/graph", dataset=f"{AMP}.account_manager_performance", depth=3
    )

    amp = _port(state, "americas", f"{AMP}.account_manager_performance")
    employees = _port(state, "emea", "hr.employees.employees")
    customers = _port(state, "americas", "sales.customers.customers")
    orders = _port(state, "americas", "sales.orders.orders")
    hris = _raw(state, "emea", "hr", "hris_employees")
    crm = _raw(state, "americas", "sales", "crm_customers")
    shop = _raw(state, "americas", "sales", "shop_orders")
    assert graph["start"] == [amp]
    GraphOut.model_validate(graph)  # what is sent is what the OpenAPI document promises
    edges = _pairs(graph)
    for edge in [
        (_job("americas", AMP), amp),
        (employees, _job("americas", AMP)),
        (customers, _job("americas", AMP)),
        (orders, _job("americas", AMP)),
        (_job("emea", "hr.employees"), employees),
        (hris, _job("emea", "hr.employees")),
        (_job("americas", "sales.customers"), customers),
        (crm, _job("americas", "sales.customers")),
        (_job("americas", "sales.orders"), orders),
        (shop, _job("americas", "sales.orders")),
        (customers, _job("americas", "sales.orders")),
    ]:
        assert edge in edges, edge
    nodes = {node["id"]: node for node in graph["nodes"]}
    assert nodes[employees]["logical_name"] == "hr.employees.employees"
    assert nodes[employees]["depth"] == 1
    assert nodes[hris]["logical_name"] == "hr.raw.hris_employees"
    assert (nodes[hris]["depth"], nodes[crm]["depth"], nodes[shop]["depth"]) == (2, 2, 2)
    # Nothing downstream of the start, nor other domains, sneaks into an upstream graph.
    assert not any("operations" in node or "engagement" in node for node in nodes)

    shallow = _get(
        service, bot, "/api/v1/lineage/graph", dataset=f"{AMP}.account_manager_performance", depth=1
    )
    assert hris not in {node["id"] for node in shallow["nodes"]}
    assert employees in {node["id"] for node in shallow["nodes"]}


def test_downstream_graph_of_a_job_and_the_physical_name_form(
    service: Service, bot: str, state: Path
) -> None:
    graph = _get(
        service, bot, "/api/v1/lineage/graph", job="hr.employees", direction="downstream", depth=2
    )
    employees = _port(state, "emea", "hr.employees.employees")
    assert (_job("emea", "hr.employees"), employees) in _pairs(graph)
    assert (employees, _job("americas", AMP)) in _pairs(graph)
    assert (employees, _job("emea", "hr.engagement_retention")) in _pairs(graph)

    by_path = _get(
        service,
        bot,
        "/api/v1/lineage/graph",
        dataset=f"{state}/lake/emea/hr/employees/employees",
        namespace="file",
        direction="both",
        depth=1,
    )
    ids = {node["id"] for node in by_path["nodes"]}
    assert {_job("emea", "hr.employees"), _job("americas", AMP)} <= ids


def test_column_graph_of_a_known_column(service: Service, bot: str, state: Path) -> None:
    graph = _get(
        service,
        bot,
        "/api/v1/lineage/graph",
        dataset="sales.orders.orders",
        column="customer_country",
        level="column",
        depth=2,
    )

    orders = _port(state, "americas", "sales.orders.orders")
    customers = _port(state, "americas", "sales.customers.customers")
    crm = _raw(state, "americas", "sales", "crm_customers")
    edges = {
        (e["source"], e["source_column"], e["target"], e["target_column"]): e
        for e in graph["edges"]
    }
    country = edges[(customers, "country", orders, "customer_country")]
    assert (country["type"], country["subtype"], country["provenance"]) == (
        "DIRECT",
        "IDENTITY",
        "parsed",
    )
    assert country["job"] == _job("americas", "sales.orders")
    # Two hops: customers.country comes from the CRM drop.
    assert (crm, "country", customers, "country") in edges
    # The join that decides which orders get a country is a dataset-level edge of orders.
    join = edges[(customers, "customer_id", orders, None)]
    assert (join["type"], join["subtype"]) == ("INDIRECT", "JOIN")
    # Other columns of orders are not part of this column's graph.
    assert not any(target == orders and column == "channel" for _s, _c, target, column in edges)


def test_declared_lineage_keeps_its_provenance(service: Service, bot: str, state: Path) -> None:
    graph = _get(
        service,
        bot,
        "/api/v1/lineage/graph",
        dataset="operations.pump_health.pump_health",
        level="column",
        depth=1,
    )
    assert graph["edges"]
    assert {edge["provenance"] for edge in graph["edges"]} == {"declared"}


def test_impact_of_a_column_names_columns_products_and_domains(
    service: Service, bot: str, state: Path
) -> None:
    impact = _get(
        service,
        bot,
        "/api/v1/lineage/impact",
        dataset="hr.employees.employees",
        column="full_name",
    )

    ImpactOut.model_validate(impact)
    amp = f"{AMP}.account_manager_performance"
    assert {
        (column["logical_name"], column["column"], column["depth"]) for column in impact["columns"]
    } >= {(amp, "full_name", 1)}
    assert amp in {dataset["logical_name"] for dataset in impact["datasets"]}
    assert AMP in impact["products"]
    assert "sales" in impact["domains"]
    assert "hr.employees" not in impact["products"]  # the start is not its own consumer
    assert _job("americas", AMP) in {job["id"] for job in impact["jobs"]}

    with service.client(bot) as client:
        typo = client.get(
            "/api/v1/lineage/impact",
            params={"dataset": "hr.employees.employees", "column": "fullname"},
        )
    assert typo.status_code == 404
    assert "no column lineage mentions column 'fullname'" in typo.json()["detail"]
    assert "full_name" in typo.json()["detail"]


def test_impact_is_transitive(service: Service, bot: str, state: Path) -> None:
    impact = _get(
        service,
        bot,
        "/api/v1/lineage/impact",
        dataset="sales.raw.crm_customers",
        column="country",
    )
    reached = {(c["logical_name"], c["column"]) for c in impact["columns"]}
    assert ("sales.customers.customers", "country") in reached
    assert ("sales.orders.orders", "customer_country") in reached  # two hops away
    assert {"sales.customers", "sales.orders"} <= set(impact["products"])


def test_runs_record_complete_and_fail_with_its_message(
    service: Service, bot: str, state: Path
) -> None:
    completed = _get(service, bot, "/api/v1/lineage/runs", job="hr.employees")
    assert completed[0]["state"] == "COMPLETE"
    assert completed[0]["started_at"] is not None and completed[0]["ended_at"] is not None
    assert completed[0]["job_namespace"] == "emea"

    run_id = str(uuid.uuid4())
    message = "hr.employees: transform.sql: AnalysisException: [UNRESOLVED_COLUMN] hire_dt"
    failed_at = T0 + timedelta(days=1, minutes=2)
    client = _client(service, bot, gzip=True)  # gzip is what HttpTransport sends when configured
    client.emit(_event("hr.employees", "START", state, run_id, event_time=T0 + timedelta(days=1)))
    client.emit(_event("hr.employees", "FAIL", state, run_id, error=message, event_time=failed_at))
    client.close()

    latest = _get(service, bot, "/api/v1/lineage/runs", job="hr.employees", limit=1)
    assert [(r["run_id"], r["state"], r["error"]) for r in latest] == [(run_id, "FAIL", message)]
    assert datetime.fromisoformat(latest[0]["ended_at"]) == failed_at
    assert datetime.fromisoformat(latest[0]["started_at"]) == T0 + timedelta(days=1)


def test_a_complete_that_overtakes_its_start_stays_complete(
    service: Service, bot: str, state: Path
) -> None:
    run_id = str(uuid.uuid4())
    start, end = T0 + timedelta(days=2), T0 + timedelta(days=2, minutes=5)
    with service.client(bot) as client:
        for kind, moment in (("COMPLETE", end), ("START", start), ("RUNNING", start)):
            # meshlake sends no RUNNING; other producers do: a START relabelled stands for one.
            event = _wire(
                _event(
                    "sales.customers",
                    kind.replace("RUNNING", "START"),
                    state,
                    run_id,
                    event_time=moment,
                )
            )
            event["eventType"] = kind
            response = client.post("/api/v1/lineage", json=event)
            assert response.status_code == 201, response.text
    (run,) = [
        r
        for r in _get(service, bot, "/api/v1/lineage/runs", job="sales.customers")
        if r["run_id"] == run_id
    ]
    assert run["state"] == "COMPLETE"
    assert datetime.fromisoformat(run["started_at"]) == start
    assert datetime.fromisoformat(run["ended_at"]) == end


def _snapshot(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return {
                model.__tablename__: sorted(
                    tuple(row) for row in connection.execute(select(model.__table__))
                )
                for model in (LineageJob, LineageDataset, LineageRun, LineageIO, ColumnEdgeRow)
            }
    finally:
        engine.dispose()


def test_the_same_event_twice_changes_nothing(service: Service, bot: str, state: Path) -> None:
    run_id = str(uuid.uuid4())
    events = [
        _wire(_event(AMP, kind, state, run_id, event_time=T0 + timedelta(days=3, seconds=i)))
        for i, kind in enumerate(("START", "COMPLETE"))
    ]
    with service.client(bot) as client:
        for event in events:
            assert client.post("/api/v1/lineage", json=event).status_code == 201
        before = _snapshot(service.database_url)
        for event in [*events, events[0]]:
            assert client.post("/api/v1/lineage", json=event).status_code == 201
        assert client.post("/api/v1/lineage/batch", json=events).status_code == 201

    assert _snapshot(service.database_url) == before


def test_batch_records_all_and_counts_them(service: Service, bot: str, state: Path) -> None:
    products = ["sales.customers", "sales.orders", "hr.engagement_retention"]
    run_ids = {product: str(uuid.uuid4()) for product in products}
    events = [
        _wire(
            _event(
                product, kind, state, run_ids[product], event_time=T0 + timedelta(days=4, seconds=i)
            )
        )
        for product in products
        for i, kind in enumerate(("START", "COMPLETE"))
    ]
    with service.client(bot) as client:
        response = client.post("/api/v1/lineage/batch", json=events)
        assert response.status_code == 201, response.text
        counts = response.json()
        empty = client.post("/api/v1/lineage/batch", json=[])

    assert counts["events"] == 6
    assert counts["runs"] == 3
    assert counts["jobs"] == 3
    assert counts["column_edges"] > 0 and counts["datasets"] >= 6
    assert empty.status_code == 201 and empty.json()["events"] == 0
    for product, run_id in run_ids.items():
        runs = _get(service, bot, "/api/v1/lineage/runs", job=product)
        assert (run_id, "COMPLETE") in {(run["run_id"], run["state"]) for run in runs}

    with service.client() as admin:
        audit = admin.get(
            "/api/v1/audit",
            params={"action": "lineage.ingest", "principal": "lineage-bot", "limit": 2},
        ).json()
    # One audit entry per request, not per event (the empty batch wrote none).
    assert audit[0]["after"]["events"] == 6
    assert audit[0]["after"]["runs"] == 3
    assert audit[0]["target"] == "3 jobs"


def test_concurrent_batches_racing_on_new_datasets_all_land(
    service: Service, bot: str, state: Path, tmp_path: Path
) -> None:
    """Four writers, each with batches naming the same new datasets: no conflict error, no
    deadlock, every run recorded and every dataset, IO row and edge stored once."""
    fresh = tmp_path / "elsewhere"  # new physical datasets that no writer has seen yet
    products = sorted(map(str, MESH.products))
    templates = {
        (product, kind): _wire(_event(product, kind, fresh, str(uuid.uuid4())))
        for product in products
        for kind in ("START", "COMPLETE")
    }

    def batch() -> list[dict[str, Any]]:
        events = []
        for product in products:
            run_id = str(uuid.uuid4())
            for kind in ("START", "COMPLETE"):
                event = json.loads(json.dumps(templates[(product, kind)]))
                event["run"]["runId"] = run_id
                events.append(event)
        return events

    def writer(_index: int) -> list[int]:
        with service.client(bot) as client:
            return [
                client.post("/api/v1/lineage/batch", json=batch()).status_code for _ in range(3)
            ]

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = [status for result in pool.map(writer, range(4)) for status in result]

    assert statuses == [201] * 12
    rows = _snapshot(service.database_url)
    names = [row[2] for row in rows["lineage_datasets"] if str(fresh) in row[2]]
    assert len(names) == len(set(names)) > 0
    fresh_ids = {row[0] for row in rows["lineage_datasets"] if str(fresh) in row[2]}
    io = [row[1:] for row in rows["lineage_io"] if row[2] in fresh_ids]
    assert len(io) == len(set(io))
    # Every run of every writer is there, COMPLETE.
    complete = {row[1] for row in rows["lineage_runs"] if row[3] == "COMPLETE"}
    with service.client(bot) as client:
        recent = client.get("/api/v1/lineage/runs", params={"limit": 1000}).json()
    assert sum(1 for run in recent if run["run_id"] in complete) >= 4 * 3 * len(products)


def test_a_bad_event_refuses_the_whole_batch(service: Service, bot: str, state: Path) -> None:
    good = _wire(_event("sales.orders", "START", state, str(uuid.uuid4())))
    bad = _wire(_event("sales.orders", "COMPLETE", state, str(uuid.uuid4())))
    del bad["run"]["runId"]
    with service.client(bot) as client:
        response = client.post("/api/v1/lineage/batch", json=[good, bad])
        runs = _get(service, bot, "/api/v1/lineage/runs", job="sales.orders", limit=1000)
        not_a_list = client.post("/api/v1/lineage/batch", json=good)

    assert response.status_code == 422
    assert response.json()["detail"] == "[1].run.runId: required"
    assert good["run"]["runId"] not in {run["run_id"] for run in runs}
    assert not_a_list.status_code == 422
    assert not_a_list.json()["detail"].startswith("body: a JSON array of RunEvents expected")


def test_writes_need_a_service_token_and_reads_any_token(
    service: Service, bot: str, state: Path
) -> None:
    event = _wire(_event("hr.employees", "START", state, str(uuid.uuid4())))
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
    "a JobEvent": (
        lambda e: {"eventTime": e["eventTime"], "job": e["job"], "inputs": e["inputs"]},
        "run: required (this endpoint records RunEvents",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_events_are_422_naming_the_field(
    case: str, service: Service, bot: str, state: Path
) -> None:
    change, detail = MALFORMED[case]
    body = change(_wire(_event("sales.orders", "COMPLETE", state, str(uuid.uuid4()))))
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
    assert body["required"] == ["eventType", "eventTime", "run", "job"]
    assert "201" in post["responses"]
    batch = paths["/api/v1/lineage/batch"]["post"]["requestBody"]["content"]["application/json"]
    assert batch["schema"]["type"] == "array"
    for path, model in (("graph", "GraphOut"), ("impact", "ImpactOut"), ("runs", "RunOut")):
        operation = paths[f"/api/v1/lineage/{path}"]["get"]
        assert model in json.dumps(operation["responses"]["200"]), path
        assert operation["summary"]
