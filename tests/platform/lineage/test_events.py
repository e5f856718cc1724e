"""OpenLineage events of a product run: valid against the official schemas, and saying the right things.

Events are serialized exactly as the transports send them (``Serde``), then checked against
OpenLineage.json and each facet against its own facet schema.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from meshlake.platform import PortRef, load_mesh
from meshlake.platform._materialize import PortResult
from meshlake.platform.lineage._events import PRODUCER, product_run_event
from meshlake.platform.lineage._naming import (
    DatasetName,
    LineageError,
    UnsupportedLocationError,
    dataset_name,
)
from meshlake.platform.specs import Mesh, ProductSpec
from meshlake.platform.specs._models import CustomProperty
from tests.helpers import REPO
from tests.openlineage_schemas import OpenLineageSchemas
from tests.platform.lineage._support import MINI, RUN_ID, by_name, run_event, wire

pytestmark = pytest.mark.unit

SAMPLE = load_mesh(REPO)


@dataclasses.dataclass(frozen=True, order=True)
class Edge:
    """The shape of the column-lineage module's ColumnEdge, built here to keep the tests independent."""

    output_column: str
    input_port: str
    input_column: str
    type: str
    subtype: str
    provenance: str = "parsed"


def _symlink(dataset: dict[str, Any]) -> tuple[str, str, str]:
    (identifier,) = dataset["facets"]["symlinks"]["identifiers"]
    return identifier["namespace"], identifier["name"], identifier["type"]


def _schema(dataset: dict[str, Any]) -> list[tuple[str, str]]:
    return [(field["name"], field["type"]) for field in dataset["facets"]["schema"]["fields"]]


def _edges(facet: dict[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    """The column-lineage facet flattened: (output column or *, dataset name, field, type, subtype,
    provenance); * marks the dataset-wide dependencies."""
    rows = []
    groups = [(column, entry["inputFields"]) for column, entry in facet["fields"].items()]
    for column, fields in [*groups, ("*", facet.get("dataset", []))]:
        for field in fields:
            for step in field["transformations"]:
                assert step["masking"] is False
                rows.append(
                    (
                        column,
                        Path(field["name"]).name,
                        field["field"],
                        step["type"],
                        step["subtype"],
                        step["provenance"],
                    )
                )
    return sorted(rows)


# ---------------------------------------------------------------------------------------------
# Naming


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("/lake/hr/employees/employees", DatasetName("file", "/lake/hr/employees/employees")),
        ("file:///lake/hr/employees", DatasetName("file", "/lake/hr/employees")),
        (
            "abfss://lake@emeastore.dfs.core.windows.net/hr/employees/employees",
            DatasetName("abfss://lake@emeastore.dfs.core.windows.net", "hr/employees/employees"),
        ),
        ("s3://americas-lake/sales/orders/", DatasetName("s3://americas-lake", "sales/orders")),
        ("s3a://americas-lake/sales/orders", DatasetName("s3://americas-lake", "sales/orders")),
        ("gs://gcs-lake/ops/pumps", DatasetName("gs://gcs-lake", "ops/pumps")),
    ],
)
def test_locations_are_named_per_the_openlineage_naming_spec(
    location: str, expected: DatasetName
) -> None:
    assert dataset_name(location) == expected


def test_a_relative_path_is_named_by_its_absolute_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/tmp")
    assert dataset_name("lake/x") == DatasetName("file", "/tmp/lake/x")
    assert dataset_name(Path("/lake/x")).uri == "file:///lake/x"
    assert dataset_name("s3://b/k").uri == "s3://b/k"


@pytest.mark.parametrize(
    ("location", "says"),
    [
        ("hdfs://namenode:8020/lake", "scheme 'hdfs' is not supported"),
        ("https://example.com/lake", "scheme 'https' is not supported"),
        ("abfss://emeastore.dfs.core.windows.net/lake", "abfss://<container>@<account>"),
        ("s3://bucket-only", "names a whole bucket"),
        ("s3:///no-bucket/key", "needs a bucket or container"),
    ],
)
def test_unnamable_locations_are_a_clear_error(location: str, says: str) -> None:
    with pytest.raises(UnsupportedLocationError, match=re.escape(location)) as caught:
        dataset_name(location)
    assert says in str(caught.value)


# ---------------------------------------------------------------------------------------------
# Events


