"""Real Spark + Delta: conformance converts losslessly or fails naming the column and a value;
structs conform by field name; required columns are NOT NULL in the frame and in the Delta log."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable
from pyspark.sql.types import StructField, StructType

from meshlake.platform import ConformanceError, PortRef, load_mesh
from meshlake.platform._conform import conform, port_failure
from meshlake.platform._schema import keep_nullability, schema_differences, with_nullability
from meshlake.platform._staged import stage
from meshlake.platform.specs import Contract, PortSpec

pytestmark = pytest.mark.integration

THINGS = PortRef("alpha", "things", "things")


@pytest.fixture(scope="module")
def base_port() -> PortSpec:
    from tests.helpers import MINI_MESH

    return load_mesh(MINI_MESH).port(THINGS)


def _port(base: PortSpec, *columns: dict[str, Any]) -> PortSpec:
    contract = Contract.model_validate(
        {
            "apiVersion": "v3.1.0",
            "kind": "DataContract",
            "id": "alpha.things.things",
            "version": "1.0.0",
            "status": "active",
            "schema": [{"name": "things", "properties": list(columns)}],
        }
    )
    return dataclasses.replace(base, contract=contract)


def _column(name: str, physical: str, required: bool = False) -> dict[str, Any]:
    return {"name": name, "physicalType": physical, "required": required}


def _conformed(spark, base, ddl: str, rows: list[tuple], *columns: dict[str, Any]) -> list[tuple]:
    port = _port(base, *columns)
    frame = conform(spark.createDataFrame(rows, ddl), port)
    try:
        return [tuple(row) for row in frame.collect()]
    except Exception as exc:
        raise port_failure(port, exc, "collecting") from exc


def _refused(spark, base, ddl: str, rows: list[tuple], *columns: dict[str, Any]) -> str:
    with pytest.raises(ConformanceError) as caught:
        _conformed(spark, base, ddl, rows, *columns)
    return str(caught.value)


# -- a conversion that loses information fails, naming the column and the value --------------


@pytest.mark.parametrize(
    ("ddl", "value", "physical", "shown", "becomes"),
    [
        ("x DOUBLE", 1.7, "INT", "1.7", "1"),
        ("x DECIMAL(10,2)", Decimal("41.50"), "BIGINT", "41.50", "41"),
        ("x DECIMAL(10,4)", Decimal("1.2345"), "DECIMAL(8,3)", "1.2345", "1.235"),
        ("x DOUBLE", 1.2345, "DECIMAL(8,3)", "1.2345", "1.235"),
        ("x STRING", "1.2345", "DECIMAL(8,3)", "1.2345", "1.235"),
        (
            "x TIMESTAMP",
            dt.datetime(2024, 1, 1, 10, 30),
            "DATE",
            "2024-01-01 10:30:00",
            "2024-01-01",
        ),
        ("x STRING", "2024-01-01 10:30:00", "DATE", "2024-01-01 10:30:00", "2024-01-01"),
        ("x INT", 2, "BOOLEAN", "2", "true"),
        ("x DOUBLE", 1e40, "FLOAT", "1.0E40", "Infinity"),
    ],
)
def test_a_lossy_conversion_fails_naming_column_value_and_result(
    spark, base_port, ddl, value, physical, shown, becomes
) -> None:
    message = _refused(spark, base_port, ddl, [(value,)], _column("x", physical))

    assert "alpha.things" in message and "column 'x'" in message
    assert f"value '{shown}' would lose information as {physical}" in message
    assert f"(it would become '{becomes}')" in message


@pytest.mark.parametrize(
    ("ddl", "value", "physical", "shown"),
    [
        ("x INT", 300, "TINYINT", "300"),
        ("x BIGINT", 3_000_000_000, "INT", "3000000000"),
        ("x DECIMAL(10,1)", Decimal("123456.7"), "DECIMAL(8,3)", "123456.7"),
        ("x STRING", "123456.7", "DECIMAL(8,3)", "123456.7"),
        ("x DOUBLE", float("nan"), "INT", "NaN"),
        ("x STRING", "heavy", "DECIMAL(8,3)", "heavy"),
        ("x STRING", "1.5", "INT", "1.5"),
    ],
)
def test_a_value_that_does_not_fit_or_parse_fails_naming_column_and_value(
    spark, base_port, ddl, value, physical, shown
) -> None:
    message = _refused(spark, base_port, ddl, [(value,)], _column("x", physical))

    assert f"column 'x': value '{shown}' cannot be cast to {physical}" in message


# -- lossless conversions pass, with the values unchanged ---------------------------------------


@pytest.mark.parametrize(
    ("ddl", "value", "physical", "expected"),
    [
        ("x INT", 7, "BIGINT", 7),
        ("x DOUBLE", 1.0, "INT", 1),
        ("x DECIMAL(10,2)", Decimal("41.00"), "BIGINT", 41),
        ("x DECIMAL(8,3)", Decimal("1.235"), "DECIMAL(10,3)", Decimal("1.235")),
        ("x DECIMAL(21,2)", Decimal("19.99"), "DECIMAL(12,2)", Decimal("19.99")),
        ("x DOUBLE", 0.1, "DECIMAL(8,3)", Decimal("0.100")),
        ("x DOUBLE", 19.99, "DECIMAL(12,2)", Decimal("19.99")),
        ("x STRING", "1.5", "DECIMAL(8,3)", Decimal("1.500")),
        ("x STRING", "1.50000", "DECIMAL(8,3)", Decimal("1.500")),
        ("x STRING", "12", "INT", 12),
        ("x STRING", "2024-01-01", "DATE", dt.date(2024, 1, 1)),
        ("x STRING", "2024-01-01T00:00:00", "DATE", dt.date(2024, 1, 1)),
        ("x DATE", dt.date(2024, 1, 1), "TIMESTAMP", dt.datetime(2024, 1, 1)),
        ("x TIMESTAMP", dt.datetime(2024, 1, 1), "DATE", dt.date(2024, 1, 1)),
        ("x BIGINT", 2**53 + 1, "DOUBLE", float(2**53 + 1)),
        ("x DECIMAL(38,18)", Decimal("0.1"), "DOUBLE", 0.1),
        ("x INT", 1, "BOOLEAN", True),
        ("x DOUBLE", 2.5, "STRING", "2.5"),
        ("x INT", None, "TINYINT", None),
    ],
)
def test_a_lossless_conversion_passes(spark, base_port, ddl, value, physical, expected) -> None:
    assert _conformed(spark, base_port, ddl, [(value,)], _column("x", physical)) == [(expected,)]


def test_only_columns_whose_types_differ_get_a_guard(spark, base_port) -> None:
    port = _port(base_port, _column("a", "BIGINT"), _column("b", "BIGINT"))
    frame = conform(spark.createDataFrame([(1, 2)], "a BIGINT, b INT"), port)

    plan = frame._jdf.queryExecution().analyzed().toString()

    assert "raise_error" not in plan  # int -> bigint cannot lose anything: a plain cast
    assert frame.collect() == [(1, 2)]


# -- structs conform by field name ---------------------------------------------------------------


def test_struct_fields_conform_by_name_not_position(spark, base_port) -> None:
    rows = [(("kg", 2, "x"),), (None,)]
    ddl = "s STRUCT<unit: STRING, amount: INT, note: STRING>"
    column = _column("s", "STRUCT<amount: BIGINT, note: STRING, unit: STRING>")

    port = _port(base_port, column)
    frame = conform(spark.createDataFrame(rows, ddl), port)

    assert frame.schema["s"].dataType.simpleString() == (
        "struct<amount:bigint,note:string,unit:string>"
    )
    assert [row["s"] for row in frame.collect()] == [(2, "x", "kg"), None]


def test_a_lossy_struct_field_fails_naming_its_path(spark, base_port) -> None:
    message = _refused(
        spark,
        base_port,
        "s STRUCT<unit: STRING, amount: DOUBLE>",
        [(("kg", 2.5),)],
        _column("s", "STRUCT<amount: INT, unit: STRING>"),
    )

    assert "column 's.amount': value '2.5' would lose information as INT" in message


def test_missing_and_extra_struct_fields_are_named_before_anything_runs(spark, base_port) -> None:
    port = _port(base_port, _column("s", "STRUCT<amount: INT, unit: STRING>"))
    frame = spark.createDataFrame([((1, "x"),)], "s STRUCT<amount: INT, colour: STRING>")

    with pytest.raises(ConformanceError) as caught:
        conform(frame, port)

    assert caught.value.problems == [
        "field 's.unit' is missing from the transform's result (it has amount, colour)",
        "field 's.colour' is not in the contract; drop it or add it to contract.yaml",
    ]


def test_arrays_and_maps_of_structs_conform_by_name(spark, base_port) -> None:
    rows = [([("kg", 2)], {"a": ("g", 3)})]
    ddl = (
        "items ARRAY<STRUCT<unit: STRING, amount: INT>>, "
        "named MAP<STRING, STRUCT<unit: STRING, amount: INT>>"
    )
    port = _port(
        base_port,
        _column("items", "ARRAY<STRUCT<amount: BIGINT, unit: STRING>>"),
        _column("named", "MAP<STRING, STRUCT<amount: BIGINT, unit: STRING>>"),
    )

    row = conform(spark.createDataFrame(rows, ddl), port).collect()[0]

    assert [tuple(item) for item in row["items"]] == [(2, "kg")]
    assert {key: tuple(value) for key, value in row["named"].items()} == {"a": (3, "g")}
    failing = spark.createDataFrame(rows, ddl).selectExpr(
        "transform(items, i -> named_struct('unit', i.unit, 'amount', i.amount + 0.5)) AS items",
        "named",
    )
    with pytest.raises(Exception) as caught:
        conform(failing, port).collect()
    assert "column 'items[].amount': value '2.5' would lose information as BIGINT" in str(
        port_failure(port, caught.value, "collecting")
    )


def test_spark_refusing_a_cast_is_named_before_anything_runs(spark, base_port) -> None:
    port = _port(base_port, _column("x", "BOOLEAN"))

    with pytest.raises(ConformanceError) as caught:
        conform(spark.createDataFrame([(dt.date(2024, 1, 1),)], "x DATE"), port)

    assert caught.value.problems == ["column 'x' is date and cannot be cast to BOOLEAN"]


# -- required columns are NOT NULL ----------------------------------------------------------------


REQUIRED = (
    _column("id", "STRING", required=True),
    _column("amount", "DECIMAL(8,3)", required=True),
    _column("seen", "DATE", required=True),
    _column("s", "STRUCT<a: INT, b: STRING>", required=True),
    _column("tags", "ARRAY<STRING>", required=True),
    _column("note", "STRING"),
    _column("things", "BIGINT"),
)
REQUIRED_DDL = (
    "id STRING, amount STRING, seen DATE, s STRUCT<b: STRING, a: INT>, tags ARRAY<STRING>, "
    "note STRING"
)


def _required_frame(spark, base_port, rows: list[tuple]):
    port = _port(base_port, *REQUIRED)
    # `things` never null here (a count), yet the contract lets it be null.
    source = spark.createDataFrame(rows, REQUIRED_DDL).selectExpr("*", "count(1) OVER () AS things")
    return port, conform(source, port)


def test_required_columns_are_not_null_in_the_conformed_schema(spark, base_port) -> None:
    port, frame = _required_frame(
        spark, base_port, [("T1", "1.5", dt.date(2024, 1, 1), ("x", 1), ["a"], None)]
    )

    assert {field.name: field.nullable for field in frame.schema.fields} == {
        "id": False,
        "amount": False,
        "seen": False,
        "s": False,
        "tags": False,
        "note": True,
        "things": True,
    }
    assert schema_differences(frame.schema, port.contract) == []
    assert frame.collect()[0]["amount"] == Decimal("1.500")


def test_a_null_in_a_required_column_fails_naming_it(spark, base_port) -> None:
    port, frame = _required_frame(
        spark, base_port, [("T1", "1.5", dt.date(2024, 1, 1), None, ["a"], None)]
    )

    with pytest.raises(Exception) as caught:
        frame.collect()

    assert "column 's': is required but a row has no value" in str(
        port_failure(port, caught.value, "collecting")
    )


def test_schema_differences_compare_nullability(spark, base_port) -> None:
    port = _port(base_port, _column("id", "STRING", required=True), _column("note", "STRING"))
    swapped = spark.createDataFrame([], "id STRING, note STRING NOT NULL").schema

    assert schema_differences(swapped, port.contract) == [
        "column 'id' allows nulls, the contract requires a value (required: true)",
        "column 'note' is NOT NULL, the contract allows nulls (required: false)",
    ]


def _nullable(schema: StructType) -> StructType:
    return StructType([StructField(f.name, f.dataType, True) for f in schema.fields])


def _written(spark, frame, location: str, mode: str) -> int:
    staged = stage(spark, frame, location, mode)
    assert staged is not None
    keep_nullability(spark, staged._transaction, frame.schema, mode == "overwrite")
    return staged.commit().version


def test_required_columns_are_not_null_in_the_delta_log(spark, base_port, tmp_path: Path) -> None:
    port, frame = _required_frame(
        spark, base_port, [("T1", "1.5", dt.date(2024, 1, 1), ("x", 1), ["a"], None)]
    )
    location = str(tmp_path / "table")
    expected = {"id": False, "amount": False, "seen": False, "s": False, "tags": False}
    expected |= {"note": True, "things": True}

    def stored() -> dict[str, bool]:
        return {field.name: field.nullable for field in DeltaTable(location).schema().fields}

    # A table written before required meant NOT NULL: every column nullable.
    spark.createDataFrame(frame.collect(), _nullable(frame.schema)).write.format("delta").save(
        location
    )
    assert set(stored().values()) == {True}

    assert _written(spark, frame, location, "overwrite") == 1  # an overwrite of that table
    assert stored() == expected
    assert _written(spark, frame, location, "append") == 2
    assert stored() == expected
    assert schema_differences(spark.read.format("delta").load(location).schema, port.contract) == []

    fresh = str(tmp_path / "fresh")
    assert _written(spark, frame, fresh, "overwrite") == 0  # a new table
    assert {f.name: f.nullable for f in DeltaTable(fresh).schema().fields} == expected

    # Delta itself now refuses a null in a required column, whoever writes.
    nulls = spark.createDataFrame(
        [(None, None, None, None, None, None, None)], _nullable(frame.schema)
    )
    with pytest.raises(Exception, match="NOT NULL constraint violated"):
        nulls.write.format("delta").mode("append").save(fresh)


def test_an_append_never_declares_not_null_over_rows_it_did_not_check(
    spark, base_port, tmp_path: Path
) -> None:
    _, frame = _required_frame(
        spark, base_port, [("T1", "1.5", dt.date(2024, 1, 1), ("x", 1), ["a"], None)]
    )
    location = str(tmp_path / "table")
    spark.createDataFrame(frame.collect(), _nullable(frame.schema)).write.format("delta").save(
        location
    )

    _written(spark, frame, location, "append")

    assert {field.nullable for field in DeltaTable(location).schema().fields} == {True}


def test_with_nullability_follows_the_source_by_name_at_every_level() -> None:
    stored = {
        "type": "struct",
        "fields": [
            {"name": "a", "type": "integer", "nullable": True, "metadata": {"m": 1}},
            {
                "name": "s",
                "type": {
                    "type": "struct",
                    "fields": [{"name": "x", "type": "string", "nullable": True, "metadata": {}}],
                },
                "nullable": True,
                "metadata": {},
            },
            {
                "name": "l",
                "type": {"type": "array", "elementType": "long", "containsNull": True},
                "nullable": True,
                "metadata": {},
            },
        ],
    }
    source = {
        "type": "struct",
        "fields": [
            {
                "name": "L",
                "type": {"type": "array", "elementType": "long", "containsNull": False},
                "nullable": False,
                "metadata": {},
            },
            {
                "name": "s",
                "type": {
                    "type": "struct",
                    "fields": [{"name": "x", "type": "string", "nullable": False, "metadata": {}}],
                },
                "nullable": True,
                "metadata": {},
            },
            {"name": "a", "type": "integer", "nullable": False, "metadata": {}},
        ],
    }

    result = with_nullability(stored, source)

    assert [(f["name"], f["nullable"]) for f in result["fields"]] == [
        ("a", False),
        ("s", True),
        ("l", False),
    ]
    assert result["fields"][0]["metadata"] == {"m": 1}
    assert result["fields"][1]["type"]["fields"][0]["nullable"] is False
    assert result["fields"][2]["type"]["containsNull"] is False


@pytest.mark.parametrize(
    "physical",
    [
        "TINYINT",
        "SMALLINT",
        "INT",
        "BIGINT",
        "FLOAT",
        "DOUBLE",
        "DECIMAL(8,3)",
        "DECIMAL(3,3)",
        "DECIMAL(38,0)",
        "STRING",
        "BOOLEAN",
        "DATE",
        "TIMESTAMP",
        "TIMESTAMP_NTZ",
        "ARRAY<INT>",
        "MAP<STRING, INT>",
        "STRUCT<a: INT, b: STRUCT<c: DATE>>",
    ],
)
def test_a_required_column_of_any_type_is_not_null_and_keeps_its_type(
    spark, base_port, physical
) -> None:
    port = _port(base_port, _column("x", physical, required=True))
    source = spark.createDataFrame([], f"x {physical}")

    field = conform(source, port).schema["x"]

    assert (field.dataType, field.nullable) == (source.schema["x"].dataType, False)
