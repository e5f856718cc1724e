"""Freshness evidence of an output port, read from its Delta log (delta-rs and DuckDB, no Spark).

The evidence is the table's own: its current version, the time of its last commit and its rows
now, compared with the latency its contract promises (``slaProperties`` ``latency``). It is read
when asked, so it holds even for writes that were never published to the catalog, and the answer
says whether the catalog has the version the table is at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import duckdb
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError
from sqlalchemy import select
from sqlalchemy.orm import Session

from meshlake.governance.db._tables import ContractRevision, Dataset
from meshlake.platform import storage_options
from meshlake.platform.specs import Contract, sla_duration

Status = Literal["fresh", "late", "no_sla", "missing"]


@dataclass(frozen=True)
class Freshness:
    dataset: str
    location: str
    status: Status
    reason: str
    checked_at: datetime
    latency: timedelta | None = None
    delta_version: int | None = None
    last_commit_at: datetime | None = None
    age: timedelta | None = None
    row_count: int | None = None
    published_version: int | None = None


def freshness(session: Session, dataset: Dataset, at: datetime | None = None) -> Freshness:
    """Whether ``dataset``'s table was committed within its contract's latency, as of ``at``."""
    now = (at or datetime.now(UTC)).astimezone(UTC)
    latency = _latency(session, dataset)
    published = max((version.delta_version for version in dataset.versions), default=None)
    try:
        table = DeltaTable(dataset.location, storage_options=storage_options(dataset.location))
    except TableNotFoundError:
        return Freshness(
            dataset=dataset.ref,
            location=dataset.location,
            status="missing",
            reason=f"no Delta table at {dataset.location}; nothing was written there yet",
            checked_at=now,
            latency=latency,
            published_version=published,
        )
    version = table.version()
    committed = datetime.fromtimestamp(table.history(1)[0]["timestamp"] / 1000, UTC)
    age = now - committed
    status: Status
    if latency is None:
        status = "no_sla"
        reason = f"the contract of {dataset.ref} promises no latency (slaProperties latency)"
    elif age <= latency:
        status = "fresh"
        reason = f"version {version} was committed {_human(age)} ago, within {_human(latency)}"
    else:
        status = "late"
        reason = (
            f"version {version} was committed {_human(age)} ago; the contract promises "
            f"{_human(latency)}"
        )
    return Freshness(
        dataset=dataset.ref,
        location=dataset.location,
        status=status,
        reason=reason,
        checked_at=now,
        latency=latency,
        delta_version=version,
        last_commit_at=committed,
        age=age,
        row_count=_row_count(table),
        published_version=published,
    )


def _latency(session: Session, dataset: Dataset) -> timedelta | None:
    document = session.scalar(
        select(ContractRevision.document).where(
            ContractRevision.dataset_id == dataset.id,
            ContractRevision.version == dataset.contract_version,
        )
    )
    if document is None:
        return None
    return sla_duration(Contract.model_validate(document), "latency")


def _row_count(table: DeltaTable) -> int:
    # DuckDB counts over the table's current files (row counts come from the Parquet footers).
    data = table.to_pyarrow_dataset()  # noqa: F841 - read by DuckDB below
    connection = duckdb.connect()
    try:
        row = connection.execute("SELECT count(*) FROM data").fetchone()
    finally:
        connection.close()
    return int(row[0]) if row else 0


def _human(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds} s"