def test_start_of_a_sql_product_reading_a_raw_source(
    schemas: OpenLineageSchemas, tmp_path: Path
) -> None:
    event = run_event("START", MINI, "alpha.things", tmp_path)

    assert schemas.problems(event) == []
    assert event["eventType"] == "START"
    assert event["eventTime"] == "2026-11-02T07:30:00+00:00"
    assert event["producer"] == PRODUCER
    assert event["run"]["runId"] == RUN_ID
    assert (event["job"]["namespace"], event["job"]["name"]) == ("lab", "alpha.things")
    job = event["job"]["facets"]
    assert job["jobType"]["processingType"] == "BATCH"
    assert job["jobType"]["integration"] == "MESHLAKE"
    assert job["jobType"]["jobType"] == "DATA_PRODUCT"
    assert job["sql"]["query"] == "SELECT thing_id, label, weight, kind FROM things_raw"
    assert "sourceCode" not in job
    assert job["ownership"]["owners"] == [{"name": "user:owner@example.com", "type": "owner"}]
    engine = event["run"]["facets"]["processing_engine"]
    assert engine["name"] == "spark"
    assert engine["version"].startswith("4.")
    assert "errorMessage" not in event["run"]["facets"]

    (raw,) = event["inputs"]
    assert (raw["namespace"], raw["name"]) == ("file", f"{tmp_path}/lake/lab/_raw/alpha/things_raw")
    assert _symlink(raw) == ("meshlake", "alpha.raw.things", "RAW_SOURCE")
    assert _schema(raw) == [(name, "STRING") for name in ("thing_id", "label", "weight", "kind")]
    assert "version" not in raw["facets"]

    (out,) = event["outputs"]
    assert (out["namespace"], out["name"]) == ("file", f"{tmp_path}/lake/lab/alpha/things/things")
    assert _symlink(out) == ("meshlake", "alpha.things.things", "TABLE")
    assert _schema(out) == [
        ("thing_id", "STRING"),
        ("label", "STRING"),
        ("weight", "DECIMAL(8,3)"),
        ("kind", "STRING"),
    ]
    assert out["facets"]["ownership"]["owners"] == [
        {"name": "user:owner@example.com", "type": "owner"}
    ]
    assert out["facets"]["storage"] == {
        **out["facets"]["storage"],
        "storageLayer": "delta",
        "fileFormat": "parquet",
    }
    assert "version" not in out["facets"]
    assert "columnLineage" not in out["facets"]
    assert out["outputFacets"] == {}


def test_complete_carries_versions_row_counts_and_column_lineage(
    schemas: OpenLineageSchemas, tmp_path: Path
) -> None:
    product = MINI.product("alpha.summary")
    location = f"{tmp_path}/lake/lab/alpha/summary/summary"
    published = [PortResult(PortRef("alpha", "summary", "summary"), location, 3, 4, "overwrite")]
    edges = [
        Edge("kind", "things", "kind", "DIRECT", "IDENTITY"),
        Edge("total_weight", "things", "weight", "DIRECT", "AGGREGATION"),
        Edge("total_weight", "things", "kind", "INDIRECT", "CONDITIONAL", "declared"),
        Edge("total_weight", "things", "kind", "INDIRECT", "CONDITIONAL", "runtime"),  # a repeat
        # An aggregate's own FILTER (WHERE ...) shapes one column and stays with it.
        Edge("things", "things", "weight", "INDIRECT", "FILTER"),
        # Edges to the whole output ("" as output column) go to the facet's dataset list.
        Edge("", "things", "kind", "INDIRECT", "GROUP_BY"),
        Edge("", "things", "kind", "INDIRECT", "GROUP_BY", "runtime"),
        Edge("", "things", "label", "INDIRECT", "FILTER"),
    ]
    event = run_event(
        "COMPLETE",
        MINI,
        "alpha.summary",
        tmp_path,
        published=published,
        column_lineage={"summary": edges},
    )

    assert schemas.problems(event) == []
    assert event["eventType"] == "COMPLETE"
    assert event["job"]["name"] == "alpha.summary"
    assert "sql" not in event["job"]["facets"]
    source = event["job"]["facets"]["sourceCode"]
    assert source["language"] == "python"
    assert source["sourceCode"] == product.ports["summary"].transform_file.read_text().strip()

    (upstream,) = event["inputs"]
    assert upstream["name"] == f"{tmp_path}/lake/lab/alpha/things/things"
    assert _symlink(upstream) == ("meshlake", "alpha.things.things", "TABLE")
    assert ("weight", "DECIMAL(8,3)") in _schema(upstream)

    (out,) = event["outputs"]
    assert (out["namespace"], out["name"]) == ("file", location)
    assert out["facets"]["version"]["datasetVersion"] == "3"
    assert out["facets"]["lifecycleStateChange"]["lifecycleStateChange"] == "OVERWRITE"
    assert out["outputFacets"]["outputStatistics"]["rowCount"] == 4
    lineage = out["facets"]["columnLineage"]
    assert _edges(lineage) == [
        ("*", "things", "kind", "INDIRECT", "GROUP_BY", "parsed"),
        ("*", "things", "label", "INDIRECT", "FILTER", "parsed"),
        ("kind", "things", "kind", "DIRECT", "IDENTITY", "parsed"),
        ("things", "things", "weight", "INDIRECT", "FILTER", "parsed"),
        ("total_weight", "things", "kind", "INDIRECT", "CONDITIONAL", "declared"),
        ("total_weight", "things", "weight", "DIRECT", "AGGREGATION", "parsed"),
    ]
    # One inputFields entry per input column, its namespace and name those of the input dataset.
    (kind_source,) = lineage["fields"]["kind"]["inputFields"]
    assert (kind_source["namespace"], kind_source["name"]) == ("file", upstream["name"])
    assert len(lineage["fields"]["total_weight"]["inputFields"]) == 2


