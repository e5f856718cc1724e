"""Liveness, without authentication (load balancers and `meshlake run` poll it)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from meshlake.governance.api.deps import SessionDep

router = APIRouter(tags=["health"])


@router.get("/api/v1/health", summary="The service is up and its database answers")
def health(session: SessionDep) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ok"}
