"""Principals, tokens and the audit log (platform admin only)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from meshlake.governance.api._bounds import Instant
from meshlake.governance.api._models import AuditOut, PrincipalIn, TokenOut
from meshlake.governance.api.deps import CallerDep, SessionDep
from meshlake.governance.services import _access, _audit

router = APIRouter(tags=["access"])


@router.post(
    "/api/v1/principals",
    status_code=201,
    summary="Create a principal (or add grants) and issue a token",
)
def create_principal(body: PrincipalIn, session: SessionDep, caller: CallerDep) -> TokenOut:
    caller.require_admin("create principals")
    grants: list[tuple[str, str | None]] = [(grant.role, grant.scope) for grant in body.grants]
    principal = _access.ensure_principal(session, body.name, body.kind, grants)
    token = _access.issue_token(session, principal, body.token_description)
    _audit.record(
        session,
        principal=caller.name,
        action="principal.token_issued",
        target=body.name,
        after={
            "kind": body.kind,
            "grants": [grant.model_dump(exclude_none=True) for grant in body.grants],
        },
    )
    return TokenOut(principal=body.name, token=token)


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
