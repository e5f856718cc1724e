"""Column lineage from Spark SQL and from contract declarations.

Each file in ``cases/`` is one case: inline SQL with its input schemas and output columns, or a
real sample transform (``product`` and ``port``, schemas read from the mesh), with the exact
expected edges (``output <- input_port.column TYPE SUBTYPE``; ``<dataset>`` for the dataset-level
ones) or the expected LineageError.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshlake.platform import load_mesh
from meshlake.platform.lineage._columns import (
    DATASET_LEVEL,
    ColumnEdge,
    LineageError,
    declared_column_lineage,
    sql_column_lineage,
)
from meshlake.platform.specs import Mesh, PortSpec, ProductSpec
from meshlake.platform.specs._types import ddl_column_names
from tests.helpers import REPO

pytestmark = pytest.mark.unit

CASES = Path(__file__).parent / "cases"
DATASET_MARK = "<dataset>"

# Output columns of the sample transforms that read no input column directly: each is a row count
# (count(*)), so its lineage is only the dataset-level edges (joins, filters, grouping).
ROW_COUNT_COLUMNS = {
    ("hr.engagement_retention", "engagement_retention", "headcount"),  # count(*)
    (
        "sales.account_manager_performance",
        "account_manager_performance",
        "order_count",
    ),  # sum of a count(*)
    ("sales.customer_churn_features", "customer_churn_features", "frequency"),  # count(*)
    ("sales.customer_churn_features", "customer_churn_features", "churned"),  # count(*) = 0
}


@pytest.fixture(scope="module")
def mesh() -> Mesh:
    return load_mesh(REPO)


def _schemas(mesh: Mesh, product: ProductSpec) -> dict[str, list[str]]:
    schemas = {}
    for binding in product.inputs:
        if binding.output is not None:
            schemas[binding.name] = [c.name for c in mesh.port(binding.output).contract.columns]
        else:
            assert binding.raw is not None
            schemas[binding.name] = ddl_column_names(binding.raw.source.schema_ddl)
    return schemas


def _sql_ports(mesh: Mesh) -> list[tuple[ProductSpec, str, PortSpec]]:
    return [
        (product, name, port)
        for product in mesh.products.values()
        for name, port in product.ports.items()
        if port.transform_file.suffix == ".sql"
    ]


def _edge_text(edge: ColumnEdge) -> str:
    output = DATASET_MARK if edge.is_dataset_level else edge.output_column
    return f"{output} <- {edge.input_port}.{edge.input_column} {edge.type} {edge.subtype}"


def _case_input(case: dict[str, Any], mesh: Mesh) -> tuple[str, dict[str, list[str]], list[str]]:
    if "product" in case:
        product = mesh.product(case["product"])
        port = product.ports[case["port"]]
        sql = port.transform_file.read_text(encoding="utf-8")
        return sql, _schemas(mesh, product), [c.name for c in port.contract.columns]
    return case["sql"], case["inputs"], case["outputs"]


def _cases() -> list[Any]:
    return [
        pytest.param(yaml.safe_load(path.read_text(encoding="utf-8")), id=path.stem)
        for path in sorted(CASES.glob("*.yaml"))
    ]


@pytest.mark.parametrize("case", _cases())
def test_case(case: dict[str, Any], mesh: Mesh) -> None:
    sql, schemas, outputs = _case_input(case, mesh)
    if "error" in case:
        expected = case["error"]
        with pytest.raises(LineageError, match=expected["match"]) as raised:
            sql_column_lineage(sql, schemas, outputs)
        for field in ("table", "column", "line"):
            if field in expected:
                assert getattr(raised.value, field) == expected[field], field
        return
    edges = sql_column_lineage(sql, schemas, outputs)
    assert [_edge_text(edge) for edge in edges] == sorted(case["edges"])
    assert {edge.provenance for edge in edges} <= {"parsed"}


def test_every_case_names_its_expectation() -> None:
    for path in sorted(CASES.glob("*.yaml")):
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert case.get("description"), path.name
        assert ("edges" in case) != ("error" in case), f"{path.name}: give edges or error"


def test_real_cases_cover_the_required_transforms() -> None:
    covered = {
        (case["product"], case["port"])
        for path in CASES.glob("*.yaml")
        if "product" in (case := yaml.safe_load(path.read_text(encoding="utf-8")))
    }
    assert {
        ("hr.engagement_retention", "engagement_retention"),
        ("sales.orders", "orders"),
        ("sales.account_manager_performance", "account_manager_performance"),
    } <= covered


def test_every_sample_sql_transform_has_lineage_without_phantoms(mesh: Mesh) -> None:
    ports = _sql_ports(mesh)
    assert len(ports) >= 8  # every sample SQL transform, pump_units.sql included
    missing_direct = set()
    for product, name, port in ports:
        schemas = _schemas(mesh, product)
        outputs = [c.name for c in port.contract.columns]
        edges = sql_column_lineage(
            port.transform_file.read_text(encoding="utf-8"), schemas, outputs
        )
        assert edges == sorted(edges)
        assert len(set(edges)) == len(edges)
        for edge in edges:
            assert edge.is_dataset_level or edge.output_column in outputs, edge
            assert edge.input_column in schemas[edge.input_port], edge
            if edge.type == "DIRECT":
                assert edge.subtype in {"IDENTITY", "TRANSFORMATION", "AGGREGATION"}, edge
                assert not edge.is_dataset_level, edge
            else:
                assert edge.type == "INDIRECT", edge
                assert edge.subtype in {
                    "JOIN",
                    "GROUP_BY",
                    "FILTER",
                    "SORT",
                    "WINDOW",
                    "CONDITIONAL",
                }, edge
        direct = {edge.output_column for edge in edges if edge.type == "DIRECT"}
        missing_direct |= {(str(product.ref), name, c) for c in outputs if c not in direct}
    assert missing_direct == ROW_COUNT_COLUMNS


def test_edges_build_a_valid_openlineage_facet(mesh: Mesh, shared_specs: Path) -> None:
    """The edges split into the facet's ``fields`` and ``dataset`` by ``is_dataset_level`` alone."""
    import json

    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    product = mesh.product("sales.orders")
    port = product.ports["orders"]
    edges = sql_column_lineage(
        port.transform_file.read_text(encoding="utf-8"),
        _schemas(mesh, product),
        [c.name for c in port.contract.columns],
    )

    def input_field(edge: ColumnEdge) -> dict[str, Any]:
        return {
            "namespace": "meshlake",
            "name": edge.input_port,
            "field": edge.input_column,
            "transformations": [{"type": edge.type, "subtype": edge.subtype}],
        }

    fields: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for edge in edges:
        if not edge.is_dataset_level:
            fields.setdefault(edge.output_column, {"inputFields": []})["inputFields"].append(
                input_field(edge)
            )
    facet = {
        "_producer": "https://example.com/meshlake",
        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
        "fields": fields,
        "dataset": [input_field(edge) for edge in edges if edge.is_dataset_level],
    }
    folder = shared_specs / "openlineage"
    documents = [json.loads(path.read_text()) for path in folder.rglob("*.json")]
    registry: Registry[Any] = Registry().with_resources(
        (document["$id"], Resource.from_contents(document)) for document in documents
    )
    schema = json.loads((folder / "facets" / "ColumnLineageDatasetFacet.json").read_text())
    Draft202012Validator(schema, registry=registry).validate({"columnLineage": facet})
    assert set(fields) == {c.name for c in port.contract.columns}
    assert {(f["name"], f["field"]) for f in facet["dataset"]} == {
        ("customers", "customer_id"),
        ("shop_orders", "customer_id"),
        ("shop_orders", "order_id"),
        ("shop_orders", "order_ts"),
    }


