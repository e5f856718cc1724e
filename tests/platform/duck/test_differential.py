"""Every SQL product of the sample mesh gives the same rows and types on DuckDB as on Spark.

Both engines read the same input tables at the same versions: each product is computed by both
(transform and conformance, before checks), compared, then published on Spark for the products
that read it. No SQL product of the sample mesh is refused any more: the three that divide or
average decimals (``DECIMAL_DIVISIONS``) now run on DuckDB with Spark's exact decimal results.
Order aside; decimals, dates, text and booleans exactly; doubles to 1e-12 relative (DuckDB and
Spark may sum in another order).
"""

from __future__ import annotations

import math
import shutil
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from meshlake.platform._duck import duckdb_refusal
from meshlake.platform.specs import load_mesh
from tests.helpers import REPO, EnginePlatform, engine_platform

pytestmark = pytest.mark.integration

MESH = load_mesh(REPO)
SQL_PRODUCTS = [
    str(product.ref)
    for product in MESH.ordered()
    if all(port.transform_file.suffix == ".sql" for port in product.ports.values())
]
DECIMAL_DIVISIONS = {
    "hr.engagement_retention",  # ... / 2.0, datediff(...) / 365.25 and avg of it: Spark decimals
    "sales.account_manager_performance",  # sum(revenue) / count(...)
    "sales.customer_churn_features",  # monetary_value / frequency
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> dict[str, Any]:
    """By product: port -> (Spark's rows, DuckDB's rows), or the error DuckDB raised."""
    from meshlake.platform._conform import conform
    from meshlake.platform._duck import DuckMaterializer
    from meshlake.platform._materialize import Materializer
    from meshlake.platform._transforms import TransformContext, frame_for_port, run_transform

    project = tmp_path_factory.mktemp("sample") / "project"
    for folder in ("domains", "infra"):
        shutil.copytree(REPO / folder, project / folder)
    platform: EnginePlatform = engine_platform(project)
    platform.ingest(scale=0.5)
    spark_engine = Materializer(platform.mesh, platform.spark(), platform.state_home)
    duck_engine = DuckMaterializer(platform.mesh, platform.state_home, data_docs=False)
    found: dict[str, Any] = {}
    for product in platform.plan():
        name = str(product.ref)
        if name in SQL_PRODUCTS:
            inputs = {b.name: spark_engine.read_input(b) for b in product.inputs}
            context = TransformContext(spark=platform.spark(), product=product, run_id="diff")
            by_port: dict[str, Any] = {}
            for port in product.ports.values():
                result = run_transform(port.transform_file, inputs, context)
                frame = frame_for_port(result, port.transform_file, name, port.ref.port)
                by_port[port.ref.port] = [conform(frame, port).toArrow()]
            refusal = duckdb_refusal(platform.mesh, product)
            if refusal is not None:
                found[name] = refusal
                platform.materialize_product(name)
                continue
            try:
                duck_rows = duck_engine.rows(product)
            except Exception as exc:
                found[name] = exc
            else:
                for port_name, rows in duck_rows.items():
                    by_port[port_name].append(rows)
                found[name] = by_port
        platform.materialize_product(name)
    return found


def _normal(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.9g}"  # the engines may differ in the last bits of a sum
    return value


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple((value is None, str(_normal(value))) for value in row.values())


def _same_value(spark_value: Any, duck_value: Any) -> bool:
    if isinstance(spark_value, float) and isinstance(duck_value, float):
        if math.isnan(spark_value) or math.isnan(duck_value):
            return math.isnan(spark_value) and math.isnan(duck_value)
        return math.isclose(spark_value, duck_value, rel_tol=1e-12, abs_tol=1e-12)
    if isinstance(spark_value, Decimal) or isinstance(duck_value, Decimal):
        return type(spark_value) is type(duck_value) and spark_value == duck_value
    return bool(spark_value == duck_value)


def _types(rows: pa.Table) -> list[tuple[str, str]]:
    from meshlake.platform._duck._types import from_arrow

    return [(field.name, from_arrow(field.type).simple) for field in rows.schema]


def test_the_sample_mesh_has_sql_products() -> None:
    assert len(SQL_PRODUCTS) >= 7, SQL_PRODUCTS


@pytest.mark.parametrize("product", SQL_PRODUCTS)
def test_duckdb_gives_spark_rows_and_types(product: str, outcomes: dict[str, Any]) -> None:
    outcome = outcomes[product]
    assert not isinstance(outcome, str | Exception), f"DuckDB refused or failed: {outcome}"
    for port, (spark_rows, duck_rows) in outcome.items():
        assert _types(duck_rows) == _types(spark_rows), port
        assert duck_rows.num_rows == spark_rows.num_rows > 0, port
        spark_list = sorted(spark_rows.to_pylist(), key=_key)
        duck_list = sorted(duck_rows.to_pylist(), key=_key)
        # Rows sorted by their text; pair them up and compare value by value.
        differences = [
            (column, spark_row[column], duck_row[column])
            for spark_row, duck_row in zip(spark_list, duck_list, strict=True)
            for column in spark_row
            if not _same_value(spark_row[column], duck_row[column])
        ]
        assert not differences, f"{port}: {len(differences)} differences, e.g. {differences[:5]}"


def test_the_decimal_products_are_compared() -> None:
    assert set(SQL_PRODUCTS) >= DECIMAL_DIVISIONS
