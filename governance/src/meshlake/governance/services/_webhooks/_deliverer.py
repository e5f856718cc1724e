"""The deliverer: a background thread that sends due outbox rows and records each attempt.

Several deliverers (server processes, or threads in tests) may share one database. A row is sent by
the one that claims it: a conditional UPDATE moves its lease forward only where the lease has
passed, which both SQLite (one writer at a time) and PostgreSQL (the row lock, then the condition
re-checked) resolve to exactly one winner. A subscription has at most one delivery in flight, so a
slow or dead receiver ties up one sender, not all. Delivery is at least once: a deliverer that dies
after sending but before recording leaves the row to be sent again when its lease passes.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from meshlake.governance._settings import GovernanceSettings
from meshlake.governance.db._tables import WebhookDelivery, WebhookSubscription, utcnow
from meshlake.governance.services._webhooks._backoff import Backoff
from meshlake.governance.services._webhooks._outbox import on_commit_nudge, prune
from meshlake.governance.services._webhooks._signing import sign

log = logging.getLogger("meshlake.governance.webhooks")

USER_AGENT = "meshlake-webhooks/1"
_ERROR_LIMIT = 500
_PRUNE_EVERY = 3600.0  # seconds between two prunings of settled deliveries by one deliverer


@dataclass(frozen=True)
class DeliverySettings:
    """How a deliverer paces itself; see the ``webhook_*`` fields of GovernanceSettings."""

    poll_interval: float
    backoff: Backoff
    max_attempts: int
    timeout: float
    concurrency: int
    retention: timedelta = timedelta(days=30)
    """How long settled deliveries stay readable before the deliverer prunes them."""

    @property
    def lease(self) -> timedelta:
        # Long enough to send (timeout) and record; short enough that a crashed deliverer's rows
        # are taken over soon.
        return timedelta(seconds=max(30.0, 3 * self.timeout))

    @classmethod
    def from_settings(cls, settings: GovernanceSettings) -> DeliverySettings:
        return cls(
            poll_interval=settings.webhook_poll_interval,
            backoff=Backoff(settings.webhook_backoff_base, settings.webhook_backoff_max),
            max_attempts=settings.webhook_max_attempts,
            timeout=settings.webhook_timeout,
            concurrency=settings.webhook_concurrency,
            retention=timedelta(days=settings.webhook_retention_days),
        )


@dataclass(frozen=True)
class _Claim:
    id: int
    event_id: str
    event: str
    body: str
    url: str
    secret: str


@dataclass(frozen=True)
class _Outcome:
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.error is None


class Deliverer:
    """Sends the outbox of one database until stopped; ``run_once`` does one round (for callers
    that drive it themselves)."""

    def __init__(self, sessions: sessionmaker[Session], settings: DeliverySettings) -> None:
        self._sessions = sessions
        self._settings = settings
        self.owner = f"deliverer-{uuid.uuid4().hex[:12]}"
        self._nudged = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = httpx.Client(
            timeout=settings.timeout, follow_redirects=False, trust_env=False
        )
        self._pool = ThreadPoolExecutor(settings.concurrency, thread_name_prefix=self.owner)
        self._pruned_at: float | None = None

    def start(self) -> None:
        on_commit_nudge(self)
        self._thread = threading.Thread(target=self._loop, name=self.owner, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish the deliveries in flight (each at most the timeout), then stop."""
        self._stopping.set()
        self._nudged.set()
        if self._thread is not None:
            self._thread.join(timeout=self._settings.timeout * 2 + 10)
        self._pool.shutdown(wait=True)
        self._client.close()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def nudge(self) -> None:
        """Look at the outbox now rather than at the next poll (a notification just committed)."""
        self._nudged.set()

    def run_once(self) -> int:
        """Claim the due deliveries (up to the concurrency), send them, record; how many were sent."""
        claims = self._claim(self._settings.concurrency)
        if claims:
            list(self._pool.map(self._deliver, claims))
        return len(claims)

    def prune(self) -> int:
        """Delete the settled deliveries older than the retention; how many went."""
        with self._sessions.begin() as session:
            pruned = prune(session, utcnow() - self._settings.retention)
        self._pruned_at = time.monotonic()
        return pruned

    def _prune_hourly(self) -> None:
        if self._pruned_at is not None and time.monotonic() - self._pruned_at < _PRUNE_EVERY:
            return
        try:
            pruned = self.prune()
        except Exception:
            self._pruned_at = time.monotonic()  # not again at every poll while the database is away
            log.exception("pruning settled webhook deliveries failed; trying in an hour")
            return
        if pruned:
            log.info("pruned %d settled webhook deliveries", pruned)

    def _loop(self) -> None:
        in_flight: set[Future[None]] = set()
        while not self._stopping.is_set():
            # Cleared before looking, so a nudge that comes while claiming is not lost.
            self._nudged.clear()
            in_flight = {future for future in in_flight if not future.done()}
            room = self._settings.concurrency - len(in_flight)
            if room > 0:
                try:
                    claims = self._claim(room)
                except Exception:
                    # A database that is briefly away must not end delivery for the process's life.
                    log.exception("claiming webhook deliveries failed; trying at the next poll")
                    claims = []
                in_flight |= {self._pool.submit(self._deliver, claim) for claim in claims}
            self._prune_hourly()
            # Woken by a commit that notified, by a finished send (room again), or by the poll.
            self._nudged.wait(self._settings.poll_interval)
        wait(in_flight)

    def _claim(self, limit: int) -> list[_Claim]:
        claims = [self._take(delivery_id) for delivery_id in self._due(limit)]
        return [claim for claim in claims if claim is not None]

    def _due(self, limit: int) -> list[int]:
        """Due deliveries, at most one per subscription and none of a subscription that has one in
        flight: a slow receiver holds one sender, not all of them, and gets one request at a time."""
        now = utcnow()
        leased = select(WebhookDelivery.subscription_id).where(
            WebhookDelivery.status == "pending", WebhookDelivery.leased_until >= now
        )
        with self._sessions() as session, session.begin():
            rows = session.execute(
                select(WebhookDelivery.id, WebhookDelivery.subscription_id)
                .where(
                    WebhookDelivery.status == "pending",
                    WebhookDelivery.next_attempt_at <= now,
                    WebhookDelivery.subscription_id.not_in(leased),
                )
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(limit * 20)
            ).all()
        first: dict[int, int] = {}
        for delivery_id, subscription_id in rows:
            first.setdefault(subscription_id, delivery_id)
        return list(first.values())[:limit]

    def _take(self, delivery_id: int) -> _Claim | None:
        """Lease ``delivery_id`` to this deliverer if its lease has passed; None if another
        deliverer holds it (or it is no longer pending)."""
        now = utcnow()
        free = or_(WebhookDelivery.leased_until.is_(None), WebhookDelivery.leased_until < now)
        with self._sessions() as session, session.begin():
            won = session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == "pending", free)
                .values(leased_until=now + self._settings.lease, lease_owner=self.owner)
                .execution_options(synchronize_session=False)
            )
            if _rowcount(won) != 1:
                return None
            row = session.execute(
                select(
                    WebhookDelivery.event_id,
                    WebhookDelivery.event,
                    WebhookDelivery.body,
                    WebhookSubscription.url,
                    WebhookSubscription.secret,
                )
                .join(WebhookSubscription)
                .where(WebhookDelivery.id == delivery_id)
            ).one()
            return _Claim(delivery_id, *row)

    def _deliver(self, claim: _Claim) -> None:
        try:
            outcome = self._send(claim)
            self._record(claim, outcome)
        except Exception:
            # The lease runs out and another round takes the row again.
            log.exception("webhook delivery %s could not be recorded", claim.id)
        finally:
            self._nudged.set()  # room for the next one

    def _send(self, claim: _Claim) -> _Outcome:
        body = claim.body.encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Meshlake-Event": claim.event,
            "X-Meshlake-Delivery": claim.event_id,
            "X-Meshlake-Timestamp": timestamp,
            "X-Meshlake-Signature": sign(claim.secret, timestamp, body),
        }
        at = utcnow()
        started = time.monotonic()
        status_code: int | None = None
        error: str | None = None
        try:
            response = self._client.post(claim.url, content=body, headers=headers)
            status_code = response.status_code
            if not 200 <= status_code < 300:
                text = response.text[:200].strip()
                error = f"HTTP {status_code}" + (f": {text}" if text else "")
        except httpx.TimeoutException:
            error = f"no answer within {self._settings.timeout:g} s (timeout)"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        duration_ms = int((time.monotonic() - started) * 1000)
        return _Outcome(at, status_code, error and error[:_ERROR_LIMIT], duration_ms)

    def _record(self, claim: _Claim, outcome: _Outcome) -> None:
        with self._sessions() as session, session.begin():
            row = session.get(WebhookDelivery, claim.id)
            if row is None or row.lease_owner != self.owner or row.status != "pending":
                return  # cancelled meanwhile, or the lease passed to another deliverer
            attempt = row.attempts + 1
            entry: dict[str, Any] = {
                "attempt": attempt,
                "at": outcome.at.isoformat(),
                "status_code": outcome.status_code,
                "error": outcome.error,
                "duration_ms": outcome.duration_ms,
                "deliverer": self.owner,
            }
            values: dict[str, Any] = {
                "attempts": attempt,
                "last_attempt_at": outcome.at,
                "last_status_code": outcome.status_code,
                "last_error": outcome.error,
                "leased_until": None,
                "lease_owner": None,
            }
            if outcome.delivered:
                entry["outcome"] = "delivered"
                values |= {"status": "delivered", "delivered_at": utcnow(), "next_attempt_at": None}
            elif attempt >= self._settings.max_attempts:
                entry["outcome"] = "dead"
                values |= {"status": "dead", "next_attempt_at": None}
            else:
                delay = self._settings.backoff.delay(attempt)
                entry |= {"outcome": "failed", "retry_in": round(delay, 3)}
                values["next_attempt_at"] = utcnow() + timedelta(seconds=delay)
            values["history"] = [*row.history, entry]
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == claim.id, WebhookDelivery.lease_owner == self.owner)
                .values(**values)
                .execution_options(synchronize_session=False)
            )


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0))