def test_dataset_level_edges_have_no_output_column() -> None:
    edges = sql_column_lineage("SELECT a FROM t WHERE b > 0", {"t": ["a", "b"]}, ["a"])
    assert [edge for edge in edges if edge.is_dataset_level] == [
        ColumnEdge(DATASET_LEVEL, "t", "b", "INDIRECT", "FILTER", "parsed")
    ]


def test_output_is_deterministic_and_a_fresh_list(mesh: Mesh) -> None:
    product = mesh.product("sales.customer_churn_features")
    port = product.ports["customer_churn_features"]
    sql = port.transform_file.read_text(encoding="utf-8")
    schemas = _schemas(mesh, product)
    outputs = [c.name for c in port.contract.columns]
    first = sql_column_lineage(sql, schemas, outputs)
    first.clear()  # a caller may change its list; the cached answer must not change with it
    again = sql_column_lineage(sql, schemas, outputs)
    reordered = sql_column_lineage(sql, dict(reversed(list(schemas.items()))), outputs[::-1])
    assert again and again == reordered


def test_only_the_output_columns_asked_for_get_edges() -> None:
    edges = sql_column_lineage("SELECT a, b FROM t", {"t": ["a", "b"]}, ["b"])
    assert [_edge_text(edge) for edge in edges] == ["b <- t.b DIRECT IDENTITY"]


