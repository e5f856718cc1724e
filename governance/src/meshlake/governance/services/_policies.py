"""Policy decisions in the service: the publication decision on a staged version, the decision API,
and the decision log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meshlake.governance.api._models import DecisionIn
from meshlake.governance.db._tables import PolicyDecision, Product
from meshlake.governance.policies import Decision, PolicySettings, default_engine
from meshlake.governance.policies._inputs import port_input
from meshlake.governance.services import _audit
from meshlake.governance.services._access import Caller
from meshlake.governance.services._catalog import get_product
from meshlake.governance.services._staged import registered_contract, resolve_inputs, staged_reasons


def decide_publication(
    session: Session, caller: Caller, domain_name: str, name: str, body: DecisionIn
) -> tuple[Decision, PolicyDecision]:
    """The publication decision on a staged version of a product (nothing committed yet).

    Judged from the catalog only: the staged facts against the registered contracts and the
    published versions (:mod:`._staged`), the declared inputs resolved through the catalog, then
    the publication policies. Logged with the staged facts; a denial is audited as refused. In
    ``warn`` mode (MESHLAKE_POLICY_GATE) a denied version may still be committed: the decision
    says so (``commit``) and its denials travel with the recorded version.
    """
    caller.require_domain_writer(domain_name, f"publish products of domain {domain_name!r}")
    product = get_product(session, domain_name, name)
    checks = staged_reasons(session, product, body)
    resolved = resolve_inputs(session, product)
    document = catalog_publication_input(session, product, resolved.inputs)
    judged = default_engine().evaluate("publication", document)
    decision = Decision("publication", checks + resolved.denials + judged.reasons)
    gate = PolicySettings().policy_gate
    commit = decision.allowed or gate == "warn"
    row = record(session, caller, decision, document, product.ref)
    row.run_id, row.gate, row.commit_allowed = body.run_id, gate, commit
    row.staged = body.model_dump(mode="json", by_alias=True)
    session.flush()
    denials = decision.denials
    reason = None
    if denials:
        more = f" (and {len(denials) - 1} more)" if len(denials) > 1 else ""
        reason = f"{denials[0].policy}: {denials[0].message}{more}"
    _audit.record(
        session,
        principal=caller.name,
        action="product.publication_decided",
        target=product.ref,
        outcome="ok" if decision.allowed else "refused",
        reason=reason,
        after={"decision": row.id, "run_id": body.run_id, "gate": gate, "commit": commit},
    )
    return decision, row


def catalog_publication_input(
    session: Session, product: Product, inputs: list[dict[str, Any]]
) -> dict[str, Any]:
    """The publication input of a registered product: its contracts as registered, and ``inputs``,
    its declared inputs as the catalog resolves them (never what a client's lineage says)."""
    ports = []
    for dataset in product.datasets:
        contract = registered_contract(session, dataset)
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
            "inputs": inputs,
            "ports": ports,
        }
    }


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
