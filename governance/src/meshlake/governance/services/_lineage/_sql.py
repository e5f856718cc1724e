"""Small helpers shared by the lineage store's SQL: tables, dialect, chunked IN lists."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from meshlake.governance._errors import GovernanceError


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _dialect(session: Session) -> str:
    name = session.get_bind().dialect.name
    if name not in ("sqlite", "postgresql"):
        raise GovernanceError(f"the lineage store runs on SQLite or PostgreSQL, not {name}")
    return name


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _utc(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; what was stored is UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class _Many:
    """A bulk INSERT (or upsert) executed with one row per tuple, in the table's column order.

    On SQLite the rows go to the driver's executemany as they are, through the statement compiled
    once: SQLAlchemy's per-row work (building each row's parameters, calling each column's bind
    processor) cost as much as SQLite's own, and a batch writes tens of thousands of rows. Values
    that need a bind processor (datetimes, stored as text) still go through SQLAlchemy's own, once
    per distinct value, so what is stored is byte for byte the same. PostgreSQL gets the statement
    through SQLAlchemy as before.
    """

    def __init__(self, statement: Any, table: Table, keys: Sequence[str]) -> None:
        self.statement, self.keys = statement, tuple(keys)
        dialect = sqlite.dialect()
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        if list(compiled.positiontup or ()) != list(keys):
            raise GovernanceError(f"bulk statement parameters {compiled.positiontup} != {keys}")
        self.sqlite_sql = str(compiled)
        self.processors: tuple[Callable[[Any], Any] | None, ...] = tuple(
            table.c[key].type.dialect_impl(dialect).bind_processor(dialect) for key in keys
        )

    def execute(self, connection: Connection, rows: list[tuple[Any, ...]]) -> None:
        if connection.dialect.name != "sqlite":
            connection.execute(
                self.statement, [dict(zip(self.keys, row, strict=True)) for row in rows]
            )
            return
        converting: list[tuple[int, Callable[[Any], Any], dict[Any, Any]]] = [
            (index, processor, {}) for index, processor in enumerate(self.processors) if processor
        ]
        if converting:
            rows = [_converted(row, converting) for row in rows]
        connection.exec_driver_sql(self.sqlite_sql, rows)


def _converted(
    row: tuple[Any, ...], converting: list[tuple[int, Callable[[Any], Any], dict[Any, Any]]]
) -> tuple[Any, ...]:
    values = list(row)
    for index, processor, seen in converting:
        value = values[index]
        if value is not None:
            done = seen.get(value)
            if done is None:
                done = seen[value] = processor(value)
            values[index] = done
    return tuple(values)
