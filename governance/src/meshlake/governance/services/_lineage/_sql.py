"""Small helpers shared by the lineage store's SQL: tables, dialect, chunked IN lists."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Table,
)
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
