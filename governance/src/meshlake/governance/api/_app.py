"""The FastAPI application: routes, and the one place where errors become HTTP statuses.

Refusals (401, 403) are audited in their own transaction, because the request's own transaction is
rolled back when it fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from meshlake.governance._errors import (
    ConflictError,
    ForbiddenError,
    GovernanceError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    UnauthenticatedError,
)
from meshlake.governance._settings import GovernanceSettings
from meshlake.governance.api._limits import BodySizeLimit
from meshlake.governance.api.routes import (
    access,
    agreements,
    catalog,
    health,
    incidents,
    lineage,
    search,
)
from meshlake.governance.api.routes import policies as policy_routes
from meshlake.governance.api.routes.freshness import router as freshness_router
from meshlake.governance.api.routes.glossary import router as glossary_router
from meshlake.governance.api.routes.tokens import router as tokens_router
from meshlake.governance.api.routes.webhooks import router as webhooks_router
from meshlake.governance.db._engine import make_engine, session_factory
from meshlake.governance.db._tables import utcnow
from meshlake.governance.services import _audit
from meshlake.governance.services._sla_schedule import sla_lifespan
from meshlake.governance.services._webhooks import lifespan as webhook_lifespan

_STATUS: list[tuple[type[GovernanceError], int]] = [
    (NotFoundError, 404),
    (ConflictError, 409),
    (InvalidRequestError, 422),
    (UnauthenticatedError, 401),
    (ForbiddenError, 403),
    (PayloadTooLargeError, 413),
]

ROUTERS = [
    health.router,
    access.router,
    catalog.router,
    lineage.router,
    search.router,
    glossary_router,
    freshness_router,
    policy_routes.router,
    tokens_router,
    agreements.router,
    incidents.router,
    webhooks_router,
]


def create_app(settings: GovernanceSettings | None = None) -> FastAPI:
    """The governance service over the database in ``settings`` (migrated beforehand)."""
    settings = settings or GovernanceSettings()
    engine = make_engine(settings.resolved_database_url())
    app = FastAPI(
        title="meshlake governance",
        version="0.1.0",
        description="Catalog, search, lineage, access and audit of the meshlake data mesh.",
        # The webhook deliverer and the SLA schedule run while the server does.
        lifespan=_both(webhook_lifespan(settings), sla_lifespan(settings.sla_interval)),
    )
    app.state.engine = engine
    app.state.clock = utcnow  # the service's time; a test may set another
    app.state.token_max_days = settings.token_max_days
    app.state.sessions = session_factory(engine)
    app.state.bootstrap_token = (
        settings.bootstrap_token.get_secret_value() if settings.bootstrap_token else None
    )
    app.state.max_request_bytes = settings.max_request_bytes
    app.state.max_batch_request_bytes = settings.max_batch_request_bytes
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(
        BodySizeLimit,
        default=settings.max_request_bytes,
        batch=settings.max_batch_request_bytes,
    )

    @app.exception_handler(GovernanceError)
    async def governance_error(request: Request, exc: GovernanceError) -> JSONResponse:
        status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 400)
        if status in (401, 403):
            _audit_refusal(request, exc, status)
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(IntegrityError)
    async def integrity_error(_request: Request, exc: IntegrityError) -> JSONResponse:
        # Two writers raced past a service check; the database's constraint decided.
        return JSONResponse({"detail": f"conflicting write: {exc.orig}"}, status_code=409)

    @app.exception_handler(RequestValidationError)
    async def invalid_payload(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [_problem(error) for error in exc.errors()]
        first = problems[0] if problems else {"field": "", "message": "invalid request"}
        detail = f"{first['field']}: {first['message']}"
        return JSONResponse({"detail": detail, "problems": problems}, status_code=422)

    return app


def _both(
    first: Callable[[Any], AbstractAsyncContextManager[None]],
    second: Callable[[Any], AbstractAsyncContextManager[None]],
) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def run(app: Any) -> AsyncIterator[None]:
        async with first(app), second(app):
            yield

    return run


def _problem(error: Any) -> dict[str, str]:
    loc = error["loc"]
    if error["type"] == "json_invalid":
        # loc is ("body", character offset): the field is the body itself.
        reason = (error.get("ctx") or {}).get("error", error["msg"])
        where = f" at character {loc[1]}" if len(loc) > 1 else ""
        return {"field": "body", "message": f"not valid JSON ({reason}){where}"}
    field = ".".join(str(part) for part in loc[1:]) or str(loc[0])
    return {"field": field, "message": error["msg"]}


def _audit_refusal(request: Request, exc: GovernanceError, status: int) -> None:
    caller = getattr(request.state, "caller", None)
    with request.app.state.sessions() as session, session.begin():
        _audit.record(
            session,
            principal=caller.name if caller else None,
            action=f"{request.method} {request.url.path}",
            target=request.url.path,
            outcome="refused",
            reason=f"{status}: {exc}",
        )
