"""The SLAs of every active agreement, measured on a schedule while the service runs.

A thread wakes every ``MESHLAKE_SLA_INTERVAL`` seconds and measures what is due: nothing when any
measurement of the whole set happened within the interval (so several server processes on one
database do not each measure everything). On PostgreSQL a transaction-level advisory lock makes
the check and the measurement one step: of processes waking together one measures, the others skip.
A failure is logged and retried at the next wake; it never stops the thread or the service.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from meshlake.governance.db._tables import SlaEvaluation
from meshlake.governance.services import _incidents

log = logging.getLogger(__name__)


class SlaSchedule:
    """Measures every active agreement's SLA every ``interval`` seconds, in its own thread."""

    def __init__(
        self, sessions: sessionmaker[Session], interval: float, clock: Callable[[], datetime]
    ) -> None:
        self.sessions, self.interval, self.clock = sessions, interval, clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="sla-schedule", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def run_due(self) -> int:
        """Measure now unless the last measurement is younger than the interval; how many
        agreement ports were measured."""
        now = self.clock()
        with self.sessions() as session, session.begin():
            if not _measure_lock(session):
                return 0  # another process is measuring now; it will record the evidence
            last = session.scalar(select(func.max(SlaEvaluation.evaluated_at)))
            if last is not None and _aware(last) > now - timedelta(seconds=self.interval):
                return 0
            measured = len(_incidents.evaluate(session, now))
        self.runs += 1
        return measured

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_due()
            except Exception:  # logged and tried again at the next wake
                log.exception("scheduled SLA measurement failed")
            self._stop.wait(self.interval)


def sla_lifespan(interval: float) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """A FastAPI lifespan running the schedule (none when ``interval`` is 0)."""

    @asynccontextmanager
    async def run(app: Any) -> AsyncIterator[None]:
        if interval <= 0:
            yield
            return
        schedule = SlaSchedule(app.state.sessions, interval, lambda: app.state.clock())
        app.state.sla_schedule = schedule
        schedule.start()
        try:
            yield
        finally:
            await asyncio.to_thread(schedule.stop)

    return run


# pg_try_advisory_xact_lock's key for "measuring every agreement's SLA".
SLA_LOCK_KEY = 0x6D65_7368_6C61_6B02


def _measure_lock(session: Session) -> bool:
    """Take the measuring turn (released at commit); SQLite's single writer needs none."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(
        session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SLA_LOCK_KEY})
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
