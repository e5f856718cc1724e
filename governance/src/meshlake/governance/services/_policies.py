"""Policy decisions in the service: the publication gate, the decision API, and the decision log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meshlake.governance.db._tables import (
    ContractRevision,
    Dataset,
    LineageDataset,
    LineageIO,
    LineageJob,
    PolicyDecision,
    Product,
)
from meshlake.governance.policies import (
    Decision,
    PolicyDeniedError,
    PolicySettings,
    default_engine,
)
from meshlake.governance.policies._inputs import port_input
from meshlake.governance.services import _audit
from meshlake.governance.services._access import Caller
from meshlake.platform.specs import Contract


def check_publication(session: Session, caller: Caller, product: Product) -> list[dict[str, str]]:
    """Evaluate the publication policies on ``product`` as the catalog holds it.

    Returns the warnings to record with the new versions. A denial is logged in a transaction of
    its own (the request's is rolled back) and raised as PolicyDeniedError (403, audited).
    """
    document = catalog_publication_input(session, product)
    decision = default_engine().evaluate("publication", document)
    if decision.allowed or PolicySettings().policy_gate == "warn":
        record(session, caller, decision, document, product.ref)
        # In warn mode the denials travel with the version, marked as such.
        return [reason.as_dict() for reason in decision.reasons]
    with Session(bind=session.get_bind()) as separate, separate.begin():
        record(separate, caller, decision, document, product.ref)
    first = decision.denials[0]
    more = len(decision.denials) - 1
    raise PolicyDeniedError(
        f"policy {first.policy} denies publishing {product.ref}: {first.message}"
        + (
            f" (and {more} more denial{'s' if more > 1 else ''}: see GET /api/v1/policies/decisions)"
            if more
            else ""
        )
    )


def catalog_publication_input(session: Session, product: Product) -> dict[str, Any]:
    """The publication input of a registered product, from its contracts as registered.

    The catalog does not hold a product's input ports; ``inputs`` are the catalog's datasets that
    the lineage store saw the product's job read (its run's START event precedes the publication).
    Without recorded lineage they are empty, and residency and source alignment are left to
    ``meshlake review`` on the specs.
    """
    ports = []
    for dataset in product.datasets:
        revision = session.scalar(
            select(ContractRevision).where(
                ContractRevision.dataset_id == dataset.id,
                ContractRevision.version == dataset.contract_version,
            )
        )
        if revision is None:  # pragma: no cover - put_product always stores the revision
            continue
        contract = Contract.model_validate(revision.document)
        ports.append(port_input(dataset.name, contract, dataset.description))
    zone = product.domain.zone
    return {
        "product": {
            "ref": product.ref,
            "domain": product.domain.name,
            "name": product.name,
            "status": product.status,
            "tier": product.tier,
            "tags": list(product.tags),
            "description": product.description or "",
            "owners": list(product.owners),
            "zone": zone.name,
            "region": zone.region,
            "inputs": _recorded_inputs(session, product),
            "ports": ports,
        }
    }


def _recorded_inputs(session: Session, product: Product) -> list[dict[str, Any]]:
    read = session.scalars(
        select(LineageDataset.logical_name)
        .join(LineageIO, LineageIO.dataset_id == LineageDataset.id)
        .join(LineageJob, LineageJob.id == LineageIO.job_id)
        .where(
            LineageJob.name == product.ref,
            LineageIO.direction == "input",
            LineageDataset.logical_name.is_not(None),
        )
        .distinct()
    )
    inputs = []
    for logical_name in sorted(name for name in read if name):
        dataset = session.scalar(select(Dataset).where(Dataset.ref == logical_name))
        if dataset is None or dataset.product_id == product.id:
            continue
        source = dataset.product
        inputs.append(
            {
                "name": dataset.name,
                "contract_id": dataset.contract_id,
                "kind": "product",
                "domain": source.domain.name,
                "zone": source.domain.zone.name,
                "region": source.domain.zone.region,
            }
        )
    return inputs


def evaluate(
    session: Session,
    caller: Caller,
    decision_name: str,
    document: dict[str, Any],
    subject: str | None,
) -> tuple[Decision, PolicyDecision]:
    """Evaluate a decision for the decision API; logged and audited."""
    decision = default_engine().evaluate(decision_name, document)
    row = record(session, caller, decision, document, subject)
    _audit.record(
        session,
        principal=caller.name,
        action="policy.evaluated",
        target=subject or decision_name,
        after={"decision": decision_name, "allowed": decision.allowed, "id": row.id},
    )
    return decision, row


def record(
    session: Session,
    caller: Caller,
    decision: Decision,
    document: dict[str, Any],
    subject: str | None,
) -> PolicyDecision:
    row = PolicyDecision(
        decision=decision.decision,
        subject=subject,
        principal=caller.name,
        allowed=decision.allowed,
        reasons=[reason.as_dict() for reason in decision.reasons],
        input=document,
    )
    session.add(row)
    session.flush()
    return row


def decisions(
    session: Session,
    caller: Caller,
    *,
    decision: str | None = None,
    allowed: bool | None = None,
    subject: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[PolicyDecision]:
    """The decision log, newest first (platform admin only)."""
    caller.require_admin("read the policy decision log")
    query = select(PolicyDecision).order_by(PolicyDecision.id.desc()).limit(limit)
    if decision:
        query = query.where(PolicyDecision.decision == decision)
    if allowed is not None:
        query = query.where(PolicyDecision.allowed == allowed)
    if subject:
        query = query.where(PolicyDecision.subject == subject)
    if since:
        query = query.where(PolicyDecision.at >= since)
    return list(session.scalars(query))
