"""Request and response bodies of the governed SQL endpoint (``POST /api/v1/query``)."""

from __future__ import annotations

import base64
import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from meshlake.governance.services._query import QueryAnswer

ARROW_STREAM = "application/vnd.apache.arrow.stream"


class QueryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sql: str = Field(
        min_length=1,
        max_length=100_000,
        description="One SELECT (or UNION/INTERSECT/EXCEPT of SELECTs) over governed tables named "
        "`domain.product.port`.",
    )
    format: Literal["json", "arrow"] | None = Field(
        default=None,
        description="json (pages of rows) or arrow (an Arrow IPC stream); omitted: arrow when "
        f"the Accept header asks for {ARROW_STREAM}, else json.",
    )
    page_size: int = Field(default=1000, ge=1, le=10_000, description="Rows per page.")
    page: str | None = Field(
        default=None,
        min_length=1,
        max_length=4096,
        description="The next_page cursor of the previous answer to the same sql.",
    )


class ColumnOut(BaseModel):
    name: str
    type: str = Field(description="The Arrow type, e.g. int64, string, timestamp[us, tz=UTC].")


class PortReadOut(BaseModel):
    port: str = Field(description="The governed table, `domain.product.port`.")
    version: int = Field(description="The published Delta version read.")
    agreement: str | None = Field(
        description="The agreement it was read under; null for the caller's own domain."
    )


class QueryOut(BaseModel):
    """One page of the result. Values are JSON: dates and times ISO 8601, decimals as strings
    (exact), binary as base64, non-finite floats as the strings NaN, Infinity, -Infinity."""

    columns: list[ColumnOut]
    rows: list[list[Any]]
    row_count: int = Field(description="Rows on this page.")
    truncated: bool = Field(description="The query had more rows than the row limit allows.")
    next_page: str | None = Field(description="The cursor of the next page; null on the last.")
    ports: list[PortReadOut]


def query_out(answer: QueryAnswer) -> QueryOut:
    table = answer.table
    # Column by column: names may repeat (SELECT 1 AS a, 2 AS a), which rows as dicts would merge.
    columns = [[_json(value) for value in column.to_pylist()] for column in table.columns]
    rows = [list(row) for row in zip(*columns, strict=True)] if columns else []
    return QueryOut(
        columns=[ColumnOut(name=field.name, type=str(field.type)) for field in table.schema],
        rows=rows,
        row_count=table.num_rows,
        truncated=answer.truncated,
        next_page=answer.next_page,
        ports=[
            PortReadOut(port=read.port, version=read.version, agreement=read.agreement)
            for read in answer.ports
        ],
    )


def ports_header(answer: QueryAnswer) -> str:
    """The ports read, for the Arrow answer's ``Meshlake-Ports`` header: ``port@version`` or
    ``port@version:agreement``, comma-separated."""
    return ",".join(
        f"{read.port}@{read.version}" + (f":{read.agreement}" if read.agreement else "")
        for read in answer.ports
    )


def arrow_stream(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def _json(value: Any) -> Any:
    """A value ``to_pylist`` gives, as JSON can hold it without losing it."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {str(key): _json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(item) for item in value]
    return str(value)
