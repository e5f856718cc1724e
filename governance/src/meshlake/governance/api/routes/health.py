"""Liveness, readiness and metrics, without authentication (load balancers, Kubernetes probes,
Prometheus and `meshlake run` poll them).

All are exempt from the bound on work in flight and run in the event loop, not in a worker thread,
so they answer while the service is saturated: liveness always, readiness with 503 while no more
work would be admitted, the database does not answer or its schema is not at the migrations' head.
``/healthz`` and ``/readyz`` are the conventional names of the same probes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine, text

from meshlake.governance.api._load import RETRY_AFTER_SECONDS, Load, pool_capacity
from meshlake.governance.api._metrics import CONTENT_TYPE, Metrics
from meshlake.governance.db._head import schema_behind

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


@router.get("/healthz", summary="Liveness: the process answers; the database is not asked")
async def healthz() -> LiveOut:
    return LiveOut(status="alive")


@router.get(
    "/readyz",
    summary="Readiness: the database answers at the migrations' head and the service is not "
    "saturated (503 and Retry-After otherwise)",
    responses={200: {"model": ReadyOut}},
)
async def readyz(request: Request) -> Any:
    return await _readiness(request)


@router.get(
    "/metrics",
    summary="Metrics in the Prometheus text format (all workers' when there are several)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}}},
)
async def metrics(request: Request) -> Response:
    registry: Metrics = request.app.state.metrics
    return Response(registry.render(), media_type=CONTENT_TYPE)


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
        problem = await anyio.to_thread.run_sync(_database_problem, engine, abandon_on_cancel=True)
        if problem is None:
            body = ReadyOut(status="ok", in_flight=load.in_flight, max_in_flight=load.limit)
            return JSONResponse(body.model_dump())
        return _unready(problem)
    return _unready(f"the database did not answer within {_PROBE_SECONDS:g} s")


def _database_problem(engine: Engine) -> str | None:
    """Why the database cannot serve (unreachable, schema behind the code), or None."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            behind = schema_behind(connection)
    except Exception:
        return "the database does not answer"
    if behind:
        return f"{behind}; run `meshlake governance migrate`"
    return None


def _unready(reason: str) -> JSONResponse:
    return JSONResponse(
        {"detail": f"not ready: {reason}; retry after {RETRY_AFTER_SECONDS} s"},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
