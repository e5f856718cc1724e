"""A bound on the work in flight: past it the service answers 503 at once instead of queueing.

Without a bound, every request got a worker thread and then waited for one of the database pool's
connections; past the pool's timeout all of them failed with 500, and requests whose clients had
given up kept the queue full long after the load stopped. Here a request is admitted only while
fewer than ``limit`` are running (sized from the pool, so admitted work never waits for a
connection), else it is refused with 503 and ``Retry-After``. A request whose client has already
disconnected is dropped before it starts. Health checks are exempt, so they answer under load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio
from sqlalchemy import Engine

from meshlake.governance.api._asgi import send_json

RETRY_AFTER_SECONDS = 1

# Liveness and readiness must answer while the service is saturated (that is when they matter).
EXEMPT_PATHS = frozenset(
    {"/api/v1/health", "/api/v1/health/live", "/api/v1/health/ready"}
    | {"/healthz", "/readyz", "/metrics"}
)

# Connections kept out of the bound: a refused request audits in a second session, and readiness
# probes the database.
_SPARE_CONNECTIONS = 2


def pool_capacity(engine: Engine) -> int | None:
    """Connections the engine's pool can hand out at once (None: the pool does not say)."""
    pool: Any = engine.pool
    size, overflow = getattr(pool, "size", None), getattr(pool, "_max_overflow", None)
    if not callable(size) or not isinstance(overflow, int):
        return None
    return int(size()) + max(overflow, 0)


def default_limit(engine: Engine) -> int:
    """As many requests as the pool has connections for, less a few kept spare."""
    capacity = pool_capacity(engine)
    return max(1, (capacity or 10) - _SPARE_CONNECTIONS)


@dataclass
class Load:
    """The count of admitted requests, shared by the middleware and the readiness check."""

    limit: int
    in_flight: int = 0
    refused: int = 0
    dropped: int = 0

    @property
    def saturated(self) -> bool:
        return self.in_flight >= self.limit


class InFlightLimit:
    """ASGI middleware: admit up to ``load.limit`` requests at a time; refuse the rest with 503.

    Outside the body size limit, so a request is refused before its body is read, and a body
    being uploaded counts as work in flight.
    """

    def __init__(self, app: Any, load: Load) -> None:
        self.app, self.load = app, load

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if self.load.saturated:
            self.load.refused += 1
            await _saturated(send, self.load.limit)
            return
        # Counted in the event loop's single thread: no lock is needed between the check and here.
        self.load.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.load.in_flight -= 1


class GoneClientDrop:
    """ASGI middleware: a request whose client disconnected before it starts is not run.

    Inside the body size limit, which hands the body on whole: once it is taken, a message that is
    ready at once can only be the client's disconnect.
    """

    def __init__(self, app: Any, load: Load) -> None:
        self.app, self.load = app, load

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        replay = await _unless_gone(receive)
        if replay is None:
            self.load.dropped += 1
            return
        await self.app(scope, replay, send)


async def _unless_gone(receive: Any) -> Any:
    """The receive to hand on, or None when the client has already disconnected."""
    pending: list[dict[str, Any]] = []
    first: dict[str, Any] = await receive()
    if first["type"] == "http.disconnect":
        return None
    pending.append(first)
    if not first.get("more_body", False):
        with anyio.CancelScope(deadline=anyio.current_time()):
            later: dict[str, Any] = await receive()
            if later["type"] == "http.disconnect":
                return None
            pending.append(later)

    async def replayed() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        message: dict[str, Any] = await receive()
        return message

    return replayed


def saturated_detail(limit: int) -> str:
    return (
        f"service saturated: {limit} requests already in flight; retry after "
        f"{RETRY_AFTER_SECONDS} s (the bound is MESHLAKE_MAX_IN_FLIGHT, sized to the database pool)"
    )


async def _saturated(send: Any, limit: int) -> None:
    retry = (b"retry-after", str(RETRY_AFTER_SECONDS).encode())
    await send_json(send, 503, {"detail": saturated_detail(limit)}, [retry])
