"""The whole sample mesh at small scale: Spark publishes it, and independent readers agree.

Expected row counts are computed by DuckDB straight from the raw drops (a second engine, not the
transforms), and every table is read back with delta-rs, as the governance side will read it.

The mesh is materialized once, governed, as `meshlake run` does it: the embedded governance service
starts, the specs are synced into its catalog, each version is published to it and the OpenLineage
events go to its lineage endpoint. The service is then started again on the same state folder and
the catalog, search and lineage are asserted over real HTTP. The events the service received are
also kept by a tee in front of the real app (it records the request bodies and passes them on
unchanged), so they can be validated against the OpenLineage schemas.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from meshlake.governance import _embedded, start_embedded
from meshlake.orchestration import run_mesh
from meshlake.platform import PortRef
from meshlake.platform._schema import schema_differences
from meshlake.platform.quality import port_rules
from tests.helpers import REPO, governed_platform, make_platform
from tests.openlineage_schemas import OpenLineageSchemas

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Published:
    location: str
    rows: int
    version: int


class LineageTee:
    """ASGI middleware in front of the real service: keeps a copy of each OpenLineage body."""

    def __init__(self, app: Any, events: list[dict[str, Any]]) -> None:
        self.app, self.events = app, events

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if scope["path"] not in ("/api/v1/lineage", "/api/v1/lineage/batch"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        chunks: list[bytes] = []

        async def tee() -> dict[str, Any]:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    body = b"".join(chunks)
                    if headers.get(b"content-encoding") == b"gzip":
                        body = gzip.decompress(body)
                    payload = json.loads(body)
                    self.events.extend(payload if isinstance(payload, list) else [payload])
            return message

        await self.app(scope, tee, send)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, spark: object):
    """The sample mesh materialized the way `meshlake run` does it: through Dagster, governed."""
    platform = make_platform(REPO, home=tmp_path_factory.mktemp("sample-home"))
    drops = platform.ingest(scale=1.0)
    events: list[dict[str, Any]] = []
    real_app = _embedded.create_app
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            _embedded, "create_app", lambda settings: LineageTee(real_app(settings), events)
        )
        run = run_mesh(platform.settings)
    assert run.success, [(product.product, product.error) for product in run.products]
    return platform, drops, run, events


@pytest.fixture(scope="module")
def catalog(published) -> Iterator[httpx.Client]:
    """The governance service started again on the run's state folder, as `governance serve` does."""
    platform = published[0]
    service = start_embedded(platform.state_home)
    client = httpx.Client(
        base_url=service.url, headers={"Authorization": f"Bearer {service.token}"}, timeout=30
    )
    yield client
    client.close()
    service.stop()


def _raw(platform, source: str) -> str:
    spec = platform.mesh.raw_sources[source]
    zone = platform.mesh.zones[spec.domain.landing_zone]
    return str(
        Path(platform.state_home) / zone.storage_root / "_raw" / spec.domain.name / spec.source.name
    )


def _ports(platform, run) -> dict[str, Published]:
    ports = {}
    for product in run.products:
        for port in product.ports:
            ref = PortRef.parse(f"{product.product}.{port.port}")
            ports[str(ref)] = Published(platform.location(ref), port.rows, port.version)
    return ports


def test_every_product_is_published_at_version_zero_with_passing_checks(published) -> None:
    platform, _, run, _ = published

    assert {outcome.product: outcome.status for outcome in run.products} == {
        str(ref): "published" for ref in platform.mesh.products
    }
    assert {outcome.product: outcome.checks_failed for outcome in run.products} == {
        str(ref): 0 for ref in platform.mesh.products
    }
    # Per port: the schema check, one check per contract rule, and drift where there are rules.
    rules = {str(port.ref): port_rules(port) for port in platform.mesh.ports}
    assert sum(len(found) for found in rules.values()) >= 60
    assert sum(outcome.checks_passed for outcome in run.products) == sum(
        1 + len(found) + (1 if found else 0) for found in rules.values()
    )
    ports = _ports(platform, run)
    assert set(ports) == {str(port.ref) for port in platform.mesh.ports}
    assert {port.version for port in ports.values()} == {0}


