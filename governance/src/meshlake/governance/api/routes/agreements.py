"""Sharing agreements: request, decide, counter-offer, revoke, renew, and what they cover."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from meshlake.governance.api._agreement_models import (
    AGREEMENT_NAME,
    PORT_REF,
    AgreementEventOut,
    AgreementIn,
    AgreementOut,
    CounterOfferIn,
    CoverageOut,
    RenewIn,
    State,
    TransitionIn,
)
from meshlake.governance.api.deps import CallerDep, SessionDep, TodayDep
from meshlake.governance.db._tables import Agreement
from meshlake.governance.services import _agreements

router = APIRouter(prefix="/api/v1/agreements", tags=["agreements"])

NamePath = Annotated[str, Path(pattern=AGREEMENT_NAME)]
PRODUCT_REF = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"


def _out(agreement: Agreement) -> AgreementOut:
    return AgreementOut.model_validate(_agreements.as_out(agreement))


@router.post("", status_code=201, summary="Request access to output ports of another domain")
def request_agreement(
    body: AgreementIn, session: SessionDep, caller: CallerDep, today: TodayDep
) -> AgreementOut:
    """Recorded as ``requested`` with the sharing policies' decision; a request they deny is kept
    (so the provider can counter-offer) but cannot be approved as it is."""
    return _out(_agreements.request(session, caller, body, today))


@router.get("", summary="The agreements the caller may see (its own; all for an admin)")
def list_agreements(
    session: SessionDep,
    caller: CallerDep,
    today: TodayDep,
    state: State | None = None,
    port: Annotated[str | None, Query(pattern=PORT_REF, max_length=302)] = None,
    consumer: Annotated[str | None, Query(min_length=1, max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AgreementOut]:
    found = _agreements.visible(
        session, caller, today, state=state, port=port, consumer=consumer, limit=limit
    )
    return [_out(agreement) for agreement in found]


@router.get(
    "/coverage",
    summary="The active agreement under which a product reads a port, and what it may read",
    responses={404: {"description": "No active agreement covers the read; the detail says why."}},
)
def agreement_coverage(
    session: SessionDep,
    caller: CallerDep,
    today: TodayDep,
    consumer: Annotated[str, Query(pattern=PRODUCT_REF, max_length=201)],
    port: Annotated[str, Query(pattern=PORT_REF, max_length=302)],
) -> CoverageOut:
    _, covered = _agreements.coverage(session, caller, consumer, port, today)
    return CoverageOut.model_validate(covered)


@router.get("/{name}", summary="One agreement")
def get_agreement(
    name: NamePath, session: SessionDep, caller: CallerDep, today: TodayDep
) -> AgreementOut:
    return _out(_agreements.get(session, caller, name, today))


@router.get("/{name}/events", summary="Every transition of an agreement, oldest first")
def agreement_events(
    name: NamePath, session: SessionDep, caller: CallerDep
) -> list[AgreementEventOut]:
    return [
        AgreementEventOut.model_validate(event, from_attributes=True)
        for event in _agreements.events(session, caller, name)
    ]


@router.post("/{name}/approve", summary="The providing domain's owner approves a request")
def approve_agreement(
    name: NamePath, body: TransitionIn, session: SessionDep, caller: CallerDep, today: TodayDep
) -> AgreementOut:
    return _out(_agreements.approve(session, caller, name, today, body.reason))


@router.post("/{name}/reject", summary="Reject a request (provider) or a counter-offer")
def reject_agreement(
    name: NamePath, body: TransitionIn, session: SessionDep, caller: CallerDep, today: TodayDep
) -> AgreementOut:
    return _out(_agreements.reject(session, caller, name, today, body.reason))


@router.post("/{name}/counter-offer", summary="The provider's owner proposes other terms")
def counter_offer(
    name: NamePath, body: CounterOfferIn, session: SessionDep, caller: CallerDep, today: TodayDep
) -> AgreementOut:
    return _out(_agreements.counter(session, caller, name, body, today))


@router.post("/{name}/accept", summary="The consumer accepts the provider's counter-offer")
def accept_offer(
    name: NamePath, body: TransitionIn, session: SessionDep, caller: CallerDep, today: TodayDep
) -> AgreementOut:
    return _out(_agreements.accept(session, caller, name, today, body.reason))


@router.post("/{name}/revoke", summary="Revoke (provider) or withdraw (consumer) an agreement")
def revoke_agreement(
    name: NamePath, body: TransitionIn, session: SessionDep, caller: CallerDep, today: TodayDep
) -> AgreementOut:
    return _out(_agreements.revoke(session, caller, name, today, body.reason))


@router.post("/{name}/renew", summary="The provider's owner renews an agreement until a new end")
def renew_agreement(
    name: NamePath, body: RenewIn, session: SessionDep, caller: CallerDep, today: TodayDep
) -> AgreementOut:
    return _out(_agreements.renew(session, caller, name, body.end, today, body.reason))
