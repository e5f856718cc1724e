"""Run a checked query on a fresh, locked DuckDB connection holding only filtered Arrow tables.

The connection never sees unfiltered data: columns, row filters and masks are applied in Arrow
before registering. External access, extension autoloading and configuration changes are switched
off before the query runs; a timer interrupts it at the time limit.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from meshlake.governance.services._sql._errors import LimitExceeded, StatementRefused
from meshlake.governance.services._sql._model import CheckedQuery, QueryLimits, TableGrant


def filtered(table: pa.Table, grant: TableGrant) -> pa.Table:
    """The part of ``table`` the grant lets through: its columns, filtered rows, masked values.

    One masking rule across meshlake (the platform's Spark reads follow it too): a masked string
    holds the SHA-256 hex digest of its UTF-8 value, so it still joins and counts; a masked column
    of another type is null, since a digest would not fit its type. Nulls stay null, and the schema
    stays the table's, so a masked copy reads like the original.
    """
    missing = [c for c in grant.read_columns if c not in table.column_names]
    if missing:
        raise StatementRefused(
            f"relation {grant.relation}: granted columns {missing} are not in the data; "
            "fix the grant or the table"
        )
    result = table
    for column, allowed in grant.row_filter.items():
        values = pa.array(list(allowed), type=result.schema.field(column).type)
        result = result.filter(pc.fill_null(pc.is_in(result[column], value_set=values), False))
    result = result.select(list(grant.columns))
    for column in sorted(grant.masked):
        index = result.schema.get_field_index(column)
        field = result.schema.field(index)
        result = result.set_column(index, field, _masked(result[column], field.type))
    return result


def _masked(values: pa.ChunkedArray, kind: pa.DataType) -> pa.ChunkedArray | pa.Array:
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return pa.nulls(len(values), type=kind)
    # DuckDB hashes vectorised, in C++, on a connection that can reach nothing but this column.
    with duckdb.connect(":memory:", config={"enable_external_access": False}) as hasher:
        digests = (
            hasher.from_arrow(pa.table({"v": values})).select("sha256(v) AS v").to_arrow_table()
        )
    return digests["v"].cast(kind)


def run(
    checked: CheckedQuery, data: Mapping[str, pa.Table], limits: QueryLimits | None = None
) -> pa.Table:
    """Run ``checked`` over ``data`` (raw Arrow tables keyed by relation) and return at most
    ``row_limit`` rows; raise ``LimitExceeded`` when the time or memory limit stops it."""
    limits = limits or QueryLimits(row_limit=checked.row_limit)
    absent = sorted(set(checked.grants) - set(data))
    if absent:
        raise StatementRefused(f"no data given for relations {absent}")
    connection = _locked_connection(checked, data, limits)
    timer = threading.Timer(limits.timeout_seconds, connection.interrupt)
    timer.start()
    try:
        relation = connection.sql(checked.sql)
        if relation is None:
            raise StatementRefused("the query returned no result set")
        reader = relation.to_arrow_reader()
        rows = min(checked.row_limit, limits.row_limit)
        batches: list[pa.RecordBatch] = []
        taken = 0
        for batch in reader:
            batches.append(batch.slice(0, rows - taken))
            taken += batches[-1].num_rows
            if taken >= rows:
                break
        return pa.Table.from_batches(batches, schema=reader.schema)
    except duckdb.InterruptException as error:
        raise LimitExceeded(
            f"the query ran past its {limits.timeout_seconds:g} s limit and was stopped; "
            "narrow it (filters, fewer joins, a smaller LIMIT)"
        ) from error
    except duckdb.OutOfMemoryException as error:
        raise LimitExceeded(
            f"the query needed more than {limits.memory_limit} of memory; narrow it"
        ) from error
    except duckdb.Error as error:
        raise StatementRefused(f"the query failed: {error}") from error
    finally:
        timer.cancel()
        connection.close()


def _locked_connection(
    checked: CheckedQuery, data: Mapping[str, pa.Table], limits: QueryLimits
) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(
        ":memory:",
        config={
            "enable_external_access": False,
            "autoload_known_extensions": False,
            "autoinstall_known_extensions": False,
            "memory_limit": limits.memory_limit,
            "threads": limits.threads,
        },
    )
    for relation, grant in checked.grants.items():
        connection.register(relation, filtered(data[relation], grant))
    # Locked last: from here on no SET, PRAGMA or extension can loosen the settings above.
    connection.execute("SET lock_configuration = true")
    return connection
