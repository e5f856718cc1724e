"""The outbox: notifications written in the notifier's transaction, and what an admin may do later.

A notification is a row, not a message: it exists exactly when the change it reports committed,
and it survives restarts until a deliverer has sent it (or given up).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from meshlake.governance._errors import ConflictError, InvalidRequestError, NotFoundError
from meshlake.governance.db._tables import WebhookDelivery, WebhookSubscription, utcnow
from meshlake.governance.services import _audit
from meshlake.governance.services._access import Caller
from meshlake.governance.services._webhooks._subscriptions import Subscriber, get, matches

STATUSES = ("pending", "delivered", "dead", "cancelled")
_EVENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$")
_NUDGE_PENDING = "meshlake.webhooks.nudge"

# Deliverers of this process, nudged when a transaction that wrote notifications commits, so
# delivery need not wait for the next poll. Other processes find the rows by polling.
_listeners: weakref.WeakSet[Any] = weakref.WeakSet()
_listeners_lock = threading.Lock()


def on_commit_nudge(listener: Any) -> None:
    """Register an object with a ``nudge()`` method, called after each committing notify."""
    with _listeners_lock:
        _listeners.add(listener)


def _nudge_after_commit(session: Session) -> None:
    """Nudge this process's deliverers when ``session``'s transaction commits (once per commit)."""
    if not session.info.get(_NUDGE_PENDING):
        session.info[_NUDGE_PENDING] = True
        sa_event.listen(session, "after_commit", _nudge_all, once=True)


def _nudge_all(session: Session) -> None:
    session.info.pop(_NUDGE_PENDING, None)
    with _listeners_lock:
        listeners = list(_listeners)
    for listener in listeners:
        nudge: Callable[[], None] = listener.nudge
        nudge()


def notify(
    session: Session, subscribers: Iterable[str], event: str, payload: Mapping[str, Any]
) -> list[int]:
    """Queue ``event`` with ``payload`` for every live subscription of ``subscribers`` whose
    patterns match it; returns the new deliveries' ids.

    Written in the caller's transaction: committed with the change it reports, or rolled back
    with it (nothing is sent for a change that did not happen). ``subscribers`` are
    ``domain:<name>`` or ``principal:<name>``; ``payload`` must be JSON (it becomes ``data``).
    """
    names = sorted({str(Subscriber.parse(text, "subscribers")) for text in subscribers})
    if not _EVENT_NAME.match(event):
        raise InvalidRequestError(
            f"event: {event!r} is not an event name; use a dotted name of letters, digits, "
            "'_', '-' and ':' (at most 200 characters), e.g. 'agreement.approved'"
        )
    try:
        data = json.loads(json.dumps(dict(payload), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(f"payload: not JSON-serialisable ({exc})") from exc
    if not names:
        return []
    subscriptions = session.scalars(
        select(WebhookSubscription)
        .where(WebhookSubscription.subscriber.in_(names), WebhookSubscription.deleted_at.is_(None))
        .order_by(WebhookSubscription.id)
    )
    now = utcnow()
    rows: list[WebhookDelivery] = []
    for subscription in subscriptions:
        if not matches(event, subscription.events):
            continue
        envelope = {
            "id": str(uuid.uuid4()),
            "event": event,
            "occurred_at": now.isoformat(),
            "subscriber": subscription.subscriber,
            "data": data,
        }
        rows.append(
            WebhookDelivery(
                subscription_id=subscription.id,
                event_id=envelope["id"],
                event=event,
                body=json.dumps(envelope, separators=(",", ":"), ensure_ascii=False),
                status="pending",
                attempts=0,
                created_at=now,
                next_attempt_at=now,
                history=[],
            )
        )
    if not rows:
        return []
    session.add_all(rows)
    session.flush()
    _nudge_after_commit(session)
    return [row.id for row in rows]


def deliveries(
    session: Session,
    caller: Caller,
    subscription_id: int,
    *,
    status: str | None = None,
    limit: int = 100,
) -> list[WebhookDelivery]:
    """A subscription's deliveries, newest first (the caller must manage the subscription)."""
    get(session, caller, subscription_id, "read the deliveries of a webhook")
    if status is not None and status not in STATUSES:
        raise InvalidRequestError(f"status: {status!r} is not one of {', '.join(STATUSES)}")
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == subscription_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    return list(session.scalars(query))


def retry(session: Session, caller: Caller, delivery_id: int) -> WebhookDelivery:
    """Give a dead delivery a new round of attempts (admin only), starting now."""
    caller.require_admin("retry a webhook delivery")
    row = session.get(WebhookDelivery, delivery_id)
    if row is None:
        raise NotFoundError(f"webhook delivery {delivery_id} does not exist")
    if row.status != "dead":
        raise ConflictError(
            f"webhook delivery {delivery_id} is {row.status}; only a dead delivery can be retried"
        )
    if row.subscription.deleted_at is not None:
        raise ConflictError(
            f"webhook delivery {delivery_id} belongs to webhook {row.subscription_id}, which was "
            "deleted; register the receiver again"
        )
    now = utcnow()
    row.status = "pending"
    row.attempts = 0
    row.next_attempt_at = now
    row.leased_until = None
    row.lease_owner = None
    row.history = [*row.history, {"at": now.isoformat(), "outcome": "requeued", "by": caller.name}]
    session.flush()
    _audit.record(
        session,
        principal=caller.name,
        action="webhook.delivery_retried",
        target=str(row.id),
        before={"status": "dead"},
        after={"status": "pending"},
    )
    _nudge_after_commit(session)
    return row


def prune(session: Session, before: datetime) -> int:
    """Delete the settled deliveries (delivered, cancelled, dead) created before ``before``; how
    many went. Pending rows are never pruned: they are work still owed."""
    result = session.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.status.in_(("delivered", "cancelled", "dead")),
            WebhookDelivery.created_at < before,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
