"""An input read as its sharing agreement delivers it gives the same rows on DuckDB as on Spark
(meshlake.platform._delivered): scoped rows, the agreed columns only, text masked as its SHA-256,
other masked types null."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from meshlake.platform import MeshlakeError, ReadTerms
from meshlake.platform._duck._read import delivered

pytestmark = pytest.mark.integration

ROWS = pa.table(
    {
        "employee_id": ["E1", "E2", "E3", "E4"],
        "email": ["a@x.org", "b@x.org", None, "d@x.org"],
        "salary": pa.array(
            [Decimal("10.50"), Decimal("20.00"), None, Decimal("5.25")], pa.decimal128(12, 2)
        ),
        "country": ["DE", "FR", "DE", "US"],
        "notes": ["n1", "n2", "n3", "n4"],
    }
)
COLUMNS = [
    ("employee_id", "VARCHAR"),
    ("email", "VARCHAR"),
    ("salary", "DECIMAL(12,2)"),
    ("country", "VARCHAR"),
    ("notes", "VARCHAR"),
]
TERMS = ReadTerms(
    agreement="hr-to-sales",
    port="hr.employees.employees",
    columns=("employee_id", "email", "salary", "country"),
    masked=("email", "salary"),
    rows={"country": ["DE", "FR"]},
)


def _duckdb(terms: ReadTerms) -> list[dict[str, Any]]:
    connection = duckdb.connect()
    connection.register("rows", ROWS)
    result = connection.sql(delivered("SELECT * FROM rows", COLUMNS, terms)).to_arrow_table()
    return sorted(result.to_pylist(), key=lambda row: row["employee_id"])


def test_duckdb_delivers_what_spark_delivers(spark: Any) -> None:
    from meshlake.platform._delivered import apply_terms

    frame = apply_terms(spark.createDataFrame(ROWS), TERMS)  # type: ignore[attr-defined]
    spark_rows = sorted(
        (row.asDict() for row in frame.collect()), key=lambda row: row["employee_id"]
    )

    duck_rows = _duckdb(TERMS)

    assert duck_rows == spark_rows
    assert [row["employee_id"] for row in duck_rows] == ["E1", "E2", "E3"]
    assert all(row["salary"] is None for row in duck_rows)
    assert len(duck_rows[0]["email"]) == 64 and duck_rows[0]["email"] != "a@x.org"


def test_a_scope_on_a_missing_column_is_refused_by_name() -> None:
    terms = ReadTerms(
        "hr-to-sales", "hr.employees.employees", ("employee_id",), rows={"region": ["EU"]}
    )
    with pytest.raises(
        MeshlakeError, match=r"scopes the rows of hr\.employees\.employees by region"
    ):
        _duckdb(terms)
