"""Token lifecycle endpoints: issue, list, rotate, revoke (admin: all; a principal: its own)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, Request

from meshlake.governance._settings import GovernanceSettings
from meshlake.governance.api._bounds import MAX_INT
from meshlake.governance.api._token_models import (
    IssuedTokenOut,
    RotatedTokenOut,
    TokenInfoOut,
    TokenIssueIn,
    TokenRotateIn,
)
from meshlake.governance.api.deps import CallerDep, SessionDep
from meshlake.governance.db._tables import utcnow
from meshlake.governance.services import _tokens

router = APIRouter(prefix="/api/v1/tokens", tags=["access"])


def _max_days(request: Request) -> int:
    """The longest token lifetime: set on the app's state if the app carries it, else MESHLAKE_."""
    configured = getattr(request.app.state, "token_max_days", None)
    return int(configured) if configured else GovernanceSettings().token_max_days


MaxDaysDep = Annotated[int, Depends(_max_days)]
# The same bounds as every id the API takes (api/_bounds.py Id).
TokenId = Annotated[int, Path(ge=1, le=MAX_INT, description="The token's id, as issued or listed.")]


@router.get("", summary="List tokens (admin: all or one principal's; a principal: its own)")
def list_tokens(
    session: SessionDep,
    caller: CallerDep,
    principal: Annotated[str | None, Query(description="Only this principal's tokens.")] = None,
    active: Annotated[bool, Query(description="Only tokens neither revoked nor expired.")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[TokenInfoOut]:
    rows = _tokens.list_tokens(
        session, caller, principal=principal, active_only=active, limit=limit, offset=offset
    )
    now = utcnow()
    return [TokenInfoOut.of(row, now) for row in rows]


@router.post("", status_code=201, summary="Issue another token for an existing principal (admin)")
def issue_token(
    body: TokenIssueIn, session: SessionDep, caller: CallerDep, max_days: MaxDaysDep
) -> IssuedTokenOut:
    row, secret = _tokens.issue_for(
        session,
        caller,
        body.principal,
        description=body.description,
        expires_at=body.expires_at,
        expires_in_days=body.expires_in_days,
        max_days=max_days,
    )
    return IssuedTokenOut.of(body.principal, row, secret)


@router.post(
    "/{token_id}/rotate",
    status_code=201,
    summary="Replace a token by a new secret; the old one stops at once or after a grace period",
)
def rotate_token(
    token_id: TokenId,
    session: SessionDep,
    caller: CallerDep,
    max_days: MaxDaysDep,
    body: Annotated[TokenRotateIn | None, Body()] = None,
) -> RotatedTokenOut:
    asked = body or TokenRotateIn()
    new, secret, old = _tokens.rotate(
        session,
        caller,
        token_id,
        expires_at=asked.expires_at,
        expires_in_days=asked.expires_in_days,
        grace_seconds=asked.grace_seconds,
        max_days=max_days,
    )
    issued = IssuedTokenOut.of(old.principal.name, new, secret)
    return RotatedTokenOut(**issued.model_dump(), previous=TokenInfoOut.of(old, utcnow()))


@router.delete("/{token_id}", summary="Revoke a token: its next request gets 401")
def revoke_token(token_id: TokenId, session: SessionDep, caller: CallerDep) -> TokenInfoOut:
    row = _tokens.revoke(session, caller, token_id)
    return TokenInfoOut.of(row, utcnow())


@router.post("/{token_id}/revoke", summary="Revoke a token (the same as DELETE)")
def revoke_token_post(token_id: TokenId, session: SessionDep, caller: CallerDep) -> TokenInfoOut:
    return revoke_token(token_id, session, caller)
