"""Policy endpoints: evaluate a decision, read the decision log, list policies and input schemas."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from meshlake.governance._errors import NotFoundError
from meshlake.governance.api._bounds import Instant
from meshlake.governance.api._policy_models import (
    DecisionOut,
    EvaluationIn,
    EvaluationOut,
    PolicySetOut,
    ReasonOut,
)
from meshlake.governance.api.deps import CallerDep, SessionDep
from meshlake.governance.policies import default_engine
from meshlake.governance.services import _policies

router = APIRouter(prefix="/api/v1/policies", tags=["policies"])


@router.post(
    "/evaluate",
    summary="Evaluate a decision (publication, review, access): allowed or not, with the reasons",
)
def evaluate(body: EvaluationIn, session: SessionDep, caller: CallerDep) -> EvaluationOut:
    decision, row = _policies.evaluate(
        session, caller, body.decision, body.input, body.subject, body.zone
    )
    return EvaluationOut(
        id=row.id,
        decision=decision.decision,
        allowed=decision.allowed,
        reasons=[
            ReasonOut(policy=reason.policy, severity=reason.severity, message=reason.message)
            for reason in decision.reasons
        ],
        policies=decision.policies,
        bundle=decision.bundle,
    )


@router.get("/decisions", summary="The decision log, newest first (platform admin)")
def decisions(
    session: SessionDep,
    caller: CallerDep,
    decision: str | None = None,
    allowed: bool | None = None,
    subject: str | None = None,
    since: Instant | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DecisionOut]:
    rows = _policies.decisions(
        session,
        caller,
        decision=decision,
        allowed=allowed,
        subject=subject,
        since=since,
        limit=limit,
    )
    return [DecisionOut.model_validate(row) for row in rows]


@router.get("", summary="The policies of each decision")
def policy_sets(_caller: CallerDep) -> list[PolicySetOut]:
    engine = default_engine()
    return [
        PolicySetOut(decision=name, policies=bundle.policies)
        for name, bundle in engine.bundles.items()
    ]


@router.get("/{decision}/schema", summary="The JSON Schema of a decision's input")
def input_schema(decision: str, _caller: CallerDep) -> dict[str, Any]:
    bundle = default_engine().bundles.get(decision)
    if bundle is None:
        raise NotFoundError(f"no decision {decision!r}; one of publication, review, access")
    return bundle.schema
