"""Recipient tokens: the providing domain's owner hands an agreement's recipient its profile."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from meshlake.governance.api._agreement_models import AGREEMENT_NAME
from meshlake.governance.api._delta_sharing_models import ProfileOut, RecipientTokenOut
from meshlake.governance.api.deps import CallerDep, SessionDep, TodayDep
from meshlake.governance.api.routes.tokens import MaxDaysDep
from meshlake.governance.services._access import stamp
from meshlake.governance.services._delta_sharing import recipient_token

router = APIRouter(prefix="/api/v1/agreements", tags=["delta sharing"])


@router.post(
    "/{name}/recipient-token",
    status_code=201,
    summary="Issue the agreement's recipient a token, as a Delta Sharing profile (provider owner)",
)
def issue_recipient_token(
    request: Request,
    name: Annotated[str, Path(pattern=AGREEMENT_NAME)],
    session: SessionDep,
    caller: CallerDep,
    today: TodayDep,
    max_days: MaxDaysDep,
) -> RecipientTokenOut:
    """Creates the recipient principal (the agreement's consumer id) if needed. The token expires
    at the end of the agreement's last day, or sooner if that is past the longest token lifetime;
    the secret is shown only here."""
    agreement, row, secret = recipient_token(session, caller, name, today, max_days=max_days)
    assert row.expires_at is not None
    profile = ProfileOut(
        endpoint=str(request.base_url).rstrip("/") + "/delta-sharing",
        bearerToken=secret,
        expirationTime=stamp(row.expires_at),
    )
    return RecipientTokenOut(
        agreement=agreement.name,
        recipient=agreement.consumer_id,
        token_id=row.id,
        expires_at=row.expires_at,
        profile=profile,
    )
