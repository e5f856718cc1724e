"""The lineage test cases' SQL on both engines: the same rows and types, or a refusal with its reason.

``tests/platform/lineage/cases`` hold transforms written to exercise the SQL a product may use
(CTE chains, joins, windows, CASE, set operations, lateral views). Each case names its inputs'
columns; the types below give them Spark types, and a few seeded rows each (nulls and repeated
keys included). Spark runs the SQL over the rows as temporary views; DuckDB runs what the engine
transpiles it to over the same Arrow tables. A case DuckDB cannot carry over faithfully must be
refused with the reason (``auto`` then picks Spark), never answered differently; SQL Spark
refuses (QUALIFY) DuckDB refuses too. The sample
products' own cases (``real_*``) are ``test_differential.py``'s, on their published inputs.
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
import yaml
from pyspark.errors import AnalysisException, ParseException

from meshlake.platform._duck._transpile import Untranspilable, transpile

pytestmark = pytest.mark.integration

CASES = Path(__file__).parents[1] / "lineage" / "cases"
ROWS = 24

# The Spark type of every input column the cases name (their names say what they hold).
TYPES = {
    "account_id": "string",
    "actor_id": "bigint",
    "amount": "decimal(12,2)",
    "booked_at": "timestamp",
    "channel": "string",
    "Country": "string",
    "country": "string",
    "credit": "decimal(12,2)",
    "credit_id": "string",
    "customer_id": "string",
    "device_id": "string",
    "discount": "decimal(12,2)",
    "email": "string",
    "event_id": "bigint",
    "gross": "decimal(12,2)",
    "id": "string",
    "is_active": "boolean",
    "is_refund": "boolean",
    "items": "array<string>",
    "kind": "string",
    "name": "string",
    "net": "decimal(12,2)",
    "note": "string",
    "open": "boolean",
    "order_id": "string",
    "paid_at": "timestamp",
    "price": "decimal(10,2)",
    "qty": "int",
    "read_at": "timestamp",
    "reading": "double",
    "region_name": "string",
    "salary": "decimal(12,2)",
    "score": "double",
    "secret": "int",
    "segment": "string",
    "status": "string",
    "tags": "array<string>",
    "ts": "timestamp",
    "updated_at": "timestamp",
    "user_id": "bigint",
    "user_name": "string",
    "valid_to": "date",
}


def arrow_type(kind: str) -> pa.DataType:
    if kind.startswith("decimal("):
        precision, scale = kind[len("decimal(") : -1].split(",")
        return pa.decimal128(int(precision), int(scale))
    return {
        "string": pa.string(),
        "int": pa.int32(),
        "bigint": pa.int64(),
        "double": pa.float64(),
        "boolean": pa.bool_(),
        "timestamp": pa.timestamp("us"),
        "date": pa.date32(),
        "array<string>": pa.list_(pa.string()),
    }[kind]


def _cases() -> list[str]:
    return sorted(
        file.stem for file in CASES.glob("*.yaml") if not file.stem.startswith(("error_", "real_"))
    )


def _value(kind: str, column: str, rng: random.Random) -> Any:
    """A value of ``kind``: few distinct ones, so joins match, keys repeat and groups form."""
    if rng.random() < 0.1 and column not in ("id", "order_id", "customer_id"):
        return None
    pick = rng.randrange(5)
    if kind == "string":
        return f"{column[:3]}{pick}"
    if kind in ("int", "bigint"):
        return pick - 1
    if kind == "double":
        return round(rng.uniform(-50, 50), 3)
    if kind == "boolean":
        return pick % 2 == 0
    if kind.startswith("decimal"):
        return Decimal(rng.randrange(-5000, 50000)) / 100
    if kind == "timestamp":
        return datetime(2026, 1, 1) + timedelta(hours=rng.randrange(24 * 30))
    if kind == "date":
        return date(2026, 1, 1) + timedelta(days=pick * 30)
    if kind == "array<string>":
        return [f"{column[:3]}{rng.randrange(4)}" for _ in range(rng.randrange(3))]
    raise AssertionError(f"no sample value for {kind}")


def _inputs(inputs: dict[str, list[str]], seed: str) -> dict[str, pa.Table]:
    rng = random.Random(seed)
    tables = {}
    for table, columns in inputs.items():
        schema = pa.schema([pa.field(column, arrow_type(TYPES[column])) for column in columns])
        rows = [
            {column: _value(TYPES[column], column, rng) for column in columns} for _ in range(ROWS)
        ]
        tables[table] = pa.Table.from_pylist(rows, schema=schema)
    return tables


def _normalized(rows: pa.Table) -> list[tuple[Any, ...]]:
    def value(item: Any) -> Any:
        if isinstance(item, float):
            return None if math.isnan(item) else round(item, 9)
        if isinstance(item, bool):
            return item
        if isinstance(item, Decimal | int):
            # The engines may type an aggregate apart (count_if: bigint on Spark, a decimal on
            # DuckDB); the port's conformance casts both to the contract. Values must agree.
            return Decimal(item).normalize()
        if isinstance(item, datetime):
            return item.replace(tzinfo=None)
        if isinstance(item, list):
            return tuple(item)
        return item

    return sorted(
        (tuple(value(item) for item in row.values()) for row in rows.to_pylist()), key=repr
    )


@pytest.mark.parametrize("case", _cases())
def test_a_lineage_case_gives_spark_rows_on_duckdb_or_is_refused(case: str, spark: Any) -> None:
    spec = yaml.safe_load((CASES / f"{case}.yaml").read_text(encoding="utf-8"))
    tables = _inputs(spec["inputs"], case)
    schema = {
        table: {column: TYPES[column] for column in columns}
        for table, columns in spec["inputs"].items()
    }
    for table, rows in tables.items():
        frame = spark.createDataFrame(rows.to_pylist(), schema=_ddl(schema[table]))
        frame.createOrReplaceTempView(table)
    try:
        expected = spark.sql(spec["sql"]).toArrow()
    except (ParseException, AnalysisException) as spark_refused:
        # Not Spark SQL (QUALIFY, say): no product runs it on Spark, so DuckDB must refuse it
        # too rather than publish what Spark would fail on.
        with pytest.raises(Untranspilable):
            transpile(spec["sql"], list(tables), schema)
        assert spark_refused
        return

    try:
        translated = transpile(spec["sql"], list(tables), schema)
    except Untranspilable as refused:
        assert refused.reason, case
        return
    with duckdb.connect() as connection:
        for table, rows in tables.items():
            connection.register(table, rows)
        got = connection.sql(translated).to_arrow_table()

    assert [name.lower() for name in got.column_names] == [
        name.lower() for name in expected.column_names
    ], translated
    assert _normalized(got) == _normalized(expected), translated


def _ddl(columns: dict[str, str]) -> str:
    return ", ".join(f"`{name}` {kind}" for name, kind in columns.items())
