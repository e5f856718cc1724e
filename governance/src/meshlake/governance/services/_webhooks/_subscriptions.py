"""Webhook subscriptions: who may register one for whom, and what a valid one looks like."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from meshlake.governance._errors import ForbiddenError, InvalidRequestError, NotFoundError
from meshlake.governance.db._tables import (
    Domain,
    Principal,
    WebhookDelivery,
    WebhookSubscription,
    utcnow,
)
from meshlake.governance.services import _audit
from meshlake.governance.services._access import Caller

SECRET_PREFIX = "mlk_whsec_"
ALL_EVENTS = "*"
# What the service takes, stated as is in the OpenAPI (api/_webhook_models.py) and checked with
# Python's re, as the fuzzer reads them. A control character is refused anywhere (PostgreSQL
# cannot store NUL; no name, URL or description needs one).
EVENT_PATTERN = r"^[A-Za-z0-9_.:*?\[\]!-]{1,200}$"
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
# Explicit classes only: ``\s`` differs between regex engines (U+0085 is a space to Python only).
SUBSCRIBER_PATTERN = r"^(domain|principal):[^\x00-\x1f\x7f]*[^ \x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
# An http(s) URL with a host name or IPv4 address, an optional port and no credentials; no
# space or control character in the rest.
URL_PATTERN = rf"^https?://[A-Za-z0-9.-]+(:{_PORT})?([/?#][^ \x00-\x1f\x7f]*)?$"


def check_text(field: str, value: str | None) -> str | None:
    """``value`` unless it holds control characters (which no name, URL or description needs and
    PostgreSQL cannot store in text)."""
    if value is not None and not re.search(TEXT_PATTERN, value):
        raise InvalidRequestError(f"{field}: contains a control character ({value!r}); remove it")
    return value


@dataclass(frozen=True)
class Subscriber:
    """Who a notification is for: ``domain:<name>`` (its owners) or ``principal:<name>``."""

    kind: Literal["domain", "principal"]
    name: str

    @classmethod
    def parse(cls, text: str, field: str = "subscriber") -> Subscriber:
        # SUBSCRIBER_PATTERN is what the OpenAPI states; Python's re reads it as the fuzzer does.
        if not re.search(SUBSCRIBER_PATTERN, text):
            check_text(field, text)
            raise InvalidRequestError(
                f"{field}: {text!r} is not a subscriber; write 'domain:<domain>' (e.g. "
                "'domain:hr') or 'principal:<name>' (e.g. 'principal:partner@example.com')"
            )
        kind, _, name = text.partition(":")
        return cls("domain" if kind == "domain" else "principal", name.strip(" \n"))

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


def check_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL with a host; InvalidRequestError naming it if not."""
    if re.search(URL_PATTERN, url):
        return url.rstrip("\n")  # a final newline, which Python's $ lets through
    check_text("url", url)
    netloc = url.partition("://")[2].split("/")[0].split("?")[0].split("#")[0]
    if "@" in netloc:
        raise InvalidRequestError(
            "url: credentials in the URL are not accepted; receivers authenticate deliveries "
            "with the X-Meshlake-Signature header"
        )
    raise InvalidRequestError(
        f"url: {url!r} is not an http(s) URL with a host (a name or IPv4 address), an optional "
        "port up to 65535 and no spaces; give the receiver's address, e.g. "
        "https://hooks.example.com/meshlake"
    )


def check_events(patterns: Sequence[str] | None) -> list[str]:
    """The event glob patterns (``*`` for all when none are given), each checked."""
    if patterns is None:
        return [ALL_EVENTS]
    if not patterns:
        raise InvalidRequestError(
            "events: the list is empty, so nothing would be sent; give glob patterns such as "
            "'agreement.*', or leave events out for all events"
        )
    for index, pattern in enumerate(patterns):
        if not re.search(EVENT_PATTERN, pattern):
            raise InvalidRequestError(
                f"events.{index}: {pattern!r} is not an event pattern; use event names with "
                "glob wildcards (letters, digits, '.', '_', '-', ':', '*', '?', '[...]'), "
                "e.g. 'agreement.*'"
            )
    return list(dict.fromkeys(patterns))


def matches(event: str, patterns: Sequence[str]) -> bool:
    return any(fnmatchcase(event, pattern) for pattern in patterns)


