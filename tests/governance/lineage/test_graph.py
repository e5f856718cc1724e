"""The lineage graph and impact endpoints over real HTTP, after every sample product sent START and
COMPLETE through openlineage-python's own client: checked edge by edge against the sample mesh."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshlake.governance.api.routes.lineage import GraphOut, ImpactOut
from tests.governance.conftest import Service
from tests.governance.lineage._support import (
    AMP,
    get_json,
    job_name,
    pairs,
    port_name,
    raw_name,
)

pytestmark = pytest.mark.integration


def test_upstream_table_graph_reaches_the_raw_sources_through_hr_employees(
    service: Service, bot: str, state: Path
) -> None:
    graph = get_json(
        service, bot, "/api/v1/lineage/graph", dataset=f"{AMP}.account_manager_performance", depth=3
    )

    amp = port_name(state, "americas", f"{AMP}.account_manager_performance")
    employees = port_name(state, "emea", "hr.employees.employees")
    customers = port_name(state, "americas", "sales.customers.customers")
    orders = port_name(state, "americas", "sales.orders.orders")
    hris = raw_name(state, "emea", "hr", "hris_employees")
    crm = raw_name(state, "americas", "sales", "crm_customers")
    shop = raw_name(state, "americas", "sales", "shop_orders")
    assert graph["start"] == [amp]
    GraphOut.model_validate(graph)  # what is sent is what the OpenAPI document promises
    edges = pairs(graph)
    for edge in [
        (job_name("americas", AMP), amp),
        (employees, job_name("americas", AMP)),
        (customers, job_name("americas", AMP)),
        (orders, job_name("americas", AMP)),
        (job_name("emea", "hr.employees"), employees),
        (hris, job_name("emea", "hr.employees")),
        (job_name("americas", "sales.customers"), customers),
        (crm, job_name("americas", "sales.customers")),
        (job_name("americas", "sales.orders"), orders),
        (shop, job_name("americas", "sales.orders")),
        (customers, job_name("americas", "sales.orders")),
    ]:
        assert edge in edges, edge
    nodes = {node["id"]: node for node in graph["nodes"]}
    assert nodes[employees]["logical_name"] == "hr.employees.employees"
    assert nodes[employees]["depth"] == 1
    assert nodes[hris]["logical_name"] == "hr.raw.hris_employees"
    assert (nodes[hris]["depth"], nodes[crm]["depth"], nodes[shop]["depth"]) == (2, 2, 2)
    # Nothing downstream of the start, nor other domains, sneaks into an upstream graph.
    assert not any("operations" in node or "engagement" in node for node in nodes)

    shallow = get_json(
        service, bot, "/api/v1/lineage/graph", dataset=f"{AMP}.account_manager_performance", depth=1
    )
    assert hris not in {node["id"] for node in shallow["nodes"]}
    assert employees in {node["id"] for node in shallow["nodes"]}


def test_downstream_graph_of_a_job_and_the_physical_name_form(
    service: Service, bot: str, state: Path
) -> None:
    graph = get_json(
        service, bot, "/api/v1/lineage/graph", job="hr.employees", direction="downstream", depth=2
    )
    employees = port_name(state, "emea", "hr.employees.employees")
    assert (job_name("emea", "hr.employees"), employees) in pairs(graph)
    assert (employees, job_name("americas", AMP)) in pairs(graph)
    assert (employees, job_name("emea", "hr.engagement_retention")) in pairs(graph)

    by_path = get_json(
        service,
        bot,
        "/api/v1/lineage/graph",
        dataset=f"{state}/lake/emea/hr/employees/employees",
        namespace="file",
        direction="both",
        depth=1,
    )
    ids = {node["id"] for node in by_path["nodes"]}
    assert {job_name("emea", "hr.employees"), job_name("americas", AMP)} <= ids


def test_column_graph_of_a_known_column(service: Service, bot: str, state: Path) -> None:
    graph = get_json(
        service,
        bot,
        "/api/v1/lineage/graph",
        dataset="sales.orders.orders",
        column="customer_country",
        level="column",
        depth=2,
    )

    orders = port_name(state, "americas", "sales.orders.orders")
    customers = port_name(state, "americas", "sales.customers.customers")
    crm = raw_name(state, "americas", "sales", "crm_customers")
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
    assert country["job"] == job_name("americas", "sales.orders")
    # Two hops: customers.country comes from the CRM drop.
    assert (crm, "country", customers, "country") in edges
    # The join that decides which orders get a country is a dataset-level edge of orders.
    join = edges[(customers, "customer_id", orders, None)]
    assert (join["type"], join["subtype"]) == ("INDIRECT", "JOIN")
    # Other columns of orders are not part of this column's graph.
    assert not any(target == orders and column == "channel" for _s, _c, target, column in edges)


def test_declared_lineage_keeps_its_provenance(service: Service, bot: str, state: Path) -> None:
    graph = get_json(
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
    impact = get_json(
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
    assert job_name("americas", AMP) in {job["id"] for job in impact["jobs"]}

    with service.client(bot) as client:
        typo = client.get(
            "/api/v1/lineage/impact",
            params={"dataset": "hr.employees.employees", "column": "fullname"},
        )
    assert typo.status_code == 404
    assert "no column lineage mentions column 'fullname'" in typo.json()["detail"]
    assert "full_name" in typo.json()["detail"]


def test_impact_is_transitive(service: Service, bot: str, state: Path) -> None:
    impact = get_json(
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
