"""The Rego decision ``sharing`` on an agreement's terms, its input built from the catalog.

Governance judges every version of an agreement's terms (a request, a counter-offer, an approval,
a renewal) from what it holds itself: each port's columns with their registered classification and
how the terms deliver them (plain, masked, omitted), and the zones and regions of both sides;
never from what the requester says about the ports.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meshlake.governance._errors import ConflictError, InvalidRequestError
from meshlake.governance.api._agreement_models import PortTermsIn
from meshlake.governance.db._tables import Agreement, Dataset, Domain
from meshlake.governance.policies import Decision
from meshlake.governance.services import _policies
from meshlake.governance.services._access import Caller


def sharing_input(
    session: Session,
    agreement: Agreement,
    terms: dict[str, Any],
    today: date,
    start: date | None = None,
    end: date | None = None,
) -> dict[str, Any]:
    """The sharing decision's input, built from the catalog: each port's columns with their
    registered classification and how they would be delivered; both sides' zones and regions."""
    start = start or agreement.starts_on
    end = end or agreement.ends_on
    zone = region = None
    if agreement.consumer_domain is not None and agreement.consumer_kind != "external":
        domain = domain_of(session, agreement.consumer_domain, "consumer.domain")
        zone, region = domain.zone.name, domain.zone.region
    ports = []
    for item in ports_of(terms):
        dataset = dataset_of(session, item.port)
        provider = dataset.product.domain
        delivered = set(item.columns) if item.columns is not None else None
        columns = [
            {
                "name": column.name,
                "classification": column.classification,
                "delivery": (
                    "omitted"
                    if delivered is not None and column.name not in delivered
                    else "masked"
                    if column.name in item.masked
                    else "plain"
                ),
            }
            for column in dataset.columns
        ]
        ports.append(
            {
                "ref": item.port,
                "domain": provider.name,
                "zone": provider.zone.name,
                "region": provider.zone.region,
                "columns": columns,
            }
        )
    return {
        "agreement": {
            "name": agreement.name,
            "purpose": agreement.purpose,
            "legal_basis": agreement.legal_basis,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "days": max((end - start).days, 0),
            "consumer": {
                "kind": agreement.consumer_kind,
                "id": agreement.consumer_id,
                "domain": agreement.consumer_domain,
                "zone": zone,
                "region": region,
            },
        },
        "ports": ports,
        "today": today.isoformat(),
    }


def judge(
    session: Session,
    caller: Caller,
    agreement: Agreement,
    terms: dict[str, Any],
    today: date,
    start: date | None = None,
    end: date | None = None,
) -> Decision:
    document = sharing_input(session, agreement, terms, today, start, end)
    decision = _policies.decide_sharing(session, document)
    _policies.record(session, caller, decision, document, agreement.name)
    return decision


def decision_dict(decision: Decision) -> dict[str, Any]:
    return {
        "allowed": decision.allowed,
        "reasons": [reason.as_dict() for reason in decision.reasons],
    }


def require_allowed(agreement: Agreement, decision: Decision, what: str) -> None:
    if decision.allowed:
        return
    messages = "; ".join(f"{reason.policy}: {reason.message}" for reason in decision.denials)
    raise ConflictError(
        f"agreement {agreement.name} cannot be {what}: the sharing policies deny it ({messages}); "
        "counter-offer terms they allow (mask or leave out columns, shorten it)"
    )


def dataset_of(session: Session, port: str) -> Dataset:
    dataset = session.scalar(select(Dataset).where(Dataset.ref == port))
    if dataset is None:
        raise InvalidRequestError(
            f"ports: {port} is not an output port in the catalog; register the providing product "
            "first (meshlake governance sync)"
        )
    return dataset


def domain_of(session: Session, name: str, field: str) -> Domain:
    domain = session.scalar(select(Domain).where(Domain.name == name))
    if domain is None:
        raise InvalidRequestError(f"{field}: no domain {name!r} in the catalog")
    return domain


def ports_of(terms: dict[str, Any]) -> list[PortTermsIn]:
    return [PortTermsIn.model_validate(item) for item in terms.get("ports", [])]
