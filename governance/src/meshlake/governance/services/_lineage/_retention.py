"""Raw lineage events are kept for ``MESHLAKE_LINEAGE_EVENT_RETENTION_DAYS`` (default 90), then pruned.

The graph, runs and column edges are what the store made of the events, and stay. The events as
received are evidence for a reader; unbounded, they grow with every run for ever. The service prunes
on the ingest path (a service that receives no events grows none), at most once per
:data:`PRUNE_EVERY` per service, in a transaction of its own and at most :data:`PRUNE_BATCH` events a
time, so a backlog costs one short delete an hour rather than one long one; an admin may prune on
demand (``POST /api/v1/lineage/events/prune``).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from meshlake.governance._settings import GovernanceSettings
from meshlake.governance.db._tables import LineageEvent, LineageEventDataset
from meshlake.governance.db._turns import writer_turn
from meshlake.governance.services import _audit
from meshlake.governance.services._access import Caller

log = logging.getLogger(__name__)

PRUNE_EVERY = 3600.0
"""Seconds between two automatic prunes of one service."""

PRUNE_BATCH = 10_000
"""The most events one prune deletes; the next prune takes the rest."""


def retention() -> timedelta:
    """How long an event is kept after it was received (read at each prune, so a changed setting
    holds from the next one)."""
    return timedelta(days=GovernanceSettings().lineage_event_retention_days)


def prune_events(session: Session, before: datetime, *, limit: int = PRUNE_BATCH) -> int:
    """Delete up to ``limit`` of the oldest events received before ``before``, with the dataset
    rows that file them; how many events went. The caller commits, inside its writer turn."""
    oldest = (
        select(LineageEvent.id)
        .where(LineageEvent.received_at < before)
        .order_by(LineageEvent.id)
        .limit(limit)
        .subquery()
    )
    last = session.scalar(select(func.max(oldest.c.id)))
    if last is None:
        return 0
    doomed = select(LineageEvent.id).where(
        LineageEvent.received_at < before, LineageEvent.id <= last
    )
    session.execute(delete(LineageEventDataset).where(LineageEventDataset.event_id.in_(doomed)))
    result = session.execute(
        delete(LineageEvent).where(LineageEvent.received_at < before, LineageEvent.id <= last)
    )
    return int(getattr(result, "rowcount", 0) or 0)


class _Pruner:
    """Prunes at most once per :data:`PRUNE_EVERY` per service (keyed by its session factory)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: weakref.WeakKeyDictionary[sessionmaker[Session], float] = (
            weakref.WeakKeyDictionary()
        )

    def due(self, sessions: sessionmaker[Session]) -> bool:
        """True (and the turn taken) when this service has not pruned within PRUNE_EVERY."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(sessions)
            if last is not None and now - last < PRUNE_EVERY:
                return False
            self._last[sessions] = now
            return True

    def prune_if_due(self, sessions: sessionmaker[Session], now: datetime) -> int:
        if not self.due(sessions):
            return 0
        with sessions() as session, writer_turn(session), session.begin():
            return prune_events(session, now - retention())


pruner = _Pruner()


def prune_when_due(sessions: sessionmaker[Session], now: datetime) -> None:
    """The automatic prune after an ingest; a failure is logged, never the ingest's problem."""
    try:
        pruned = pruner.prune_if_due(sessions, now)
    except Exception:  # the events were recorded; the next prune tries again
        log.exception("pruning kept lineage events failed")
        return
    if pruned:
        log.info("pruned %d lineage events received before the retention", pruned)


def prune_now(session: Session, caller: Caller, now: datetime) -> tuple[int, datetime]:
    """An admin's prune: how many events went, and the cut-off; audited."""
    caller.require_admin("prune kept lineage events")
    before = now - retention()
    with writer_turn(session):
        pruned = prune_events(session, before)
        _audit.record(
            session,
            principal=caller.name,
            action="lineage.events_pruned",
            target="lineage_events",
            after={"pruned": pruned, "before": before.isoformat()},
        )
        session.commit()
    return pruned, before
