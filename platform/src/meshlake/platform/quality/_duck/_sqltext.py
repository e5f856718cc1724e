"""SQL text for DuckDB: quoted names and literals, so no value from a contract is spliced raw."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def name(column: str) -> str:
    """``column`` as a DuckDB identifier (double quotes, doubled inside)."""
    return '"' + column.replace('"', '""') + '"'


def text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def number(value: float) -> str:
    """A float as DuckDB reads it back exactly (infinities and NaN as casts)."""
    if math.isfinite(value):
        return repr(value)
    return f"CAST({text(repr(value))} AS DOUBLE)"


def literal(value: Any, column_type: str) -> str:
    """``value`` compared with a column of DuckDB type ``column_type``.

    Numbers against a numeric column and text against a text column go as they are (DuckDB
    promotes them as Spark does); anything else is cast to the column's type, NULL when it does
    not convert, so a mismatched value matches nothing instead of failing the whole pass."""
    numeric_column = _numeric(column_type)
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        plain = "TRUE" if value else "FALSE"
        return plain if column_type == "BOOLEAN" else f"TRY_CAST({plain} AS {column_type})"
    if isinstance(value, int | float | Decimal):
        plain = number(float(value)) if isinstance(value, float) else str(value)
        return plain if numeric_column else f"TRY_CAST({plain} AS {column_type})"
    if isinstance(value, datetime | date):
        value = value.isoformat()
    quoted = text(str(value))
    return quoted if column_type == "VARCHAR" else f"TRY_CAST({quoted} AS {column_type})"


def _numeric(column_type: str) -> bool:
    kind = column_type.split("(")[0]
    return kind in {
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "UHUGEINT",
        "FLOAT",
        "DOUBLE",
        "DECIMAL",
    }


def first_row(con: Any, sql: str) -> tuple[Any, ...] | None:
    """The first row of a query, its result closed: DuckDB refuses new work on a connection
    whose last result was not read to its end."""
    rows = con.sql(sql).limit(1).fetchall()
    return tuple(rows[0]) if rows else None
