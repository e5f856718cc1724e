"""SLA evidence of agreements and the incidents their breaches open."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from meshlake.governance.api._agreement_models import (
    AGREEMENT_NAME,
    PORT_REF,
    IncidentOut,
    SlaEvaluationOut,
    SlaRunOut,
)
from meshlake.governance.api.deps import CallerDep, NowDep, SessionDep, TodayDep
from meshlake.governance.db._tables import SlaEvaluation
from meshlake.governance.services import _agreements, _incidents

router = APIRouter(tags=["sla"])

NamePath = Annotated[str, Path(pattern=AGREEMENT_NAME)]


def _evaluation(name: str, row: SlaEvaluation) -> SlaEvaluationOut:
    return SlaEvaluationOut(
        agreement=name,
        port=row.port,
        evaluated_at=row.evaluated_at,
        delta_version=row.delta_version,
        met=row.met,
        results=row.results,  # type: ignore[arg-type]
    )


def _run(rows: list[SlaEvaluation]) -> SlaRunOut:
    return SlaRunOut(
        evaluated=len(rows),
        missed=sum(not row.met for row in rows),
        evaluations=[_evaluation(row.agreement.name, row) for row in rows],
    )


@router.post(
    "/api/v1/agreements/{name}/sla/evaluate",
    summary="Measure an agreement's SLA now, keep the evidence, open or resolve incidents",
)
def evaluate_agreement(
    name: NamePath, session: SessionDep, caller: CallerDep, now: NowDep
) -> SlaRunOut:
    agreement = _agreements.get(session, caller, name, now.date())
    rows = _incidents.evaluate(session, now, [agreement])
    return _run(rows)


@router.get("/api/v1/agreements/{name}/sla", summary="An agreement's SLA evidence, newest first")
def agreement_sla(
    name: NamePath,
    session: SessionDep,
    caller: CallerDep,
    today: TodayDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[SlaEvaluationOut]:
    agreement, rows = _incidents.history(session, caller, name, today, limit)
    return [_evaluation(agreement.name, row) for row in rows]


@router.post(
    "/api/v1/sla/evaluate",
    summary="Measure the SLA of every active agreement (or those on one port) now (admin)",
)
def evaluate_all(
    session: SessionDep,
    caller: CallerDep,
    now: NowDep,
    port: Annotated[str | None, Query(pattern=PORT_REF, max_length=302)] = None,
) -> SlaRunOut:
    caller.require_admin("evaluate every agreement's SLA")
    rows = _incidents.evaluate(session, now, port=port)
    return _run(rows)


@router.get("/api/v1/incidents", summary="SLA incidents the caller may see, newest first")
def list_incidents(
    session: SessionDep,
    caller: CallerDep,
    state: Literal["open", "resolved"] | None = None,
    port: Annotated[str | None, Query(pattern=PORT_REF, max_length=302)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[IncidentOut]:
    found = _incidents.incidents(session, caller, state=state, port=port, limit=limit)
    return [IncidentOut.model_validate(_incidents.as_out(item)) for item in found]


@router.get("/api/v1/incidents/{number}", summary="One SLA incident with its evidence")
def get_incident(
    number: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep, caller: CallerDep
) -> IncidentOut:
    return IncidentOut.model_validate(
        _incidents.as_out(_incidents.incident(session, caller, number))
    )
