"""Recipient tokens: the bearer token in a recipient's profile file.

A recipient is the principal named as an agreement's consumer (a person, team or external
recipient); it needs no role, only a token, since the share itself is the grant. Its token expires
no later than the agreement's last day and within the longest token lifetime. When the agreement is
revoked the token still authenticates, so its share answers 403 with the reason (not 401).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from meshlake.governance._errors import ConflictError, InvalidRequestError
from meshlake.governance.db._tables import Agreement, ApiToken, Principal, utcnow
from meshlake.governance.services import _audit
from meshlake.governance.services._access import Caller, issue, stamp
from meshlake.governance.services._agreements import (
    _find,
    _require_provider_owner,
    advance,
)
from meshlake.governance.services._delta_sharing._names import RECIPIENT_KINDS
from meshlake.governance.services._tokens import MAX_DAYS_SETTING

_PRINCIPAL_NAME_LENGTH = 200


def recipient_token(
    session: Session, caller: Caller, name: str, today: date, *, max_days: int
) -> tuple[Agreement, ApiToken, str]:
    """A new token for agreement ``name``'s recipient (created if needed): (agreement, row,
    secret). Only the providing domain's owner or an admin hands one out."""
    agreement = _find(session, name)
    _require_provider_owner(session, caller, agreement, "hand out a recipient token for")
    advance(session, agreement, today)
    if agreement.consumer_kind not in RECIPIENT_KINDS:
        raise InvalidRequestError(
            f"agreement {name}: its consumer is a {agreement.consumer_kind}, which reads through "
            "its domain's tokens; recipient tokens are for person, team and external consumers"
        )
    if agreement.state not in ("approved", "active"):
        raise ConflictError(
            f"agreement {name} is {agreement.state}; a recipient token is handed out only for an "
            "approved or active agreement"
        )
    if len(agreement.consumer_id) > _PRINCIPAL_NAME_LENGTH:
        raise InvalidRequestError(
            f"consumer.id: {agreement.consumer_id[:40]}... is longer than "
            f"{_PRINCIPAL_NAME_LENGTH} characters, the longest principal name"
        )
    principal = session.scalar(select(Principal).where(Principal.name == agreement.consumer_id))
    created = principal is None
    if principal is None:
        kind = "person" if agreement.consumer_kind == "person" else "service"
        principal = Principal(name=agreement.consumer_id, kind=kind)
        session.add(principal)
        session.flush()
    now = utcnow()
    last_day_ends = datetime.combine(agreement.ends_on + timedelta(days=1), time(), tzinfo=UTC)
    expires = min(last_day_ends, now + timedelta(days=max_days))
    if expires <= now:
        raise ConflictError(f"agreement {name} ended on {agreement.ends_on}; renew it first")
    row, secret = issue(
        session, principal, f"Delta Sharing recipient of {name}", expires_at=expires
    )
    _audit.record(
        session,
        principal=caller.name,
        action="sharing.recipient_token",
        target=name,
        after={
            "recipient": principal.name,
            "principal_created": created,
            "token": row.id,
            "expires_at": stamp(expires),
            "capped_by": "agreement end" if expires == last_day_ends else MAX_DAYS_SETTING,
        },
    )
    return agreement, row, secret
