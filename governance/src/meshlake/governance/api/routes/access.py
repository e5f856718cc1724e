"""Principals, tokens and the audit log (platform admin only)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from meshlake.governance._errors import InvalidRequestError
from meshlake.governance.api._bounds import Instant
from meshlake.governance.api._models import AuditOut
from meshlake.governance.api._token_models import IssuedTokenOut, PrincipalOut, PrincipalTokenIn
from meshlake.governance.api.deps import CallerDep, SessionDep
from meshlake.governance.api.routes.tokens import MaxDaysDep
from meshlake.governance.db._tables import utcnow
from meshlake.governance.services import _access, _audit, _tokens

router = APIRouter(tags=["access"])


@router.post(
    "/api/v1/principals",
    status_code=201,
    summary="Create a principal (or add grants) and issue a token",
)
def create_principal(
    body: PrincipalTokenIn, session: SessionDep, caller: CallerDep, max_days: MaxDaysDep
) -> IssuedTokenOut:
    caller.require_admin("create principals")
    expires_at = _tokens.expiry(
        utcnow(),
        expires_at=body.expires_at,
        expires_in_days=body.expires_in_days,
        max_days=max_days,
    )
    grants: list[tuple[str, str | None]] = [(grant.role, grant.scope) for grant in body.grants]
    principal = _access.ensure_principal(session, body.name, body.kind, grants)
    row, token = _access.issue(session, principal, body.token_description, expires_at=expires_at)
    _audit.record(
        session,
        principal=caller.name,
        action="principal.token_issued",
        target=body.name,
        after={
            "kind": body.kind,
            "grants": [grant.model_dump(exclude_none=True) for grant in body.grants],
            "token": row.id,
            "expires_at": _access.stamp(expires_at),
        },
    )
    return IssuedTokenOut.of(body.name, row, token)


@router.get(
    "/api/v1/principals/{name}", summary="A principal and its grants (admin, or the principal)"
)
def get_principal(name: str, session: SessionDep, caller: CallerDep) -> PrincipalOut:
    return PrincipalOut.of(_access.read_principal(session, caller, name))


@router.delete(
    "/api/v1/principals/{name}/grants",
    summary="Remove one grant of a principal (admin); it applies from the principal's next request",
)
def remove_grant(
    name: str,
    session: SessionDep,
    caller: CallerDep,
    role: Annotated[
        Literal["admin", "domain_owner", "domain_member", "consumer", "zone_service"],
        Query(description="The role of the grant to remove."),
    ],
    domain: Annotated[
        str | None, Query(description="The domain of a domain_owner or domain_member grant.")
    ] = None,
    zone: Annotated[
        str | None, Query(description="The landing zone of a zone_service grant.")
    ] = None,
    scope: Annotated[
        str | None,
        Query(description="The grant's domain or zone, whichever its role has (instead of those)."),
    ] = None,
) -> PrincipalOut:
    if scope is not None:
        if domain is not None or zone is not None:
            raise InvalidRequestError("scope: give scope, or domain or zone, not both")
        domain, zone = (None, scope) if role == "zone_service" else (scope, None)
    principal, _ = _access.remove_grant(
        session, caller, name, role, _grant_scope(role, domain, zone)
    )
    return PrincipalOut.of(principal)


def _grant_scope(role: str, domain: str | None, zone: str | None) -> str | None:
    if role == "zone_service":
        if domain is not None:
            raise InvalidRequestError("domain: a zone_service grant is scoped by its zone")
        if zone is None:
            raise InvalidRequestError("zone: a zone_service grant needs its zone")
        return zone
    if zone is not None:
        raise InvalidRequestError(f"zone: only a zone_service grant has a zone, not {role}")
    if role in _access.DOMAIN_ROLES and domain is None:
        raise InvalidRequestError(f"domain: a {role} grant needs its domain")
    if role not in _access.DOMAIN_ROLES and domain is not None:
        raise InvalidRequestError(f"domain: a {role} grant has no domain")
    return domain


@router.get("/api/v1/audit", summary="The audit log, newest first")
def audit_log(
    session: SessionDep,
    caller: CallerDep,
    principal: str | None = None,
    action: str | None = None,
    since: Instant | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[AuditOut]:
    caller.require_admin("read the audit log")
    rows = _audit.entries(session, principal=principal, action=action, since=since, limit=limit)
    return [AuditOut.model_validate(row) for row in rows]
