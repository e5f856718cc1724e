"""Liveness and readiness, without authentication (load balancers and `meshlake run` poll them).

Both are exempt from the bound on work in flight and run in the event loop, not in a worker thread,
so they answer while the service is saturated: liveness always, readiness with 503 while no more
work would be admitted or the database does not answer.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine, text

from meshlake.governance.api._load import RETRY_AFTER_SECONDS, Load, pool_capacity

router = APIRouter(tags=["health"])

# Readiness must not wait behind the pool's own 30 s timeout: it is answered in a few seconds.
_PROBE_SECONDS = 5.0


class LiveOut(BaseModel):
    status: Literal["alive"]


class ReadyOut(BaseModel):
    status: Literal["ok"]
    in_flight: Annotated[int, Field(description="Requests being served now.")]
    max_in_flight: Annotated[int, Field(description="Past this many, requests get 503.")]


@router.get("/api/v1/health/live", summary="The process answers (always 200 while it runs)")
async def live() -> LiveOut:
    return LiveOut(status="alive")


@router.get(
    "/api/v1/health/ready",
    summary="The service takes work: its database answers and it is not saturated",
    responses={200: {"model": ReadyOut}},
)
async def ready(request: Request) -> Any:
    return await _readiness(request)


@router.get(
    "/api/v1/health",
    summary="The service is up and its database answers (readiness)",
    responses={200: {"model": ReadyOut}},
)
async def health(request: Request) -> Any:
    return await _readiness(request)


async def _readiness(request: Request) -> JSONResponse:
    load: Load = request.app.state.load
    engine: Engine = request.app.state.engine
    if load.saturated:
        return _unready(f"saturated: {load.in_flight} requests in flight (the bound)")
    capacity = pool_capacity(engine)
    checked_out = int(getattr(engine.pool, "checkedout", lambda: 0)())
    if capacity is not None and checked_out >= capacity:
        return _unready(f"saturated: all {capacity} database connections are in use")
    with anyio.move_on_after(_PROBE_SECONDS):
        if await anyio.to_thread.run_sync(_database_answers, engine, abandon_on_cancel=True):
            body = ReadyOut(status="ok", in_flight=load.in_flight, max_in_flight=load.limit)
            return JSONResponse(body.model_dump())
        return _unready("the database does not answer")
    return _unready(f"the database did not answer within {_PROBE_SECONDS:g} s")


def _database_answers(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


def _unready(reason: str) -> JSONResponse:
    return JSONResponse(
        {"detail": f"not ready: {reason}; retry after {RETRY_AFTER_SECONDS} s"},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