def may_manage(caller: Caller, subscriber: Subscriber) -> bool:
    """A domain's subscriptions are its owners' (members only read data); a principal's its own."""
    if caller.is_admin:
        return True
    if subscriber.kind == "domain":
        return ("domain_owner", subscriber.name) in caller.roles
    return subscriber.name == caller.name


def _require_manage(caller: Caller, subscriber: Subscriber, action: str) -> None:
    if may_manage(caller, subscriber):
        return
    who = (
        f"the domain_owner role of domain {subscriber.name!r}"
        if subscriber.kind == "domain"
        else f"to be {subscriber.name!r}"
    )
    raise ForbiddenError(
        f"{caller.name} may not {action} for {subscriber}: it needs {who} (or admin)"
    )


def register(
    session: Session,
    caller: Caller,
    *,
    subscriber: str,
    url: str,
    events: Sequence[str] | None,
    description: str | None,
) -> tuple[WebhookSubscription, str]:
    """A new subscription and its signing secret (the caller sees the secret this once)."""
    who = Subscriber.parse(subscriber)
    _require_manage(caller, who, "register a webhook")
    url = check_url(url)
    patterns = check_events(events)
    check_text("description", description)
    if who.kind == "domain":
        if session.scalar(select(Domain.id).where(Domain.name == who.name)) is None:
            raise InvalidRequestError(
                f"subscriber: domain {who.name!r} is not in the catalog; register it first "
                f"(PUT /api/v1/domains/{who.name})"
            )
    elif who.name != caller.name and (
        session.scalar(select(Principal.id).where(Principal.name == who.name)) is None
    ):
        raise InvalidRequestError(
            f"subscriber: principal {who.name!r} does not exist; create it first "
            "(POST /api/v1/principals)"
        )
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    row = WebhookSubscription(
        subscriber=str(who),
        url=url,
        events=patterns,
        description=description,
        secret=secret,
        created_by=caller.name,
    )
    session.add(row)
    session.flush()
    _audit.record(
        session,
        principal=caller.name,
        action="webhook.registered",
        target=str(row.id),
        after={"subscriber": row.subscriber, "url": url, "events": patterns},
    )
    return row, secret


def visible(
    session: Session, caller: Caller, subscriber: str | None = None
) -> list[WebhookSubscription]:
    """The live subscriptions the caller manages (all for the admin), oldest first."""
    query = (
        select(WebhookSubscription)
        .where(WebhookSubscription.deleted_at.is_(None))
        .order_by(WebhookSubscription.id)
    )
    if subscriber is not None:
        query = query.where(WebhookSubscription.subscriber == str(Subscriber.parse(subscriber)))
    if not caller.is_admin:
        owned = [f"domain:{scope}" for role, scope in caller.roles if role == "domain_owner"]
        query = query.where(
            WebhookSubscription.subscriber.in_([*owned, f"principal:{caller.name}"])
        )
    return list(session.scalars(query))


def get(session: Session, caller: Caller, subscription_id: int, action: str) -> WebhookSubscription:
    """The live subscription ``subscription_id`` if the caller manages it (404, 403 otherwise)."""
    row = session.get(WebhookSubscription, subscription_id)
    if row is None or row.deleted_at is not None:
        raise NotFoundError(f"webhook {subscription_id} does not exist (or was deleted)")
    _require_manage(caller, Subscriber.parse(row.subscriber), action)
    return row


def delete(session: Session, caller: Caller, subscription_id: int) -> int:
    """Delete a subscription; its pending deliveries are cancelled. Returns how many were."""
    row = get(session, caller, subscription_id, "delete a webhook")
    now = utcnow()
    row.deleted_at = now
    pending = list(
        session.scalars(
            select(WebhookDelivery).where(
                WebhookDelivery.subscription_id == row.id, WebhookDelivery.status == "pending"
            )
        )
    )
    for delivery in pending:
        delivery.status = "cancelled"
        delivery.next_attempt_at = None
    _audit.record(
        session,
        principal=caller.name,
        action="webhook.deleted",
        target=str(row.id),
        before={"subscriber": row.subscriber, "url": row.url, "events": row.events},
        after={"cancelled_deliveries": len(pending)},
    )
    return len(pending)
