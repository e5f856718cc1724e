"""Conform a DuckDB result to its port's contract by the rules of ``meshlake.platform._conform``.

The same names check (a missing, extra or doubled column), the same lossless conversions (a type
that cannot lose anything converts as it is; any other value converts and must convert back equal;
text checks as a decimal against every digit it has, as a date against the same text read as a
timestamp; a floating-point target fails only on an overflow) and the same wording of each
problem. Spark raises on the first bad row inside its one write; here one counting query finds a
bad value of every guarded column before anything is written, and ``ConformanceError`` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa
from sqlglot import exp

from meshlake.platform._duck._types import DIGITS, FlatType, UnsupportedType, flat_type, from_arrow
from meshlake.platform._errors import ConformanceError
from meshlake.platform.specs import PortSpec, SchemaProperty, spark_type

HINT = "convert it in the transform (round, floor, to_date, ...) if that is intended"
RESULT = "__meshlake_result"
"""The transform's rows as conformance reads them (no input port has a name of this shape)."""
_NUMBERS = ("tinyint", "smallint", "int", "bigint", "float", "double", "boolean")


@dataclass(frozen=True)
class _Column:
    prop: SchemaProperty
    source_name: str
    source: FlatType
    target: FlatType

    @property
    def label(self) -> str:
        return spark_type(self.prop.logical_type, self.prop.physical_type)


def contract_types(port: PortSpec) -> dict[str, FlatType]:
    """The port's columns as flat types; UnsupportedType for a type the engine does not map."""
    return {
        prop.name: flat_type(spark_type(prop.logical_type, prop.physical_type))
        for prop in port.contract.columns
    }


def contract_schema(port: PortSpec) -> pa.Schema:
    """The Arrow schema the port's files are written with: required columns are NOT NULL."""
    types = contract_types(port)
    return pa.schema(
        [
            pa.field(prop.name, types[prop.name].arrow, nullable=not prop.required)
            for prop in port.contract.columns
        ]
    )


def conform(
    relation: duckdb.DuckDBPyRelation, port: PortSpec, connection: duckdb.DuckDBPyConnection
) -> pa.Table:
    """The rows of ``relation`` with exactly the contract's columns, in order, in its types;
    ConformanceError (nothing computed further) when they do not fit. ``connection`` (the
    relation's) runs the checks and casts: a new one costs a database each time."""
    product, contract = str(port.ref.product_ref), port.contract
    names = list(relation.columns)
    actual = {name.lower(): name for name in names}
    expected = {prop.name.lower() for prop in contract.columns}
    problems = [
        f"column {prop.name!r} is missing from the transform's result "
        f"(it returns {', '.join(names)})"
        for prop in contract.columns
        if prop.name.lower() not in actual
    ]
    problems += [
        f"column {name!r} is not in the contract; drop it or add it to {port.contract_file.name}"
        for name in names
        if name.lower() not in expected
    ]
    if len(actual) != len(names):
        problems.append(f"the result has duplicate column names: {', '.join(names)}")
    if problems:
        raise ConformanceError(product, port.ref.port, problems)
    rows = relation.to_arrow_table()
    targets = contract_types(port)
    columns = []
    for prop in contract.columns:
        name = actual[prop.name.lower()]
        try:
            source = from_arrow(rows.schema.field(name).type)
        except UnsupportedType as exc:
            problems.append(f"column {prop.name!r}: {exc}")
            continue
        columns.append(_Column(prop, name, source, targets[prop.name]))
    if problems:
        raise ConformanceError(product, port.ref.port, problems)
    try:
        connection.register(RESULT, rows)
        problems = _problems(connection, columns, f"{product}: output port {port.ref.port!r}")
        if problems:
            raise ConformanceError(product, port.ref.port, problems)
        changed = [
            column
            for column in columns
            if rows.schema.field(column.source_name).type != column.target.arrow
        ]
        converted = _converted(connection, changed)
    finally:
        connection.unregister(RESULT)
    arrays = [
        converted[column.prop.name]
        if column.prop.name in converted
        else rows.column(column.source_name)
        for column in columns
    ]
    schema = contract_schema(port)
    return pa.Table.from_arrays(arrays, names=schema.names).cast(schema)


def _converted(
    connection: duckdb.DuckDBPyConnection, columns: list[_Column]
) -> dict[str, pa.ChunkedArray]:
    """The columns whose type changes, cast by DuckDB (the others are taken as they are: no
    second pass over the whole result)."""
    if not columns:
        return {}
    select = ", ".join(
        f"CAST({_quoted(column.source_name)} AS {column.target.duckdb}) "
        f"AS {_quoted(column.prop.name)}"
        for column in columns
    )
    table = connection.sql(f"SELECT {select} FROM {RESULT}").to_arrow_table()
    return {name: table.column(name) for name in table.column_names}