def test_row_counts_match_an_independent_engine_over_the_raw_drops(published) -> None:
    platform, drops, run, _ = published
    rows = {name: port.rows for name, port in _ports(platform, run).items()}
    raw = {drop.source_id: drop.rows for drop in drops}
    sql = duckdb.connect()
    employees_csv = f"{_raw(platform, 'hr.raw.hris_employees')}/*.csv"
    customers_csv = f"{_raw(platform, 'sales.raw.crm_customers')}/*.csv"
    registry_csv = f"{_raw(platform, 'operations.raw.pump_registry')}/*.csv"
    readings = f"{_raw(platform, 'operations.raw.pump_readings')}/*.jsonl"
    orders = f"{_raw(platform, 'sales.raw.shop_orders')}/*.jsonl"

    def scalar(query: str) -> int:
        return sql.execute(query).fetchone()[0]

    assert (
        rows["hr.employees.employees"]
        == raw["hr.raw.hris_employees"]
        == scalar(
            f"SELECT count(DISTINCT employee_id) FROM read_csv('{employees_csv}', all_varchar=true)"
        )
    )
    assert rows["sales.customers.customers"] == scalar(
        f"SELECT count(DISTINCT upper(trim(customer_id))) FROM read_csv('{customers_csv}', all_varchar=true)"
    )
    assert (
        rows["operations.pump_telemetry.pump_units"]
        == raw["operations.raw.pump_registry"]
        == scalar(f"SELECT count(*) FROM read_csv('{registry_csv}', all_varchar=true)")
    )
    assert rows["operations.pump_telemetry.pump_telemetry"] == scalar(
        f"SELECT count(DISTINCT (upper(trim(pump_id)), replace(trim(reading_ts), 'T', ' '))) "
        f"FROM read_json('{readings}', format='newline_delimited', columns={{'pump_id': 'VARCHAR', 'reading_ts': 'VARCHAR'}}) "
        "WHERE pump_id IS NOT NULL AND reading_ts IS NOT NULL"
    )
    assert rows["sales.orders.orders"] == scalar(
        f"SELECT count(DISTINCT trim(o.order_id)) "
        f"FROM read_json('{orders}', format='newline_delimited', columns={{'order_id': 'VARCHAR', 'customer_id': 'VARCHAR'}}) o "
        f"JOIN (SELECT DISTINCT upper(trim(customer_id)) AS id FROM read_csv('{customers_csv}', all_varchar=true)) c "
        "ON c.id = upper(trim(o.customer_id)) WHERE o.order_id IS NOT NULL"
    )
    assert (
        raw["operations.raw.pump_readings"]
        > rows["operations.pump_telemetry.pump_telemetry"]
        > 10_000
    )


def test_aggregates_match_their_inputs_read_with_delta_rs(published) -> None:
    platform, _, run, _ = published
    ports = _ports(platform, run)

    def table(name: str):
        return DeltaTable(ports[name].location).to_pyarrow_table()

    sql = duckdb.connect()
    telemetry = table("operations.pump_telemetry.pump_telemetry")  # noqa: F841 - read by DuckDB below
    employees = table("hr.employees.employees")  # noqa: F841 - read by DuckDB below
    pump_days = sql.execute(
        "SELECT count(DISTINCT (pump_id, reading_date)) FROM telemetry"
    ).fetchone()[0]
    departments = sql.execute(
        "SELECT count(*) FROM (SELECT department FROM employees GROUP BY 1 HAVING count(*) >= 5)"
    ).fetchone()[0]

    assert ports["operations.pump_health.pump_health"].rows == pump_days
    assert ports["hr.engagement_retention.engagement_retention"].rows == departments


def test_tables_have_the_contract_schema_and_unique_primary_keys(published, spark) -> None:
    platform, _, run, _ = published
    for name, port in _ports(platform, run).items():
        contract = platform.mesh.port(PortRef.parse(name)).contract
        written = spark.read.format("delta").load(port.location).schema
        assert schema_differences(written, contract) == [], name
        data = DeltaTable(port.location).to_pyarrow_table()
        assert data.num_rows == port.rows, name
        key = contract.primary_key
        if key:
            distinct = (
                duckdb.connect()
                .execute(f"SELECT count(DISTINCT ({', '.join(key)})) FROM data")
                .fetchone()[0]
            )
            assert distinct == port.rows, f"{name}: primary key {key} is not unique"


def test_a_second_run_publishes_a_new_version_and_keeps_the_first(published, spark) -> None:
    platform, _, _, _ = published

    with governed_platform(REPO, home=platform.state_home) as again:
        result = again.publish_product("hr.employees")

    assert result.ok, result.error
    port = result.ports[0]
    assert port.version == 1
    first = spark.read.format("delta").option("versionAsOf", 0).load(port.location).count()
    assert first == port.rows


