"""Real Spark: an input read as its sharing agreement delivers it (columns, masks, row scope)."""

from __future__ import annotations

import hashlib

import pytest

from meshlake.platform import MeshlakeError, ReadTerms
from meshlake.platform._delivered import apply_terms

pytestmark = pytest.mark.integration

ROWS = [
    ("E1", "Ada Lovelace", "US", 1815, "Research"),
    ("E2", "Alan Turing", "GB", 1912, "Research"),
    ("E3", "Grace Hopper", "CA", 1906, "Navy"),
]
SCHEMA = "employee_id STRING, full_name STRING, country STRING, born INT, department STRING"


def test_only_agreed_columns_scoped_rows_and_masked_values_arrive(spark) -> None:
    frame = spark.createDataFrame(ROWS, SCHEMA)
    terms = ReadTerms(
        agreement="sales-reads-employees",
        port="hr.employees.employees",
        columns=("employee_id", "full_name", "born", "country"),
        masked=("full_name", "born"),
        rows={"country": ["US", "CA"]},
    )

    delivered = apply_terms(frame, terms)
    rows = sorted(tuple(row) for row in delivered.collect())

    # Contract order is kept; department was not agreed; born is masked (not a string: null).
    assert delivered.columns == ["employee_id", "full_name", "country", "born"]
    assert rows == [
        ("E1", hashlib.sha256(b"Ada Lovelace").hexdigest(), "US", None),
        ("E3", hashlib.sha256(b"Grace Hopper").hexdigest(), "CA", None),
    ]
    assert dict(delivered.dtypes)["born"] == "int"


def test_a_row_scope_on_a_column_the_table_lacks_is_a_clear_error(spark) -> None:
    frame = spark.createDataFrame(ROWS, SCHEMA)
    terms = ReadTerms("a-b-c", "hr.employees.employees", ("employee_id",), rows={"region": ["EU"]})

    with pytest.raises(MeshlakeError, match=r"agreement a-b-c scopes the rows of hr\.employees"):
        apply_terms(frame, terms)
