"""A product's inputs as DuckDB views: Delta tables read with delta-rs at the version asked for,
raw drops read by DuckDB, each as its sharing agreement delivers it.

Timestamps arrive as Delta's instants in UTC and are handed to DuckDB as plain timestamps in UTC
(see ``_types``), so that no time-zone arithmetic is needed on the DuckDB side.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError
from sqlglot import exp

from meshlake.platform._duck._types import UnsupportedType, flat_type
from meshlake.platform._errors import MeshlakeError
from meshlake.platform._sharing import ReadTerms
from meshlake.platform._storage import drop_files, is_object_store, local_copy, storage_options
from meshlake.platform.specs import RawSourceSpec
from meshlake.platform.specs._types import ddl_columns

RAW_FORMATS = ("csv", "jsonl")
"""Raw drop formats DuckDB reads as Spark does (header row, declared schema, no inference)."""


def read_delta(location: str, version: int | None, what: str) -> pa.Table:
    """The table at ``location`` as of ``version`` (the latest when None), timestamps made plain."""
    try:
        table = DeltaTable(location, version=version, storage_options=storage_options(location))
        rows = table.to_pyarrow_table()
    except (DeltaError, OSError) as exc:
        at = f" at version {version}" if version is not None else ""
        raise MeshlakeError(
            f"{what}{at}, which has no Delta table at {location} (materialize it first): {exc}"
        ) from exc
    return plain_timestamps(rows)


def plain_timestamps(rows: pa.Table) -> pa.Table:
    """``rows`` with every zoned timestamp column as a plain one holding its UTC value."""
    fields = [
        field.with_type(pa.timestamp(field.type.unit))
        if pa.types.is_timestamp(field.type) and field.type.tz is not None
        else field
        for field in rows.schema
    ]
    schema = pa.schema(fields)
    return rows if schema.equals(rows.schema) else rows.cast(schema)


def raw_files(location: str) -> list[str]:
    """The drop's files as local paths DuckDB opens (copies, for a drop on an object store)."""
    if is_object_store(location):
        return local_copy(location)
    return sorted(str(path) for path in Path(location).glob("part-*"))


def raw_bytes(location: str) -> int:
    """The size of the drop's files, without copying them."""
    return sum(info.size or 0 for info in drop_files(location))


def raw_columns(source: RawSourceSpec) -> dict[str, str]:
    """The drop's declared columns as DuckDB types; UnsupportedType for a type it does not map."""
    return {name: flat_type(kind).duckdb for name, kind in ddl_columns(source.source.schema_ddl)}


def raw_refusal(source: RawSourceSpec) -> str | None:
    """Why DuckDB does not read this raw source as Spark would (None: it does)."""
    if source.source.format not in RAW_FORMATS:
        return (
            f"raw source {source.source.id} is {source.source.format}, which DuckDB does not read"
        )
    try:
        raw_columns(source)
    except UnsupportedType as exc:
        return f"raw source {source.source.id}: {exc}"
    return None


def read_raw(connection: duckdb.DuckDBPyConnection, source: RawSourceSpec, location: str) -> str:
    """SQL reading the drop at ``location`` with its declared schema (never inferred).

    As Spark's reader: a CSV has a header row and empty fields are null; JSON lines are matched
    to the columns by name. A value that does not fit its type fails the read (Spark's FAILFAST).
    """
    files = raw_files(location)
    if not files:
        raise MeshlakeError(f"raw source {source.source.id} has no drop at {location}")
    columns = _struct_literal(raw_columns(source))
    listed = "[" + ", ".join(_literal(file) for file in files) + "]"
    if source.source.format == "csv":
        return (
            f"SELECT * FROM read_csv({listed}, header = true, auto_detect = false, "
            f"columns = {columns}, quote = '\"', escape = '\"', nullstr = '')"
        )
    return f"SELECT * FROM read_json({listed}, format = 'newline_delimited', columns = {columns})"


def delivered(sql: str, columns: list[tuple[str, str]], terms: ReadTerms | None) -> str:
    """``sql`` as the agreement ``terms`` deliver it: scoped rows, its columns, masks applied
    (a masked text column holds the SHA-256 hex of its value, another type is null), as
    ``meshlake.platform._delivered`` does on Spark."""
    if terms is None:
        return sql
    names = [name for name, _ in columns]
    missing = sorted(set(terms.rows) - set(names))
    if missing:
        raise MeshlakeError(
            f"agreement {terms.agreement} scopes the rows of {terms.port} by "
            f"{', '.join(missing)}, which the table does not have"
        )
    types = dict(columns)
    selected = []
    for name in names:
        if name not in set(terms.columns):
            continue
        if name in terms.masked:
            value = (
                f"sha256({_name(name)})"
                if types[name] == "VARCHAR"
                else f"CAST(NULL AS {types[name]})"
            )
            selected.append(f"{value} AS {_name(name)}")
        else:
            selected.append(_name(name))
    where = " AND ".join(
        f"{_name(column)} IN ({', '.join(_literal(value) for value in values)})"
        if values
        else "false"
        for column, values in terms.rows.items()
    )
    query = f"SELECT {', '.join(selected) or 'NULL AS _none'} FROM ({sql}) AS delivered"
    return f"{query} WHERE {where}" if where else query


def _name(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("duckdb")


def _literal(value: object) -> str:
    return exp.convert(value).sql("duckdb")


def _struct_literal(columns: dict[str, str]) -> str:
    return (
        "{"
        + ", ".join(f"{_literal(name)}: {_literal(kind)}" for name, kind in columns.items())
        + "}"
    )