def test_every_run_emitted_valid_openlineage_with_column_lineage(
    published, openlineage_schemas: OpenLineageSchemas
) -> None:
    platform, _, _, events = published

    assert sorted((event["job"]["name"], event["eventType"]) for event in events) == sorted(
        (str(ref), kind) for ref in platform.mesh.products for kind in ("START", "COMPLETE")
    )
    for event in events:
        assert openlineage_schemas.problems(event) == [], event["job"]["name"]
    complete = {event["job"]["name"]: event for event in events if event["eventType"] == "COMPLETE"}

    def inputs_of(product: str, column: str) -> list[tuple[str, str, str]]:
        fields = complete[product]["outputs"][0]["facets"]["columnLineage"]["fields"]
        return sorted(
            (item["name"].split("/")[-2], item["field"], transformation["subtype"])
            for item in fields[column]["inputFields"]
            for transformation in item["transformations"]
        )

    # A join: the customer's country travels unchanged into orders.
    assert inputs_of("sales.orders", "customer_country") == [("customers", "country", "IDENTITY")]
    # An aggregate: average engagement per department.
    assert ("employees", "engagement_score", "AGGREGATION") in inputs_of(
        "hr.engagement_retention", "avg_engagement_score"
    )
    # Across domains and zones: the account manager's name comes from hr.employees.
    assert inputs_of("sales.account_manager_performance", "full_name") == [
        ("employees", "full_name", "IDENTITY")
    ]
    # A PySpark transform: lineage declared in its contract (transformSourceObjects), marked so.
    temperature = complete["operations.pump_health"]["outputs"][0]["facets"]["columnLineage"][
        "fields"
    ]
    assert [
        (item["field"], transformation["provenance"])
        for item in temperature["temp_mean_c"]["inputFields"]
        for transformation in item["transformations"]
    ] == [("motor_temp_c", "declared")]
    zones = {event["job"]["name"]: event["job"]["namespace"] for event in events}
    assert zones["sales.account_manager_performance"] == "americas"
    assert zones["hr.employees"] == "emea"


# -- the governance service after the governed run (over real HTTP) ---------------------------

AM_PERFORMANCE = "sales.account_manager_performance.account_manager_performance"


def _raw_sources_upstream(platform, product: str) -> set[str]:
    """The raw sources a product reads, transitively, according to the specs."""
    found: set[str] = set()
    pending = [platform.mesh.product(product)]
    while pending:
        spec = pending.pop()
        for binding in spec.inputs:
            if binding.raw is not None:
                found.add(binding.raw.source.id)
            if binding.output is not None:
                pending.append(platform.mesh.product(binding.output.product_ref))
    return found


def test_the_catalog_holds_every_product_with_columns_and_the_published_versions(
    published, catalog: httpx.Client
) -> None:
    platform, _, run, _ = published
    products = {item["ref"]: item for item in catalog.get("/api/v1/products").json()}

    assert set(products) == {str(ref) for ref in platform.mesh.products}
    outcomes = {product.product: product for product in run.products}
    for ref, spec in platform.mesh.products.items():
        datasets = {dataset["name"]: dataset for dataset in products[str(ref)]["datasets"]}
        assert set(datasets) == set(spec.ports), ref
        ran = {port.port: port for port in outcomes[str(ref)].ports}
        for name, port in spec.ports.items():
            dataset = datasets[name]
            assert [column["name"] for column in dataset["columns"]] == [
                prop.name for prop in port.contract.columns
            ], port.ref
            # The run's version first (a later test of this module may publish another).
            assert [(v["delta_version"], v["row_count"]) for v in dataset["versions"]][:1] == [
                (ran[name].version, ran[name].rows)
            ], port.ref
            # The published version is the table's: delta-rs reads that many rows at that version.
            table = DeltaTable(dataset["location"], version=ran[name].version)
            assert table.to_pyarrow_table().num_rows == dataset["versions"][0]["row_count"]


def test_searching_a_product_by_its_exact_name_returns_it_first(
    published, catalog: httpx.Client
) -> None:
    platform = published[0]
    for ref in platform.mesh.products:
        page = catalog.get("/api/v1/search", params={"q": ref.name}).json()
        first = page["hits"][0]
        exact = [hit["ref"] for hit in page["hits"] if hit["match"] == "exact_name"]
        assert (first["ref"], first["kind"], first["match"]) == (
            str(ref),
            "product",
            "exact_name",
        ), exact


