"""Policy decisions in the service: the publication decision on a staged version, the sharing
decision, the decision API, and the decision log.

Each subject is judged by the policies of its landing zone (``policies:`` in the zone file, as
registered; all when it declares none), and each logged decision names those policies and the
version of their bundle."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meshlake.governance._errors import NotFoundError
from meshlake.governance.api._models import DecisionIn
from meshlake.governance.db._tables import PolicyDecision, Product, Zone
from meshlake.governance.policies import (
    Decision,
    PolicyEngine,
    PolicySettings,
    Reason,
    UnknownPolicyError,
    default_engine,
    merge_decisions,
    select_policies,
)
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
    engine = default_engine()
    selected, faults = zone_policies(engine, product.domain.zone)
    judged = engine.evaluate("publication", document, policies=selected)
    decision = Decision(
        "publication",
        checks + resolved.denials + faults + judged.reasons,
        policies=judged.policies,
        bundle=judged.bundle,
    )
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


def zone_policies(engine: PolicyEngine, zone: Zone | None) -> tuple[list[str], list[Reason]]:
    """The policies that judge a subject of ``zone`` (those its file declares; all without a zone
    or a declaration), with a denial when it names one the loaded folder does not have: the
    folder changed since the zone was registered, and judging with fewer rules than the zone
    asked for would fail open. Then every policy judges, beside the denial."""
    known = engine.known_policies
    if zone is None:
        return known, []
    try:
        return select_policies(zone.policies, known), []
    except UnknownPolicyError as exc:
        message = (
            f"landing zone {zone.name!r} declares {exc}; fix the zone file and run meshlake zones "
            "apply, or restore the policy"
        )
        return known, [Reason("zone_policies", "deny", message)]


def decide_sharing(session: Session, document: dict[str, Any]) -> Decision:
    """The sharing decision, each port judged by the policies of its provider's zone.

    The ports are grouped by their zone and each group is evaluated with the agreement and its
    own ports only, so a policy one zone declares never judges another zone's data; the reasons
    are merged (each once)."""
    engine = default_engine()
    groups: dict[str, list[dict[str, Any]]] = {}
    for port in document.get("ports", []):
        groups.setdefault(str(port.get("zone")), []).append(port)
    if not groups:
        return engine.evaluate("sharing", document)
    parts = []
    for zone_name, ports in sorted(groups.items()):
        zone = session.scalar(select(Zone).where(Zone.name == zone_name))
        selected, faults = zone_policies(engine, zone)
        part = engine.evaluate("sharing", {**document, "ports": ports}, policies=selected)
        parts.append(Decision("sharing", faults, policies=part.policies, bundle=part.bundle))
        parts.append(part)
    return merge_decisions("sharing", parts)


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
    zone: str | None = None,
) -> tuple[Decision, PolicyDecision]:
    """Evaluate a decision for the decision API, by the policies ``zone`` declares (all without
    one); logged and audited."""
    engine = default_engine()
    selected, faults = zone_policies(engine, _zone(session, zone) if zone is not None else None)
    judged = engine.evaluate(decision_name, document, policies=selected)
    decision = Decision(
        decision_name, faults + judged.reasons, policies=judged.policies, bundle=judged.bundle
    )
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
        policies=decision.policies,
        bundle=decision.bundle,
    )
    session.add(row)
    session.flush()
    return row


def _zone(session: Session, name: str) -> Zone:
    zone = session.scalar(select(Zone).where(Zone.name == name))
    if zone is None:
        raise NotFoundError(f"zone: no landing zone {name!r} in the catalog")
    return zone


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