def test_the_schema_check_catches_broken_facets(
    schemas: OpenLineageSchemas, tmp_path: Path
) -> None:
    edges = {"summary": [Edge("kind", "things", "kind", "DIRECT", "IDENTITY")]}
    event = run_event("START", MINI, "alpha.summary", tmp_path, column_lineage=edges)
    facets = event["outputs"][0]["facets"]
    del facets["columnLineage"]["fields"]["kind"]["inputFields"][0]["field"]
    facets["symlinks"]["_schemaURL"] = "https://openlineage.io/spec/facets/9-9-9/Symlinks.json"
    del event["run"]["runId"]

    problems = schemas.problems(event)
    assert any(p.startswith("event: run: 'runId' is a required property") for p in problems)
    assert any("columnLineage: columnLineage/fields/kind/inputFields/0" in p for p in problems)
    assert any("symlinks: _schemaURL" in p for p in problems)


def test_a_first_version_is_a_create_and_an_append_no_state_change(tmp_path: Path) -> None:
    ref = PortRef("alpha", "things", "things")
    first = run_event(
        "COMPLETE",
        MINI,
        "alpha.things",
        tmp_path,
        published=[PortResult(ref, "x", 0, 100, "overwrite")],
    )
    assert first["outputs"][0]["facets"]["lifecycleStateChange"]["lifecycleStateChange"] == "CREATE"
    appended = run_event(
        "COMPLETE", MINI, "alpha.things", tmp_path, published=[PortResult(ref, "x", 7, 5, "append")]
    )
    assert "lifecycleStateChange" not in appended["outputs"][0]["facets"]
    assert appended["outputs"][0]["facets"]["version"]["datasetVersion"] == "7"


def test_fail_carries_the_error_message(schemas: OpenLineageSchemas, tmp_path: Path) -> None:
    message = "alpha.summary: transform.py: AnalysisException: [UNRESOLVED_COLUMN] weight"
    event = run_event("FAIL", MINI, "alpha.summary", tmp_path, error=message)

    assert schemas.problems(event) == []
    assert event["eventType"] == "FAIL"
    error = event["run"]["facets"]["errorMessage"]
    assert error["message"] == message
    assert error["programmingLanguage"] == "python"
    (out,) = event["outputs"]
    assert "version" not in out["facets"]
    assert out["outputFacets"] == {}


def test_a_cross_zone_product_names_inputs_in_their_own_zone(
    schemas: OpenLineageSchemas, tmp_path: Path
) -> None:
    event = run_event("START", SAMPLE, "sales.account_manager_performance", tmp_path)

    assert schemas.problems(event) == []
    assert event["job"]["namespace"] == "americas"
    assert event["job"]["name"] == "sales.account_manager_performance"
    purpose = SAMPLE.product("sales.account_manager_performance").descriptor.description
    assert purpose is not None and purpose.purpose is not None
    assert event["job"]["facets"]["documentation"]["description"] == purpose.purpose.strip()
    assert "FROM customers AS c" in event["job"]["facets"]["sql"]["query"]
    assert event["job"]["facets"]["ownership"]["owners"] == [
        {"name": "user:camila.torres@example.com", "type": "owner"}
    ]
    assert sorted(_symlink(dataset)[1] for dataset in event["inputs"]) == [
        "hr.employees.employees",
        "sales.customers.customers",
        "sales.orders.orders",
    ]
    employees = by_name(event["inputs"], "employees/employees")
    assert employees["name"] == f"{tmp_path}/lake/emea/hr/employees/employees"
    assert ("employee_id", "STRING") in _schema(employees)
    (out,) = event["outputs"]
    assert out["name"] == (
        f"{tmp_path}/lake/americas/sales/account_manager_performance/account_manager_performance"
    )
    documentation = out["facets"]["documentation"]
    assert documentation["description"].startswith(
        "Customers, orders and revenue per account manager."
    )
    assert "**Limitations.**" in documentation["description"]
    fields = out["facets"]["schema"]["fields"]
    assert fields[10] == {
        "name": "revenue_total",
        "type": "DECIMAL(16,2)",
        "description": "Net revenue of those customers, all time, USD.",
        "ordinal_position": 11,
        "fields": [],
    }