def test_the_lineage_of_a_cross_domain_product_reaches_the_raw_sources_of_both_domains(
    published, catalog: httpx.Client
) -> None:
    platform = published[0]
    expected = _raw_sources_upstream(platform, "sales.account_manager_performance")
    assert {source.split(".")[0] for source in expected} == {"hr", "sales"}

    graph = catalog.get(
        "/api/v1/lineage/graph",
        params={"dataset": AM_PERFORMANCE, "direction": "upstream", "depth": 10},
    ).json()

    names = {node["logical_name"] for node in graph["nodes"] if node["kind"] == "dataset"}
    jobs = {node["name"] for node in graph["nodes"] if node["kind"] == "job"}
    assert expected <= names, names
    assert {"hr.employees", "sales.customers", "sales.orders"} <= jobs
    assert {"hr.employees.employees", "sales.customers.customers"} <= names


def test_column_lineage_crosses_domains_down_to_the_raw_columns(
    published, catalog: httpx.Client
) -> None:
    graph = catalog.get(
        "/api/v1/lineage/graph",
        params={
            "dataset": AM_PERFORMANCE,
            "column": "full_name",
            "direction": "upstream",
            "depth": 10,
            "level": "column",
        },
    ).json()
    logical = {node["id"]: node["logical_name"] for node in graph["nodes"]}
    edges = {
        (
            logical[edge["source"]],
            edge["source_column"],
            logical[edge["target"]],
            edge["target_column"],
        )
        for edge in graph["edges"]
    }

    assert (
        "hr.employees.employees",
        "full_name",
        AM_PERFORMANCE,
        "full_name",
    ) in edges, edges
    raw_columns = {
        (name, column) for name, column, _, _ in edges if name == "hr.raw.hris_employees"
    }
    assert {("hr.raw.hris_employees", "first_name"), ("hr.raw.hris_employees", "last_name")} <= (
        raw_columns
    ), edges


def test_column_lineage_of_revenue_reaches_the_raw_order_amounts(
    published, catalog: httpx.Client
) -> None:
    graph = catalog.get(
        "/api/v1/lineage/graph",
        params={
            "dataset": AM_PERFORMANCE,
            "column": "revenue_total",
            "direction": "upstream",
            "depth": 10,
            "level": "column",
        },
    ).json()
    logical = {node["id"]: node["logical_name"] for node in graph["nodes"]}
    sources = {(logical[edge["source"]], edge["source_column"]) for edge in graph["edges"]}

    assert ("sales.orders.orders", "net_amount") in sources, sources
    assert {
        ("sales.raw.shop_orders", "gross_amount"),
        ("sales.raw.shop_orders", "discount_amount"),
    } <= sources, sources


def _governed(catalog: httpx.Client, sql: str) -> tuple[pa.Table, str]:
    """One governed query's rows (Arrow, every page) and the ports it read (port@version)."""
    pages, page, ports = [], None, ""
    while True:
        answer = catalog.post(
            "/api/v1/query",
            json={"sql": sql, "format": "arrow", "page_size": 10_000, "page": page},
        )
        assert answer.status_code == 200, f"{sql}: {answer.text}"
        pages.append(pa.ipc.open_stream(answer.content).read_all())
        ports = answer.headers["Meshlake-Ports"]
        page = answer.headers.get("Meshlake-Next-Page")
        if not page:
            return pa.concat_tables(pages), ports


def _same(governed: list[dict[str, Any]], spark_rows: list[dict[str, Any]]) -> bool:
    def close(a: object, b: object) -> bool:
        if isinstance(a, float) and isinstance(b, float):
            return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
        return bool(a == b)

    return len(governed) == len(spark_rows) and all(
        g.keys() == s.keys() and all(close(g[k], s[k]) for k in g)
        for g, s in zip(governed, spark_rows, strict=True)
    )


def test_governed_sql_answers_as_spark_on_every_published_port(
    published, catalog: httpx.Client, spark
) -> None:
    """A differential test: for every port of the sample mesh, a whole-table fingerprint (counts,
    distinct counts, min/max, sums of every column) and the first rows in a total order, through
    POST /api/v1/query (DuckDB over delta-rs) and through Spark SQL on the same published version.
    The admin reads unmasked, so masks are aside."""
    platform, _, run, _ = published
    for ref in sorted(_ports(platform, run)):
        published_version = catalog.get(f"/api/v1/datasets/{ref}/published").json()
        version, location = (
            published_version["delta_version"],
            platform.location(PortRef.parse(ref)),
        )
        frame = spark.read.format("delta").option("versionAsOf", version).load(str(location))
        view = ref.replace(".", "__")
        frame.createOrReplaceTempView(view)
        columns = [(field.name, field.dataType.simpleString()) for field in frame.schema.fields]
        measures = ["count(*) AS n"]
        for i, (name, kind) in enumerate(columns):
            measures += [f"count(`{name}`) AS c{i}", f"count(DISTINCT `{name}`) AS d{i}"]
            if kind != "boolean" and not kind.startswith(("array", "map", "struct")):
                measures += [f"min(`{name}`) AS lo{i}", f"max(`{name}`) AS hi{i}"]
            if kind.startswith(("decimal", "int", "bigint", "smallint", "double", "float")):
                measures.append(f"sum(`{name}`) AS s{i}")
        order = ", ".join(f"`{name}` NULLS FIRST" for name, _ in columns)
        for sql in (
            f"SELECT {', '.join(measures)} FROM {{table}}",
            f"SELECT * FROM {{table}} ORDER BY {order} LIMIT 300",
        ):
            governed, read = _governed(catalog, sql.replace("`", '"').format(table=ref))
            expected = spark.sql(sql.format(table=view)).toArrow()
            assert read == f"{ref}@{version}", read
            assert _same(governed.to_pylist(), expected.to_pylist()), (
                f"{ref}: governed SQL and Spark differ for {sql}"
            )


