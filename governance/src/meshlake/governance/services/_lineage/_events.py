"""The events as received, read back by run, job or dataset, oldest first, a page at a time.

The graph is what the store makes of events; the events are the evidence. Keeping them lets a
reader see exactly what a producer said (every facet, not only those the graph reads), and
replay it elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from meshlake.governance.db._tables import LineageEvent, LineageEventDataset, LineageJob
from meshlake.governance.services._lineage._graph import resolve_datasets, resolve_jobs
from meshlake.governance.services._lineage._model import DatasetRef, JobRef
from meshlake.governance.services._lineage._sql import _utc


@dataclass(frozen=True)
class StoredEvent:
    """One event as received, with what it is filed under."""

    id: int
    shape: str
    event_type: str | None
    event_time: datetime
    run_id: str | None
    job_namespace: str | None
    job_name: str | None
    received_at: datetime
    event: Any


@dataclass(frozen=True)
class EventPage:
    events: list[StoredEvent]
    next_after: int | None
    """Pass as ``after`` for the next page; None on the last page."""


def stored_events(
    session: Session,
    *,
    run: str | None = None,
    job: JobRef | None = None,
    dataset: DatasetRef | None = None,
    after: int | None = None,
    limit: int = 100,
) -> EventPage:
    """Events matching every filter given, in the order received, after the event id ``after``.

    A job or dataset that the store does not know is NotFoundError (as for the graph); a run id
    it does not know is an empty page (a run is only an id until its events arrive)."""
    query = (
        select(LineageEvent, LineageJob.namespace, LineageJob.name)
        .outerjoin(LineageJob, LineageJob.id == LineageEvent.job_id)
        .order_by(LineageEvent.id)
        .limit(limit + 1)
    )
    if run is not None:
        query = query.where(LineageEvent.run_id == run)
    if job is not None:
        query = query.where(LineageEvent.job_id.in_(resolve_jobs(session, job)))
    if dataset is not None:
        named = select(LineageEventDataset.event_id).where(
            LineageEventDataset.dataset_id.in_(resolve_datasets(session, dataset))
        )
        query = query.where(LineageEvent.id.in_(named))
    if after is not None:
        query = query.where(LineageEvent.id > after)
    rows = session.execute(query).all()
    events = [
        StoredEvent(
            id=row.id,
            shape=row.shape,
            event_type=row.event_type,
            event_time=_utc(row.event_time) or row.event_time,
            run_id=row.run_id,
            job_namespace=namespace,
            job_name=name,
            received_at=_utc(row.received_at) or row.received_at,
            event=orjson.loads(row.body),
        )
        for row, namespace, name in rows[:limit]
    ]
    more = len(rows) > limit
    return EventPage(events, events[-1].id if more and events else None)
