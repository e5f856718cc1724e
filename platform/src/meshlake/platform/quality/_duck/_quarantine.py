"""The rows quarantine rules set aside, shaped as the Spark checks shape them.

The port's columns (classified ones masked as text, as ``quality/_quarantine.masked_column``
masks them), then ``_quarantine_rules`` (the names of the rules each row broke, comma
separated), ``_run_id`` and ``_quarantined_at``. Every column is nullable: quarantined rows are
the ones that broke rules, nulls in required columns among them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from meshlake.platform.quality._duck._sqltext import name


def quarantined_rows(
    con: duckdb.DuckDBPyConnection,
    rows: pa.Table,
    rejected: pa.ChunkedArray,
    broken: pa.ChunkedArray,
    masked: set[str],
    run_id: str,
) -> pa.Table:
    """The rows of ``rows`` where ``rejected``, with the rules each broke (``broken``)."""
    kept = rows.filter(rejected)
    view = "__meshlake_quarantined__"
    con.register(view, kept)
    columns: list[pa.ChunkedArray | pa.Array] = []
    fields: list[pa.Field] = []
    for field, column in zip(rows.schema, kept.columns, strict=True):
        if field.name in masked:
            column = _masked(
                con,
                view,
                field.name,
                pa.types.is_string(field.type) or pa.types.is_large_string(field.type),
            )
            field = pa.field(field.name, pa.string())
        columns.append(column)
        fields.append(field.with_nullable(True))
    count = kept.num_rows
    now = datetime.now(UTC)
    columns += [
        broken.filter(rejected).cast(pa.string()),
        pa.array([run_id] * count, pa.string()),
        pa.array([now] * count, pa.timestamp("us", tz="UTC")),
    ]
    fields += [
        pa.field("_quarantine_rules", pa.string()),
        pa.field("_run_id", pa.string()),
        pa.field("_quarantined_at", pa.timestamp("us", tz="UTC")),
    ]
    con.unregister(view)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _masked(
    con: duckdb.DuckDBPyConnection, view: str, column: str, is_text: bool
) -> pa.ChunkedArray:
    """One column masked as text: the first character kept, an e-mail's shape kept; null
    stays null (it reveals nothing)."""
    value = name(column)
    if is_text:
        expression = (
            f"CASE WHEN {value} IS NULL THEN NULL WHEN length({value}) < 2 THEN '***' "
            f"WHEN strpos({value}, '@') > 0 THEN substring({value}, 1, 1) || '***@***' "
            f"ELSE substring({value}, 1, 1) || '***' END"
        )
    else:
        expression = f"CASE WHEN {value} IS NULL THEN NULL ELSE '***' END"
    table = con.sql(f"SELECT {expression} AS m FROM {view}").to_arrow_table()
    return table.column(0).cast(pa.string())