def _on_object_stores(mesh: Mesh, roots: dict[str, str]) -> Mesh:
    zones = {
        name: zone.model_copy(update={"storage_root": roots.get(name, zone.storage_root)})
        for name, zone in mesh.zones.items()
    }
    products = {
        ref: dataclasses.replace(product, zone=zones[product.zone.name])
        for ref, product in mesh.products.items()
    }
    return dataclasses.replace(mesh, zones=zones, products=products)


def _pinned(product: ProductSpec, port: str, version: int) -> ProductSpec:
    pin = CustomProperty(property="deltaVersion", value=version)
    inputs = [
        dataclasses.replace(
            binding, port=binding.port.model_copy(update={"custom_properties": [pin]})
        )
        if binding.name == port
        else binding
        for binding in product.inputs
    ]
    return dataclasses.replace(product, inputs=inputs)


def test_object_store_zones_and_pinned_inputs(schemas: OpenLineageSchemas, tmp_path: Path) -> None:
    mesh = _on_object_stores(
        SAMPLE,
        {
            "emea": "abfss://lake@emeastore.dfs.core.windows.net/meshlake",
            "americas": "s3a://americas-lake/meshlake/",
        },
    )
    product = _pinned(mesh.product("sales.account_manager_performance"), "employees", 12)
    event = wire(
        product_run_event("START", mesh=mesh, product=product, run_id=RUN_ID, state_home=tmp_path)
    )

    assert schemas.problems(event) == []
    employees = by_name(event["inputs"], "employees/employees")
    assert (employees["namespace"], employees["name"]) == (
        "abfss://lake@emeastore.dfs.core.windows.net",
        "meshlake/hr/employees/employees",
    )
    assert employees["facets"]["version"]["datasetVersion"] == "12"
    assert employees["facets"]["dataSource"]["uri"] == "abfss://lake@emeastore.dfs.core.windows.net"
    orders = by_name(event["inputs"], "orders/orders")
    assert (orders["namespace"], orders["name"]) == (
        "s3://americas-lake",
        "meshlake/sales/orders/orders",
    )
    assert "version" not in orders["facets"]
    (out,) = event["outputs"]
    assert out["namespace"] == "s3://americas-lake"
    assert out["name"] == ("meshlake/sales/account_manager_performance/account_manager_performance")


@pytest.mark.parametrize("product", sorted(map(str, SAMPLE.products)))
def test_every_sample_product_gives_valid_events(
    product: str, schemas: OpenLineageSchemas, tmp_path: Path
) -> None:
    spec = SAMPLE.product(product)
    published = [PortResult(port.ref, "x", 1, 10, port.write_mode) for port in spec.ports.values()]
    for kind, extra in (
        ("START", {}),
        ("COMPLETE", {"published": published}),
        ("FAIL", {"error": "boom"}),
    ):
        event = run_event(kind, SAMPLE, product, tmp_path, **extra)
        assert schemas.problems(event) == [], kind
        assert len(event["outputs"]) == len(spec.ports)
        assert len(event["inputs"]) == len(spec.inputs)


def test_edges_and_results_that_do_not_fit_the_product_are_refused(tmp_path: Path) -> None:
    def build(**extra: Any) -> None:
        run_event("COMPLETE", MINI, "alpha.summary", tmp_path, **extra)

    with pytest.raises(LineageError, match="input port 'orders'"):
        build(column_lineage={"summary": [Edge("kind", "orders", "kind", "DIRECT", "IDENTITY")]})
    with pytest.raises(LineageError, match="column 'colour'"):
        build(column_lineage={"summary": [Edge("colour", "things", "kind", "DIRECT", "IDENTITY")]})
    with pytest.raises(LineageError, match="not an output port"):
        build(column_lineage={"things": []})
    with pytest.raises(LineageError, match=r"alpha\.things\.things is not one of"):
        build(published=[PortResult(PortRef("alpha", "things", "things"), "x", 1, 1, "append")])
    with pytest.raises(LineageError, match="belongs on a FAIL event"):
        build(error="boom")
    with pytest.raises(LineageError, match="'ABORT' is not one of"):
        run_event("ABORT", MINI, "alpha.summary", tmp_path)
