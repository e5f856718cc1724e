"""Token lifecycle: expiry, listing, rotation and revocation of bearer tokens.

The admin manages every token; a principal lists, rotates and revokes its own; nobody else. Every
change is audited here, so the API and the CLI record the same entries.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from meshlake.governance._errors import (
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
)
from meshlake.governance.db._tables import ApiToken, Principal, utcnow
from meshlake.governance.services import _audit
from meshlake.governance.services._access import Caller, as_utc, find_principal, issue, stamp

TokenStatus = Literal["active", "expired", "revoked"]
MAX_GRACE_SECONDS = 86_400
MAX_DAYS_SETTING = "MESHLAKE_TOKEN_MAX_DAYS"
# Token ids are INTEGER columns: 32 bits on PostgreSQL, which refuses a larger value in a query
# instead of finding nothing. The API takes any id up to 2**53 - 1; none past this one exists.
_LARGEST_ROW_ID = 2**31 - 1


def expiry(
    now: datetime,
    *,
    expires_at: datetime | None,
    expires_in_days: int | None,
    max_days: int,
    default: timedelta | None = None,
) -> datetime:
    """When a token issued at ``now`` expires: the time asked for, checked against ``max_days``.

    Without ``expires_at`` or ``expires_in_days`` the token lives ``default`` (capped at
    ``max_days``), or ``max_days`` without a default.
    """
    longest = timedelta(days=max_days)
    latest = now + longest
    if expires_at is not None and expires_in_days is not None:
        raise InvalidRequestError(
            "expires_at, expires_in_days: give one of them (or neither for the default), not both"
        )
    if expires_in_days is not None:
        if not 1 <= expires_in_days <= max_days:
            raise InvalidRequestError(
                f"expires_in_days: {expires_in_days} is not between 1 and {max_days}, the longest "
                f"token lifetime ({MAX_DAYS_SETTING})"
            )
        return now + timedelta(days=expires_in_days)
    if expires_at is not None:
        at = as_utc(expires_at)
        if at <= now:
            raise InvalidRequestError(
                f"expires_at: {stamp(at)} is not in the future; give a time after {stamp(now)}"
            )
        if at > latest:
            raise InvalidRequestError(
                f"expires_at: {stamp(at)} is more than {max_days} days away, the longest token "
                f"lifetime ({MAX_DAYS_SETTING}); give a time up to {stamp(latest)}"
            )
        return at
    return now + min(default or longest, longest)


def status(row: ApiToken, now: datetime) -> TokenStatus:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and as_utc(row.expires_at) <= now:
        return "expired"
    return "active"


def find_token(session: Session, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id) if 1 <= token_id <= _LARGEST_ROW_ID else None
    if row is None:
        raise NotFoundError(f"token {token_id} does not exist; list the tokens to find its id")
    return row


def _require_own(caller: Caller, row: ApiToken, action: str) -> None:
    if caller.is_admin or row.principal.name == caller.name:
        return
    raise ForbiddenError(
        f"{caller.name} may not {action} token {row.id}: a principal manages only its own "
        "tokens (the admin manages all)"
    )


def list_tokens(
    session: Session,
    caller: Caller,
    *,
    principal: str | None = None,
    active_only: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> list[ApiToken]:
    """Tokens in issue order: the admin's choice of principal (or all), a principal's own."""
    if not caller.is_admin:
        if principal is not None and principal != caller.name:
            raise ForbiddenError(
                f"{caller.name} may not list the tokens of {principal!r}: a principal lists only "
                "its own tokens (the admin lists all)"
            )
        principal = caller.name
    query = (
        select(ApiToken)
        .join(Principal, Principal.id == ApiToken.principal_id)
        .options(selectinload(ApiToken.principal), selectinload(ApiToken.replaced_by))
        .order_by(ApiToken.id)
        .limit(limit)
        .offset(offset)
    )
    if principal is not None:
        if caller.is_admin:
            find_principal(session, principal)
        query = query.where(Principal.name == principal)
    if active_only:
        now = utcnow()
        query = query.where(
            ApiToken.revoked_at.is_(None),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
        )
    return list(session.scalars(query))


def issue_for(
    session: Session,
    caller: Caller,
    principal: str,
    *,
    description: str | None,
    expires_at: datetime | None,
    expires_in_days: int | None,
    max_days: int,
) -> tuple[ApiToken, str]:
    """Another token for an existing principal (admin only): its row and its secret."""
    caller.require_admin("issue tokens")
    owner = find_principal(session, principal)
    ends = expiry(
        utcnow(), expires_at=expires_at, expires_in_days=expires_in_days, max_days=max_days
    )
    row, secret = issue(session, owner, description, expires_at=ends)
    _audit.record(
        session,
        principal=caller.name,
        action="token.issued",
        target=f"token {row.id}",
        after={"principal": principal, "token": row.id, "expires_at": stamp(ends)},
    )
    return row, secret


def rotate(
    session: Session,
    caller: Caller,
    token_id: int,
    *,
    expires_at: datetime | None,
    expires_in_days: int | None,
    grace_seconds: int,
    max_days: int,
) -> tuple[ApiToken, str, ApiToken]:
    """A new secret for the principal of token ``token_id``: (new row, secret, old row).

    The old token stops at once, or ``grace_seconds`` later so that running clients can switch.
    The new token lives as long as the old one did (capped at ``max_days``) unless told otherwise.
    """
    row = find_token(session, token_id)
    _require_own(caller, row, "rotate")
    if not 0 <= grace_seconds <= MAX_GRACE_SECONDS:
        raise InvalidRequestError(
            f"grace_seconds: {grace_seconds} is not between 0 and {MAX_GRACE_SECONDS} (a day)"
        )
    if row.revoked_at is not None:
        raise ConflictError(
            f"token {row.id} was revoked at {stamp(row.revoked_at)} and cannot be rotated; "
            "issue a new token instead"
        )
    if row.replaced_by is not None:
        raise ConflictError(
            f"token {row.id} was already rotated: token {row.replaced_by.id} replaced it; "
            "rotate that one"
        )
    now = utcnow()
    lifetime = (
        as_utc(row.expires_at) - as_utc(row.created_at) if row.expires_at is not None else None
    )
    ends = expiry(
        now,
        expires_at=expires_at,
        expires_in_days=expires_in_days,
        max_days=max_days,
        default=lifetime,
    )
    before = {"expires_at": stamp(row.expires_at) if row.expires_at else None}
    try:
        new, secret = issue(session, row.principal, row.description, expires_at=ends, replaces=row)
    except IntegrityError as exc:
        # Another rotation of this token committed first (replaces_id is unique). The session's
        # transaction is over: only plain values may be used here.
        raise ConflictError(
            f"token {token_id} was rotated by another request at the same time; list the tokens "
            "to find the one that replaced it"
        ) from exc
    if grace_seconds == 0:
        row.revoked_at = now
    else:
        stops = now + timedelta(seconds=grace_seconds)
        if row.expires_at is None or stops < as_utc(row.expires_at):
            row.expires_at = stops
    session.flush()
    _audit.record(
        session,
        principal=caller.name,
        action="token.rotated",
        target=f"token {row.id}",
        before=before,
        after={
            "principal": row.principal.name,
            "replaced_by": new.id,
            "expires_at": stamp(ends),
            "old_token_stops_at": stamp(row.revoked_at or row.expires_at),
        },
    )
    return new, secret, row


def revoke(session: Session, caller: Caller, token_id: int) -> ApiToken:
    """Revoke token ``token_id`` at once (its next request gets 401); revoking twice changes nothing."""
    row = find_token(session, token_id)
    _require_own(caller, row, "revoke")
    if row.revoked_at is not None:
        return row
    row.revoked_at = utcnow()
    session.flush()
    _audit.record(
        session,
        principal=caller.name,
        action="token.revoked",
        target=f"token {row.id}",
        after={"principal": row.principal.name, "revoked_at": stamp(row.revoked_at)},
    )
    return row