AGREEMENT = "sales-account-managers-read-employees"
TIGHT = "hr-field-staffing-reads-pump-health-tight-sla"


def test_the_cross_domain_read_went_through_its_agreement_with_names_masked(
    published, catalog: httpx.Client
) -> None:
    """sales.account_manager_performance reads hr.employees under the sample agreement (synced
    from domains/sales/agreements/, approved in review): full_name arrives as its SHA-256."""
    platform, _, run, _ = published
    ports = _ports(platform, run)
    managers = DeltaTable(
        ports["sales.account_manager_performance.account_manager_performance"].location
    )
    employees = DeltaTable(ports["hr.employees.employees"].location).to_pyarrow_table()
    names = set(managers.to_pyarrow_table().column("full_name").to_pylist())
    plain = set(employees.column("full_name").to_pylist())
    agreement = catalog.get(f"/api/v1/agreements/{AGREEMENT}").json()
    events = catalog.get(f"/api/v1/agreements/{AGREEMENT}/events").json()
    reads = catalog.get(
        "/api/v1/audit", params={"action": "agreement.read_covered", "limit": 1000}
    ).json()

    assert names and not names & plain
    assert all(len(name) == 64 and set(name) <= set("0123456789abcdef") for name in names)
    assert agreement["state"] == "active"
    assert agreement["source"] == "domains/sales/agreements/account-managers-read-employees.yaml"
    assert events[-1]["detail"]["reason"].startswith("approved by ines.moreau@example.com")
    assert any(entry["after"]["agreement"] == AGREEMENT for entry in reads)


def test_the_too_tight_sample_sla_opened_an_incident_for_the_provider(
    published, catalog: httpx.Client
) -> None:
    """Its SLA was measured when pump_health's version was recorded: a million rows promised."""
    incidents = catalog.get("/api/v1/incidents", params={"state": "open"}).json()
    evidence = catalog.get(f"/api/v1/agreements/{TIGHT}/sla").json()

    _, _, run, _ = published
    sla = {outcome.product: outcome.sla_missed for outcome in run.products}
    (incident,) = [item for item in incidents if TIGHT in item["agreements"]]
    assert incident["port"] == "operations.pump_health.pump_health"
    assert incident["provider_domain"] == "operations"
    assert "completeness" in incident["breached"]
    assert evidence and evidence[0]["met"] is False
    completeness = next(
        item for item in evidence[0]["results"] if item["property"] == "completeness"
    )
    assert completeness["status"] == "missed" and completeness["promised"]
    # Each agreement's SLA is a Dagster asset check on its port: the tight one warns.
    assert [missed.split(":")[0] for missed in sla["operations.pump_health"]] == [
        "pump_health.sla_hr_field_staffing_reads_pump_health_tight_sla"
    ]
    assert sla["hr.employees"] == []


def test_a_revoked_agreement_stops_the_next_read_before_it_runs(
    published, catalog: httpx.Client
) -> None:
    platform, _, _, _ = published
    revoked = catalog.post(
        f"/api/v1/agreements/{AGREEMENT}/revoke", json={"reason": "e2e: stop sharing"}
    )
    # Revoking is final (a new agreement would be requested): the last test of this module.
    with governed_platform(REPO, home=platform.state_home) as again:
        result = again.publish_product("sales.account_manager_performance")

    assert revoked.status_code == 200, revoked.text
    assert not result.ok
    assert (
        f"no active sharing agreement lets sales.account_manager_performance read "
        f"hr.employees.employees: agreement {AGREEMENT} was revoked" in (result.error or "")
    )