def _problems(
    connection: duckdb.DuckDBPyConnection, columns: list[_Column], where: str
) -> list[str]:
    """One pass: for every guarded column, a value that does not convert, one that would change,
    and whether a required column has a null."""
    aggregates: list[str] = []
    reads: list[tuple[_Column, str, int]] = []
    for column in columns:
        value = _quoted(column.source_name)
        if column.prop.required:
            aggregates.append(f"count(*) FILTER (WHERE {value} IS NULL)")
            reads.append((column, "null", len(aggregates) - 1))
        if column.source.simple == column.target.simple or _widens(column.source, column.target):
            continue
        converted = f"TRY_CAST({value} AS {column.target.duckdb})"
        shown = f"CAST({value} AS VARCHAR)"
        aggregates.append(
            f"any_value({shown}) FILTER (WHERE {value} IS NOT NULL AND {converted} IS NULL)"
        )
        reads.append((column, "cast", len(aggregates) - 1))
        lost = _lost(value, converted, column.source, column.target)
        if lost is not None:
            aggregates.append(
                f"any_value([{shown}, CAST({converted} AS VARCHAR)]) FILTER (WHERE {lost})"
            )
            reads.append((column, "lost", len(aggregates) - 1))
    if not aggregates:
        return []
    # fetchall: DuckDB 2.0 keeps a connection busy until its result is read to the end.
    (found,) = connection.execute(f"SELECT {', '.join(aggregates)} FROM {RESULT}").fetchall()
    problems = []
    for column, kind, index in reads:
        seen = found[index]
        at = f"{where}, column {column.prop.name!r}"
        if kind == "null" and seen:
            problems.append(f"{at}: is required but a row has no value")
        elif kind == "cast" and seen is not None:
            problems.append(f"{at}: value '{seen}' cannot be cast to {column.label}")
        elif kind == "lost" and seen is not None:
            problems.append(
                f"{at}: value '{seen[0]}' would lose information as {column.label} "
                f"(it would become '{seen[1]}'); {HINT}"
            )
    return problems


def _lost(value: str, converted: str, source: FlatType, target: FlatType) -> str | None:
    """When a converted value differs from the original (None: it cannot be told), as Spark's."""
    present = f"{converted} IS NOT NULL"
    if source.is_text:
        if target.is_decimal:
            arrow = target.arrow
            assert isinstance(arrow, pa.Decimal128Type)
            point = f"strpos({value}, '.')"
            suspect = f"{point} > 0 AND length({value}) - {point} > {arrow.scale}"
            exact = f"TRY_CAST({value} AS DECIMAL(38, {38 - (arrow.precision - arrow.scale)}))"
            return f"{present} AND {suspect} AND {converted} <> {exact}"
        if target.simple == "date":
            suspect = f"length(trim({value})) > 10"
            as_time = f"TRY_CAST({value} AS TIMESTAMP)"
            return (
                f"{present} AND {suspect} AND "
                f"{as_time} IS DISTINCT FROM CAST({converted} AS TIMESTAMP)"
            )
        return None
    if target.is_floating:
        return f"{present} AND isinf({converted}) AND NOT isinf(CAST({value} AS DOUBLE))"
    back = f"TRY_CAST({converted} AS {source.duckdb})"
    return f"{present} AND {back} IS DISTINCT FROM {value}"


def _widens(source: FlatType, target: FlatType) -> bool:
    """Whether every ``source`` value converts to ``target`` unchanged, by the types alone."""
    if source.simple == "void":
        return True
    if target.is_text:
        return source.simple != "binary"
    if target.simple == "double":
        return source.simple in _NUMBERS or source.is_decimal
    if target.simple == "float":
        return (source.simple in _NUMBERS or source.is_decimal) and source.simple != "double"
    digits = DIGITS.get(source.simple)
    if digits is not None and target.simple in DIGITS:
        return digits <= DIGITS[target.simple]
    if target.is_decimal:
        arrow = target.arrow
        assert isinstance(arrow, pa.Decimal128Type)
        if digits is not None:
            return digits <= arrow.precision - arrow.scale
        if source.is_decimal:
            have = source.arrow
            assert isinstance(have, pa.Decimal128Type)
            return (
                arrow.scale >= have.scale
                and arrow.precision - arrow.scale >= have.precision - have.scale
            )
    if source.simple == "date":
        return target.simple == "timestamp"
    return False


def _quoted(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("duckdb")
