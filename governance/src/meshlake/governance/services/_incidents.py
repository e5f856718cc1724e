"""Agreements' SLAs measured, kept as evidence, and breaches turned into incidents.

An evaluation measures every port of every active agreement against the agreement's terms (its
contract's ``slaProperties``, tightened by the agreement) with the SLA engine (``._sla``: Delta logs
read with delta-rs, cached by version), and stores one ``sla_evaluations`` row per agreement and
port: the evidence history, from which availability is also measured.

A port that is down (an evaluation misses freshness, completeness, quality or retention) opens an
incident for its provider, announced to both sides through the webhook outbox (one open incident per
port at a time, naming the agreements affected and the evidence) and tells both sides. The
incident resolves itself at the first evaluation where the port is up again for every agreement on
it. Availability (the share of the period the port was up) is measured and kept with the evidence,
but opens no incident of its own: it is the incidents' own record, and would keep one open long
after the port is back.

- time to detect: from the last evaluation that found the SLA met (the breach began after it)
  to the opening; unknown when the SLA was never seen met.
- time to resolve: from the opening to the evaluation that found the SLA met again.

Evaluations run on demand (API, ``meshlake sla status --evaluate``, the Dagster asset checks),
after each version a port publishes, and on the service's schedule.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meshlake.governance._errors import ForbiddenError, GovernanceError, NotFoundError
from meshlake.governance.db._tables import (
    Agreement,
    AgreementPort,
    Dataset,
    Incident,
    SlaEvaluation,
)
from meshlake.governance.services import _agreements, _audit
from meshlake.governance.services._access import Caller
from meshlake.governance.services._sla import (
    Evaluation,
    Evidence,
    SlaTerms,
    contract_terms,
    evaluate_many,
    port_facts,
)
from meshlake.governance.services._webhooks import notify

log = logging.getLogger(__name__)


def evaluate(
    session: Session,
    now: datetime,
    agreements: Iterable[Agreement] | None = None,
    port: str | None = None,
) -> list[SlaEvaluation]:
    """Measure the active ``agreements`` (all, or those on ``port``) now; store the evidence and
    open or resolve the incidents of the ports measured."""
    if agreements is None:
        query = select(Agreement).where(Agreement.state.in_(_agreements.LIVE))
        if port is not None:
            query = query.join(AgreementPort).where(AgreementPort.port == port)
        agreements = session.scalars(query)
    items: list[tuple[Agreement, Dataset, SlaTerms]] = []
    datasets: dict[str, Dataset | None] = {}
    for agreement in agreements:
        _agreements.advance(session, agreement, now.date())
        if agreement.state != "active":
            continue
        for covered in agreement.ports:
            if port is not None and covered.port != port:
                continue
            if covered.port not in datasets:
                datasets[covered.port] = session.scalar(
                    select(Dataset).where(Dataset.ref == covered.port)
                )
            dataset = datasets[covered.port]
            if dataset is None:
                continue
            terms = contract_terms(session, dataset).stricter(
                agreement.terms.get("sla", []), f"agreement {agreement.name}"
            )
            items.append((agreement, dataset, terms))
    facts = {ref: port_facts(session, dataset) for ref, dataset in datasets.items() if dataset}
    history = {
        index: _history(session, agreement, dataset.ref, now - terms.availability_period)
        for index, (agreement, dataset, terms) in enumerate(items)
    }
    measured = evaluate_many(
        [(facts[dataset.ref], terms) for _, dataset, terms in items], now, history
    )
    rows = []
    for (agreement, dataset, _), evaluation in zip(items, measured, strict=True):
        row = SlaEvaluation(
            agreement_id=agreement.id,
            port=dataset.ref,
            evaluated_at=now,
            delta_version=evaluation.delta_version,
            met=evaluation.met,
            results=[item.to_dict() for item in evaluation.results],
        )
        session.add(row)
        rows.append((agreement, dataset, row, evaluation))
    session.flush()
    _update_incidents(session, now, rows)
    return [row for _, _, row, _ in rows]


def evaluate_after_publication(session: Session, now: datetime, port: str) -> None:
    """Measure the agreements on ``port`` after a version was recorded. A failure to measure
    (a contract whose terms no longer parse) is logged: it never costs the record."""
    try:
        with session.begin_nested():
            evaluate(session, now, port=port)
    except GovernanceError as exc:
        log.warning("%s: the SLAs of its agreements were not measured: %s", port, exc)


def history(
    session: Session, caller: Caller, name: str, today: date, limit: int = 100
) -> tuple[Agreement, list[SlaEvaluation]]:
    """The SLA evidence of one agreement, newest first."""
    agreement = _agreements.get(session, caller, name, today)
    rows = session.scalars(
        select(SlaEvaluation)
        .where(SlaEvaluation.agreement_id == agreement.id)
        .order_by(SlaEvaluation.evaluated_at.desc(), SlaEvaluation.id.desc())
        .limit(limit)
    )
    return agreement, list(rows)


def incidents(
    session: Session,
    caller: Caller,
    *,
    state: str | None = None,
    port: str | None = None,
    limit: int = 100,
) -> list[Incident]:
    """The incidents ``caller`` may see: its domain's as provider, its agreements' as consumer."""
    query = select(Incident).order_by(Incident.id.desc())
    if state is not None:
        query = query.where(Incident.state == state)
    if port is not None:
        query = query.where(Incident.port == port)
    found = []
    for incident in session.scalars(query):
        if _may_see(session, caller, incident):
            found.append(incident)
        if len(found) >= limit:
            break
    return found


def incident(session: Session, caller: Caller, number: int) -> Incident:
    found = session.get(Incident, number)
    if found is None:
        raise NotFoundError(f"no incident {number}")
    if not _may_see(session, caller, found):
        raise ForbiddenError(
            f"{caller.name} may not read incident {number}: only the providing domain, the "
            "consumers of the agreements it affects and admins see it"
        )
    return found


def as_out(incident: Incident) -> dict[str, Any]:
    detect = (
        incident.opened_at - incident.breach_started_at
        if incident.breach_started_at is not None
        else None
    )
    resolve = incident.resolved_at - incident.opened_at if incident.resolved_at else None
    return {
        "id": incident.id,
        "port": incident.port,
        "provider_domain": incident.provider_domain,
        "state": incident.state,
        "breached": incident.breached,
        "agreements": incident.agreements,
        "evidence": incident.evidence,
        "breach_started_at": incident.breach_started_at,
        "opened_at": incident.opened_at,
        "resolved_at": incident.resolved_at,
        "time_to_detect_seconds": _seconds(detect),
        "time_to_resolve_seconds": _seconds(resolve),
    }


# -- helpers ------------------------------------------------------------------------------------


def _history(
    session: Session, agreement: Agreement, port: str, since: datetime
) -> list[Evaluation]:
    rows = session.scalars(
        select(SlaEvaluation)
        .where(
            SlaEvaluation.agreement_id == agreement.id,
            SlaEvaluation.port == port,
            SlaEvaluation.evaluated_at >= since,
        )
        .order_by(SlaEvaluation.evaluated_at)
    )
    return [_evaluation(row) for row in rows]


def _evaluation(row: SlaEvaluation) -> Evaluation:
    return Evaluation(
        ref=row.port,
        delta_version=row.delta_version,
        # SQLite keeps no offset: its times come back naive, and are UTC.
        observed_at=row.evaluated_at.replace(tzinfo=row.evaluated_at.tzinfo or UTC),
        results=tuple(Evidence.from_dict(item) for item in row.results),
    )


def _update_incidents(
    session: Session,
    now: datetime,
    rows: Sequence[tuple[Agreement, Dataset, SlaEvaluation, Evaluation]],
) -> None:
    """For each port measured: open (or update) its incident while any live agreement on it has
    its latest evaluation missed, resolve it once none has (an evaluation of one agreement does
    not clear another's breach)."""
    ports = {dataset.ref: dataset for _, dataset, _, _ in rows}
    for port, dataset in ports.items():
        open_incident = session.scalar(
            select(Incident).where(Incident.port == port, Incident.state == "open")
        )
        missed = _latest_misses(session, port)
        if missed:
            _open_or_update(session, now, port, dataset, missed, open_incident)
        elif open_incident is not None:
            _resolve(session, now, open_incident)


def _latest_misses(session: Session, port: str) -> list[tuple[Agreement, Evaluation]]:
    """The live agreements on ``port`` whose latest evaluation missed, with that evaluation."""
    live = session.scalars(
        select(Agreement)
        .join(AgreementPort)
        .where(AgreementPort.port == port, Agreement.state.in_(_agreements.LIVE))
    )
    missed = []
    for agreement in live:
        latest = session.scalar(
            select(SlaEvaluation)
            .where(SlaEvaluation.agreement_id == agreement.id, SlaEvaluation.port == port)
            .order_by(SlaEvaluation.evaluated_at.desc(), SlaEvaluation.id.desc())
            .limit(1)
        )
        if latest is not None and not _evaluation(latest).up:
            missed.append((agreement, _evaluation(latest)))
    return missed


def _open_or_update(
    session: Session,
    now: datetime,
    port: str,
    dataset: Dataset,
    missed: Sequence[tuple[Agreement, Evaluation]],
    incident: Incident | None,
) -> None:
    breached = sorted(
        {
            item.property
            for _, evaluation in missed
            for item in evaluation.missed
            if item.property != "availability"
        }
    )
    names = sorted({agreement.name for agreement, _ in missed})
    evidence = [
        {"agreement": agreement.name, **item.to_dict()}
        for agreement, evaluation in missed
        for item in evaluation.missed
    ]
    if incident is not None:
        incident.breached, incident.agreements, incident.evidence = breached, names, evidence
        return
    incident = Incident(
        port=port,
        provider_domain=dataset.product.domain.name,
        state="open",
        breached=breached,
        agreements=names,
        evidence=evidence,
        breach_started_at=_last_met(session, [agreement for agreement, _ in missed], port),
        opened_at=now,
    )
    session.add(incident)
    session.flush()
    _audit.record(
        session,
        principal="governance",
        action="incident.opened",
        target=port,
        after={"incident": incident.id, "breached": breached, "agreements": names},
    )
    notify(
        session,
        _parties(session, incident),
        "incident.opened",
        {"incident": incident.id, "port": port, "breached": breached, "agreements": names},
    )


def _resolve(session: Session, now: datetime, incident: Incident) -> None:
    incident.state, incident.resolved_at = "resolved", now
    _audit.record(
        session,
        principal="governance",
        action="incident.resolved",
        target=incident.port,
        after={"incident": incident.id},
    )
    notify(
        session,
        _parties(session, incident),
        "incident.resolved",
        {"incident": incident.id, "port": incident.port, "agreements": incident.agreements},
    )


def _last_met(session: Session, agreements: Sequence[Agreement], port: str) -> datetime | None:
    return session.scalar(
        select(SlaEvaluation.evaluated_at)
        .where(
            SlaEvaluation.agreement_id.in_([agreement.id for agreement in agreements]),
            SlaEvaluation.port == port,
            SlaEvaluation.met.is_(True),
        )
        .order_by(SlaEvaluation.evaluated_at.desc())
        .limit(1)
    )


def _parties(session: Session, incident: Incident) -> list[str]:
    """Both sides: the provider's domain and every side of the agreements affected."""
    found = {f"domain:{incident.provider_domain}"}
    for agreement in session.scalars(
        select(Agreement).where(Agreement.name.in_(incident.agreements))
    ):
        found.update(_agreements.parties(agreement))
    return sorted(found)


def _may_see(session: Session, caller: Caller, incident: Incident) -> bool:
    if caller.is_admin or caller.may_write_domain(incident.provider_domain):
        return True
    consumers = session.execute(
        select(Agreement.consumer_id, Agreement.consumer_domain).where(
            Agreement.name.in_(incident.agreements)
        )
    )
    return any(
        consumer == caller.name or (domain is not None and caller.may_write_domain(domain))
        for consumer, domain in consumers
    )


def _seconds(duration: timedelta | None) -> float | None:
    return None if duration is None else round(duration.total_seconds(), 3)