def test_other_dialects_parse_too() -> None:
    edges = sql_column_lineage(
        "SELECT id::VARCHAR AS ident FROM people", {"people": ["id"]}, ["ident"], dialect="duckdb"
    )
    assert [_edge_text(edge) for edge in edges] == ["ident <- people.id DIRECT TRANSFORMATION"]


def test_lineage_error_is_a_meshlake_error() -> None:
    from meshlake.platform import MeshlakeError

    with pytest.raises(MeshlakeError):
        sql_column_lineage("SELECT x FROM t", {"t": ["a"]}, ["x"])


# -- declared lineage (ODCS transformSourceObjects) -------------------------------------------


def test_declared_lineage_is_direct_transformation() -> None:
    edges = declared_column_lineage(
        {"full_name": ["employees.first_name", "employees.last_name"], "id": ["Employees.ID"]},
        {"employees": ["id", "first_name", "last_name"]},
    )
    assert edges == [
        ColumnEdge("full_name", "employees", "first_name", "DIRECT", "TRANSFORMATION", "declared"),
        ColumnEdge("full_name", "employees", "last_name", "DIRECT", "TRANSFORMATION", "declared"),
        ColumnEdge("id", "employees", "id", "DIRECT", "TRANSFORMATION", "declared"),
    ]


@pytest.mark.parametrize(
    ("sources", "message", "table", "column"),
    [
        (
            ["payroll.salary"],
            r"'payroll' is not an input port \(input ports: employees\)",
            "payroll",
            "pay",
        ),
        (
            ["employees.salary"],
            r"input port 'employees' has no column 'salary'",
            "employees",
            "salary",
        ),
        (["salary"], r"'salary' is not 'input_port.column'", None, "pay"),
        ([".salary"], r"is not 'input_port.column'", None, "pay"),
    ],
)
def test_declared_lineage_refuses_unknown_sources(
    sources: list[str], message: str, table: str | None, column: str
) -> None:
    with pytest.raises(LineageError, match=message) as raised:
        declared_column_lineage({"pay": sources}, {"employees": ["id"]})
    assert raised.value.table == table
    assert raised.value.column == column


def test_declared_lineage_of_the_sample_contracts(mesh: Mesh) -> None:
    seen = []
    for product in mesh.products.values():
        schemas = _schemas(mesh, product)
        for port in product.ports.values():
            declared = {
                c.name: c.transform_source_objects
                for c in port.contract.columns
                if c.transform_source_objects
            }
            seen += [_edge_text(edge) for edge in declared_column_lineage(declared, schemas)]
    assert "customer_country <- customers.country DIRECT TRANSFORMATION" in seen
    assert "full_name <- hris_employees.first_name DIRECT TRANSFORMATION" in seen


def test_declared_lineage_agrees_with_the_parsed_lineage(mesh: Mesh) -> None:
    """Where a sample contract declares its sources, the SQL reads at least those columns."""
    for product, _, port in _sql_ports(mesh):
        schemas = _schemas(mesh, product)
        declared = {
            c.name: c.transform_source_objects
            for c in port.contract.columns
            if c.transform_source_objects
        }
        parsed = sql_column_lineage(
            port.transform_file.read_text(encoding="utf-8"),
            schemas,
            [c.name for c in port.contract.columns],
        )
        parsed_pairs = {
            (e.output_column, e.input_port, e.input_column) for e in parsed if e.type == "DIRECT"
        }
        for edge in declared_column_lineage(declared, schemas):
            assert (edge.output_column, edge.input_port, edge.input_column) in parsed_pairs, edge


def test_case_files_are_what_the_test_reads() -> None:
    names = {path.name for path in CASES.iterdir()}
    assert names and all(re.fullmatch(r"[a-z0-9_]+\.yaml", name) for name in names), names
