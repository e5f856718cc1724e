"""Sharing agreements: request, decide, counter-offer, revoke, renew, expire, and what they cover.

An agreement lets a consumer (a product of another domain, a person, a team or an external
recipient) use output ports of ONE providing domain, for a purpose, with columns, masks and a row
scope, between two dates. Its life:

    requested --approve--> approved --(start date)--> active --(end date)--> expired
        |  \\--counter--> countered --accept--> approved / active
        \\--reject--> rejected          approved / active --revoke--> revoked
                                        active / expired --renew--> active (a new period)

The data-use policies (Rego decision ``sharing``) judge every version of the terms, built from the
catalog (the ports' columns and classifications, the zones and regions of both sides), never from
what the requester claims about the ports. A request the policies deny is kept, with its reasons,
so a counter-offer can fix it; it cannot be approved as it is. Only the providing domain's owner
approves, rejects, counter-offers and renews. Dates move states when an agreement is next looked
at (``advance``): no scheduler needs to run for an expired agreement to stop a read. Every
transition is kept (``agreement_events``), audited, and announced to both sides through the
webhook outbox (``agreement.<state>``), in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from meshlake.governance._errors import (
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
)
from meshlake.governance.api._agreement_models import (
    AgreementIn,
    CounterOfferIn,
    PortTermsIn,
    SlaItemIn,
)
from meshlake.governance.db._tables import (
    Agreement,
    AgreementEvent,
    AgreementPort,
    Domain,
    Product,
    utcnow,
)
from meshlake.governance.services import _audit
from meshlake.governance.services._access import Caller
from meshlake.governance.services._sharing_decision import (
    dataset_of,
    decision_dict,
    domain_of,
    judge,
    ports_of,
    require_allowed,
)
from meshlake.governance.services._sla import contract_terms
from meshlake.governance.services._webhooks import notify

LIVE = ("approved", "active")
OPEN = ("requested", "countered")
CLOSED = ("revoked", "expired", "rejected")
CLOSED_HOOKS: list[Callable[[str], None]] = []
"""Called with an agreement's name when it closes: the Delta Sharing server deletes its snapshots
(registered by ``services/_delta_sharing``). Deleting is safe even if the transaction rolls back:
a snapshot is rebuilt on the next read."""
# -- reading ------------------------------------------------------------------------------------


def get(session: Session, caller: Caller, name: str, today: date) -> Agreement:
    agreement = _find(session, name)
    _require_party(caller, agreement, "read agreement")
    advance(session, agreement, today)
    return agreement


def visible(
    session: Session,
    caller: Caller,
    today: date,
    *,
    state: str | None = None,
    port: str | None = None,
    consumer: str | None = None,
    limit: int = 100,
) -> list[Agreement]:
    """The agreements ``caller`` may see (its own, its domains', all for an admin), oldest first."""
    query = select(Agreement).order_by(Agreement.id)
    if port is not None:
        query = query.join(AgreementPort).where(AgreementPort.port == port)
    if consumer is not None:
        query = query.where(Agreement.consumer_id == consumer)
    if not caller.is_admin:
        domains = sorted(_domains_of(caller))
        query = query.where(
            or_(
                Agreement.consumer_id == caller.name,
                Agreement.consumer_domain.in_(domains),
                Agreement.provider_domain.in_(domains),
            )
        )
    found = []
    for agreement in session.scalars(query):
        advance(session, agreement, today)
        if state is None or agreement.state == state:
            found.append(agreement)
        if len(found) >= limit:
            break
    return found


def events(session: Session, caller: Caller, name: str) -> list[AgreementEvent]:
    agreement = _find(session, name)
    _require_party(caller, agreement, "read the history of agreement")
    return list(agreement.events)


def coverage(
    session: Session, caller: Caller, consumer: str, port: str, today: date
) -> tuple[Agreement, dict[str, Any]]:
    """The active agreement under which product ``consumer`` reads ``port``, with what it may
    read; NotFoundError naming what is missing (and why a known agreement does not cover it)."""
    domain = consumer.split(".", 1)[0]
    if not caller.may_write_domain(domain):
        raise ForbiddenError(
            f"{caller.name} may not check the agreements of {consumer}: it reads for domain "
            f"{domain!r} only with a role in that domain or the zone hosting it"
        )
    candidates = list(
        session.scalars(
            select(Agreement)
            .join(AgreementPort)
            .where(
                AgreementPort.port == port,
                Agreement.consumer_kind == "product",
                Agreement.consumer_id == consumer,
            )
            .order_by(Agreement.id.desc())
        )
    )
    for agreement in candidates:
        advance(session, agreement, today)
    active = [agreement for agreement in candidates if agreement.state == "active"]
    if not active:
        raise NotFoundError(_missing(consumer, port, candidates))
    agreement = active[0]
    terms = _port_terms(agreement, port)
    dataset = dataset_of(session, port)
    names = [column.name for column in dataset.columns]
    chosen = set(terms.columns) if terms.columns is not None else set(names)
    _audit.record(
        session,
        principal=caller.name,
        action="agreement.read_covered",
        target=port,
        after={"agreement": agreement.name, "consumer": consumer},
    )
    return agreement, {
        "agreement": agreement.name,
        "port": port,
        "columns": [name for name in names if name in chosen],
        "masked": [name for name in names if name in set(terms.masked) and name in chosen],
        "rows": terms.rows,
        "ends_on": agreement.ends_on,
    }


def _missing(consumer: str, port: str, candidates: Sequence[Agreement]) -> str:
    what = f"no active sharing agreement lets {consumer} read {port}"
    if not candidates:
        domain = consumer.split(".", 1)[0]
        return (
            f"{what}: declare one in domains/{domain}/agreements/ and register it with "
            f"'meshlake governance sync' (or 'meshlake sharing request'), then have "
            f"{port.split('.', 1)[0]}'s owner approve it"
        )
    latest = candidates[0]
    why = {
        "requested": "is awaiting the provider's approval",
        "countered": "has a counter-offer awaiting the consumer's answer",
        "approved": f"starts on {latest.starts_on.isoformat()}",
        "expired": f"expired on {latest.ends_on.isoformat()}; renew it",
        "revoked": "was revoked",
        "rejected": "was rejected",
    }[latest.state]
    return f"{what}: agreement {latest.name} {why}"


# -- changing -----------------------------------------------------------------------------------


def request(session: Session, caller: Caller, body: AgreementIn, today: date) -> Agreement:
    """Record a consumer's request, judged by the sharing policies (kept even when denied)."""
    consumer_domain = _consumer_domain(session, body)
    _require_consumer_side(caller, body.consumer.kind, body.consumer.id, consumer_domain)
    if session.scalar(select(Agreement.id).where(Agreement.name == body.name)) is not None:
        raise ConflictError(f"name: agreement {body.name!r} exists; choose another name")
    if body.end < body.start:
        raise InvalidRequestError(
            f"end: {body.end.isoformat()} is before start {body.start.isoformat()}"
        )
    provider = _provider_domain(session, body.ports, consumer_domain, body.consumer.kind)
    _check_sla(session, body.ports, body.sla)
    agreement = Agreement(
        name=body.name,
        consumer_kind=body.consumer.kind,
        consumer_id=body.consumer.id,
        consumer_domain=consumer_domain,
        provider_domain=provider,
        purpose=body.purpose,
        legal_basis=body.legal_basis,
        starts_on=body.start,
        ends_on=body.end,
        state="requested",
        terms=_terms(body.ports, body.sla),
        source=body.source,
        requested_by=caller.name,
        ports=[AgreementPort(port=terms.port) for terms in body.ports],
    )
    session.add(agreement)
    session.flush()
    decision = judge(session, caller, agreement, agreement.terms, today)
    agreement.decision = decision_dict(decision)
    _transition(session, caller, agreement, "requested", "request", decision_dict(decision))
    advance(session, agreement, today)
    return agreement


def approve(
    session: Session, caller: Caller, name: str, today: date, reason: str | None
) -> Agreement:
    agreement = _find(session, name)
    _require_provider_owner(session, caller, agreement, "approve")
    advance(session, agreement, today)
    _require_state(agreement, ("requested",), "approve")
    decision = judge(session, caller, agreement, agreement.terms, today)
    agreement.decision = decision_dict(decision)
    require_allowed(agreement, decision, "approved")
    _transition(
        session, caller, agreement, _granted(agreement, today), "approve", {"reason": reason}
    )
    return agreement


def reject(
    session: Session, caller: Caller, name: str, today: date, reason: str | None
) -> Agreement:
    """The provider's owner rejects a request or a counter-offer's answer; the consumer may
    decline a counter-offer."""
    agreement = _find(session, name)
    advance(session, agreement, today)
    _require_state(agreement, OPEN, "reject")
    if agreement.state == "requested" or not _is_consumer_side(caller, agreement):
        _require_provider_owner(session, caller, agreement, "reject")
    _transition(session, caller, agreement, "rejected", "reject", {"reason": reason})
    return agreement


def counter(
    session: Session, caller: Caller, name: str, body: CounterOfferIn, today: date
) -> Agreement:
    """The provider's owner proposes other terms; the consumer accepts or declines them."""
    agreement = _find(session, name)
    _require_provider_owner(session, caller, agreement, "counter-offer on")
    advance(session, agreement, today)
    _require_state(agreement, ("requested",), "counter-offer on")
    ports = body.ports if body.ports is not None else ports_of(agreement.terms)
    sla = body.sla if body.sla is not None else _sla_of(agreement.terms)
    if {terms.port for terms in ports} != {row.port for row in agreement.ports}:
        raise InvalidRequestError(
            "ports: a counter-offer changes the terms of the requested ports, not which ports "
            f"({', '.join(sorted(row.port for row in agreement.ports))}); reject and ask for a new "
            "request instead"
        )
    _provider_domain(session, ports, agreement.consumer_domain, agreement.consumer_kind)
    _check_sla(session, ports, sla)
    end = body.end or agreement.ends_on
    if end < agreement.starts_on:
        raise InvalidRequestError(
            f"end: {end.isoformat()} is before the start {agreement.starts_on.isoformat()}"
        )
    offer = {**_terms(ports, sla), "end": end.isoformat(), "reason": body.reason}
    decision = judge(session, caller, agreement, offer, today, end=end)
    require_allowed(agreement, decision, "offered")
    agreement.offer = offer
    _transition(session, caller, agreement, "countered", "counter", {"offer": offer})
    return agreement


def accept(
    session: Session, caller: Caller, name: str, today: date, reason: str | None
) -> Agreement:
    """The consumer takes the provider's counter-offer: its terms become the agreement's."""
    agreement = _find(session, name)
    if not _is_consumer_side(caller, agreement):
        raise ForbiddenError(
            f"{caller.name} may not accept the counter-offer on {name}: only its consumer's "
            f"side ({agreement.consumer_kind} {agreement.consumer_id}) answers it"
        )
    advance(session, agreement, today)
    _require_state(agreement, ("countered",), "accept")
    assert agreement.offer is not None
    offer = dict(agreement.offer)
    end = date.fromisoformat(offer.pop("end"))
    offer.pop("reason", None)
    decision = judge(session, caller, agreement, offer, today, end=end)
    require_allowed(agreement, decision, "accepted")
    agreement.terms, agreement.ends_on, agreement.offer = offer, end, None
    agreement.decision = decision_dict(decision)
    _transition(
        session, caller, agreement, _granted(agreement, today), "accept", {"reason": reason}
    )
    return agreement


def revoke(
    session: Session, caller: Caller, name: str, today: date, reason: str | None
) -> Agreement:
    """The provider's owner revokes; the consumer's side may withdraw. The next read stops."""
    agreement = _find(session, name)
    if not _is_consumer_side(caller, agreement):
        _require_provider_owner(session, caller, agreement, "revoke")
    advance(session, agreement, today)
    _require_state(agreement, (*LIVE, *OPEN), "revoke")
    _transition(session, caller, agreement, "revoked", "revoke", {"reason": reason})
    return agreement


def renew(
    session: Session, caller: Caller, name: str, end: date, today: date, reason: str | None
) -> Agreement:
    """A new period from today (or the current start, if later) to ``end``, judged again."""
    agreement = _find(session, name)
    _require_provider_owner(session, caller, agreement, "renew")
    advance(session, agreement, today)
    _require_state(agreement, ("approved", "active", "expired"), "renew")
    start = max(today, agreement.starts_on)
    if end < start:
        raise InvalidRequestError(f"end: {end.isoformat()} is before {start.isoformat()}")
    decision = judge(session, caller, agreement, agreement.terms, today, start=start, end=end)
    require_allowed(agreement, decision, "renewed")
    before = {"start": agreement.starts_on.isoformat(), "end": agreement.ends_on.isoformat()}
    agreement.starts_on, agreement.ends_on = start, end
    agreement.decision = decision_dict(decision)
    _transition(
        session,
        caller,
        agreement,
        _granted(agreement, today),
        "renew",
        {"before": before, "end": end.isoformat(), "reason": reason},
    )
    return agreement


def _granted(agreement: Agreement, today: date) -> str:
    """The state an agreement enters when granted: active from its start date, approved before."""
    return "active" if agreement.starts_on <= today else "approved"


def advance(session: Session, agreement: Agreement, today: date) -> None:
    """Move an agreement along its dates: approved -> active on its start, anything not closed
    -> expired after its end."""
    if agreement.state in (*LIVE, *OPEN) and today > agreement.ends_on:
        _transition(session, None, agreement, "expired", "expire", None)
    elif agreement.state == "approved" and today >= agreement.starts_on:
        _transition(session, None, agreement, "active", "activate", None)


# -- helpers ------------------------------------------------------------------------------------

_SYSTEM = "governance"


def _transition(
    session: Session,
    caller: Caller | None,
    agreement: Agreement,
    to: str,
    action: str,
    detail: dict[str, Any] | None,
) -> None:
    actor = caller.name if caller is not None else _SYSTEM
    before = None if action == "request" else agreement.state
    agreement.state = to
    agreement.updated_at = utcnow()
    if to in CLOSED:
        for hook in CLOSED_HOOKS:
            hook(agreement.name)
    agreement.events.append(
        AgreementEvent(actor=actor, action=action, from_state=before, to_state=to, detail=detail)
    )
    _audit.record(
        session,
        principal=actor,
        action=f"agreement.{action}",
        target=agreement.name,
        before={"state": before} if before else None,
        after={"state": to, **({"detail": detail} if detail else {})},
    )
    notify(
        session,
        parties(agreement),
        f"agreement.{to}",
        {"agreement": agreement.name, "from": before, "to": to, "by": actor, "detail": detail},
    )


def parties(agreement: Agreement) -> list[str]:
    """The webhook subscribers of both sides: the providing domain, the consumer's domain, and
    a person or external recipient itself."""
    found = [f"domain:{agreement.provider_domain}"]
    if agreement.consumer_domain is not None:
        found.append(f"domain:{agreement.consumer_domain}")
    if agreement.consumer_kind in ("person", "external"):
        found.append(f"principal:{agreement.consumer_id}")
    return found


def _find(session: Session, name: str) -> Agreement:
    agreement = session.scalar(select(Agreement).where(Agreement.name == name))
    if agreement is None:
        raise NotFoundError(f"no sharing agreement named {name!r}")
    return agreement


def _consumer_domain(session: Session, body: AgreementIn) -> str | None:
    consumer = body.consumer
    if consumer.kind == "product":
        product = session.scalar(select(Product).where(Product.ref == consumer.id))
        if product is None:
            raise InvalidRequestError(
                f"consumer.id: product {consumer.id!r} is not in the catalog; register it first "
                "(meshlake governance sync)"
            )
        if consumer.domain is not None and consumer.domain != product.domain.name:
            raise InvalidRequestError(
                f"consumer.domain: {consumer.domain!r} is not the domain of {consumer.id} "
                f"({product.domain.name!r}); leave it out for a product"
            )
        return product.domain.name
    if consumer.domain is not None:
        domain_of(session, consumer.domain, "consumer.domain")
        return consumer.domain
    if consumer.kind in ("team", "external"):
        raise InvalidRequestError(
            f"consumer.domain: a {consumer.kind} consumer needs the domain that sponsors it"
        )
    return None


def _provider_domain(
    session: Session, ports: Sequence[PortTermsIn], consumer_domain: str | None, kind: str
) -> str:
    """The one domain providing ``ports``; each port's columns, masks and row scope checked."""
    seen: set[str] = set()
    domains: set[str] = set()
    for index, terms in enumerate(ports):
        where = f"ports[{index}]"
        if terms.port in seen:
            raise InvalidRequestError(f"{where}.port: {terms.port} is named twice")
        seen.add(terms.port)
        dataset = dataset_of(session, terms.port)
        domains.add(dataset.product.domain.name)
        names = {column.name for column in dataset.columns}
        delivered = set(terms.columns) if terms.columns is not None else names
        for field, wanted in (
            ("columns", terms.columns or []),
            ("masked", terms.masked),
            ("rows", list(terms.rows)),
        ):
            unknown = sorted(set(wanted) - names)
            if unknown:
                raise InvalidRequestError(
                    f"{where}.{field}: {', '.join(unknown)} not a column of {terms.port} "
                    f"(it has {', '.join(sorted(names))})"
                )
        undelivered = sorted(set(terms.masked) - delivered)
        if undelivered:
            raise InvalidRequestError(
                f"{where}.masked: {', '.join(undelivered)} not among the columns delivered"
            )
    if len(domains) > 1:
        raise InvalidRequestError(
            f"ports: one agreement covers ports of one providing domain, not {sorted(domains)}; "
            "request one agreement per domain"
        )
    (provider,) = domains
    if kind == "product" and provider == consumer_domain:
        raise InvalidRequestError(
            f"ports: {provider} reads its own ports without an agreement; agreements are for "
            "other domains' consumers"
        )
    return provider


_SLA_PROPERTIES = ("latency", "frequency", "retention", "availability", "completeness")


def _check_sla(session: Session, ports: Sequence[PortTermsIn], items: Sequence[SlaItemIn]) -> None:
    """Each term a property the SLA engine measures, and no looser than any port's contract."""
    for index, item in enumerate(items):
        if item.property.lower() not in _SLA_PROPERTIES:
            raise InvalidRequestError(
                f"sla[{index}].property: {item.property!r} is not one of "
                f"{', '.join(_SLA_PROPERTIES)}"
            )
    overrides = [item.model_dump(exclude_none=True) for item in items]
    for terms in ports:
        contract_terms(session, dataset_of(session, terms.port)).stricter(
            overrides, f"sla (against {terms.port}'s contract)"
        )


def _terms(ports: Sequence[PortTermsIn], sla: Sequence[SlaItemIn]) -> dict[str, Any]:
    return {
        "ports": [terms.model_dump(mode="json") for terms in ports],
        "sla": [item.model_dump(mode="json", exclude_none=True) for item in sla],
    }


def _sla_of(terms: dict[str, Any]) -> list[SlaItemIn]:
    return [SlaItemIn.model_validate(item) for item in terms.get("sla", [])]


def _port_terms(agreement: Agreement, port: str) -> PortTermsIn:
    return next(terms for terms in ports_of(agreement.terms) if terms.port == port)


def _require_state(agreement: Agreement, states: Iterable[str], action: str) -> None:
    allowed = tuple(states)
    if agreement.state not in allowed:
        raise ConflictError(
            f"agreement {agreement.name} is {agreement.state}; only a {' or '.join(allowed)} "
            f"agreement can {action}"
        )


def _domains_of(caller: Caller) -> set[str]:
    return {scope for role, scope in caller.roles if scope and role != "zone_service"} | {
        domain for _, domain in caller.hosted
    }


def _is_consumer_side(caller: Caller, agreement: Agreement) -> bool:
    if caller.is_admin or caller.name == agreement.consumer_id:
        return True
    return agreement.consumer_domain is not None and caller.may_write_domain(
        agreement.consumer_domain
    )


def _require_consumer_side(
    caller: Caller, kind: str, consumer_id: str, consumer_domain: str | None
) -> None:
    if caller.is_admin or (kind in ("person", "external") and caller.name == consumer_id):
        return
    if consumer_domain is not None and caller.may_write_domain(consumer_domain):
        return
    raise ForbiddenError(
        f"{caller.name} may not request an agreement for {kind} {consumer_id}: it needs a role in "
        f"the consumer's domain ({consumer_domain or 'none given'}), or to be that consumer"
    )


def _require_party(caller: Caller, agreement: Agreement, action: str) -> None:
    if _is_consumer_side(caller, agreement) or caller.may_write_domain(agreement.provider_domain):
        return
    raise ForbiddenError(
        f"{caller.name} may not {action} {agreement.name}: only its consumer, the domains on "
        "either side and admins see it"
    )


def _require_provider_owner(
    session: Session, caller: Caller, agreement: Agreement, action: str
) -> None:
    """Only the providing domain's owner (a domain_owner grant, or an owner the domain's spec
    names) decides on its data; admins may too."""
    provider = agreement.provider_domain
    if caller.is_admin or ("domain_owner", provider) in caller.roles:
        return
    domain = session.scalar(select(Domain).where(Domain.name == provider))
    if domain is not None and caller.name in (domain.owners or []):
        return
    raise ForbiddenError(
        f"{caller.name} may not {action} agreement {agreement.name}: only the owner of the "
        f"providing domain {provider!r} (domain_owner:{provider}) or an admin may"
    )


def as_out(agreement: Agreement) -> dict[str, Any]:
    """The response shape of one agreement (AgreementOut)."""
    return {
        "name": agreement.name,
        "state": agreement.state,
        "consumer": {
            "kind": agreement.consumer_kind,
            "id": agreement.consumer_id,
            "domain": agreement.consumer_domain,
        },
        "provider_domain": agreement.provider_domain,
        "purpose": agreement.purpose,
        "legal_basis": agreement.legal_basis,
        "start": agreement.starts_on,
        "end": agreement.ends_on,
        "ports": agreement.terms.get("ports", []),
        "sla": agreement.terms.get("sla", []),
        "offer": agreement.offer,
        "decision": agreement.decision,
        "source": agreement.source,
        "requested_by": agreement.requested_by,
        "created_at": agreement.created_at,
        "updated_at": agreement.updated_at,
    }
