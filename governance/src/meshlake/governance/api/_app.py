"""The FastAPI application: routes, and the one place where errors become HTTP statuses.

Refusals (401, 403) are audited in their own transaction, because the request's own transaction is
rolled back when it fails. Every status this module can answer is declared for every route
(:data:`ERROR_RESPONSES`), with the body it really has, so the OpenAPI is a contract clients can
check, for the routes of today and those appended to ``ROUTERS`` later.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

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
from meshlake.governance.api._crash import CrashGuard
from meshlake.governance.api._docs import install_docs
from meshlake.governance.api._limits import BodySizeLimit
from meshlake.governance.api._load import (
    RETRY_AFTER_SECONDS,
    GoneClientDrop,
    InFlightLimit,
    Load,
    default_limit,
)
from meshlake.governance.api._metrics import instrument
from meshlake.governance.api._problems import (
    ERROR_RESPONSES,
    problem_body,
    problem_from_message,
)
from meshlake.governance.api._text import NulRefusal, state_in_openapi
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
from meshlake.governance.api.routes.delta_sharing import router as delta_sharing_router
from meshlake.governance.api.routes.freshness import router as freshness_router
from meshlake.governance.api.routes.glossary import router as glossary_router
from meshlake.governance.api.routes.query import router as query_router
from meshlake.governance.api.routes.recipients import router as recipients_router
from meshlake.governance.api.routes.tokens import router as tokens_router
from meshlake.governance.api.routes.webhooks import router as webhooks_router
from meshlake.governance.db._engine import make_engine, session_factory
from meshlake.governance.db._tables import utcnow
from meshlake.governance.services import _audit
from meshlake.governance.services._delta_sharing import sharing_server
from meshlake.governance.services._query import QueryBounds
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
    query_router,
    recipients_router,
    delta_sharing_router,
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
        docs_url=None,  # served by install_docs from local assets
        redoc_url=None,
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
    app.state.query_bounds = QueryBounds.from_settings(settings)
    app.state.delta_sharing = sharing_server(settings)
    app.state.load = Load(limit=settings.max_in_flight or default_limit(engine))
    for router in ROUTERS:
        app.include_router(router, responses=ERROR_RESPONSES)
    # Added innermost first. Outermost the crash guard, then the bound on work in flight (refused
    # before any body is read), the body size limit (which reads the body whole), the NUL check on
    # that body, and the drop of a request whose client has gone meanwhile.
    app.add_middleware(GoneClientDrop, load=app.state.load)
    app.add_middleware(NulRefusal)
    app.add_middleware(
        BodySizeLimit,
        default=settings.max_request_bytes,
        batch=settings.max_batch_request_bytes,
    )
    app.add_middleware(InFlightLimit, load=app.state.load)
    instrument(app, app.state.load)  # metrics and the access log, around the bound (api/_metrics)
    app.add_middleware(CrashGuard)
    _handle_errors(app)
    _state_text_rules(app)
    install_docs(app, ROUTERS)
    return app


def _state_text_rules(app: FastAPI) -> None:
    """The OpenAPI as FastAPI builds it, plus the rule every string obeys (no NUL)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        document = build()  # cached by FastAPI; the rule is added once (it is idempotent)
        state_in_openapi(document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _handle_errors(app: FastAPI) -> None:
    @app.exception_handler(GovernanceError)
    async def governance_error(request: Request, exc: GovernanceError) -> JSONResponse:
        status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 400)
        if status in (401, 403) and not exc.audited:
            _audit_refusal(request, exc, status)
        if status == 422:
            body = {"detail": str(exc), "problems": [problem_from_message(str(exc))]}
            return JSONResponse(body, status_code=422)
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(IntegrityError)
    async def integrity_error(_request: Request, exc: IntegrityError) -> JSONResponse:
        # Two writers raced past a service check; the database's constraint decided.
        return JSONResponse({"detail": f"conflicting write: {exc.orig}"}, status_code=409)

    @app.exception_handler(DataError)
    async def out_of_range(_request: Request, exc: DataError) -> JSONResponse:
        # A value past a column's limit that no model bound caught (PostgreSQL refuses it).
        reason = str(exc.orig).splitlines()[0] if exc.orig else "out of range"
        problem = {"field": "body", "message": f"a value does not fit the database ({reason})"}
        return JSONResponse(problem_body([problem]), status_code=422)

    @app.exception_handler(PoolTimeoutError)
    async def pool_exhausted(_request: Request, _exc: PoolTimeoutError) -> JSONResponse:
        return _unavailable("every database connection is in use")

    @app.exception_handler(OperationalError)
    async def database_unavailable(_request: Request, exc: OperationalError) -> JSONResponse:
        # A locked SQLite file or an unreachable PostgreSQL: the request may succeed later.
        return _unavailable(f"the database did not answer ({type(exc.orig).__name__})")

    @app.exception_handler(RequestValidationError)
    async def invalid_payload(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [_problem(error) for error in exc.errors()]
        return JSONResponse(problem_body(problems), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 405:
            allowed = _allowed_methods(request)
            detail = f"method {request.method} not allowed here; use {', '.join(allowed)}"
            headers = {"Allow": ", ".join(allowed)}
            return JSONResponse({"detail": detail}, status_code=405, headers=headers)
        if exc.status_code == 400 and exc.__cause__ is not None:
            # FastAPI could not decode the body (not UTF-8, not JSON): a malformed body, like
            # any other, is 422 naming the body.
            reason = type(exc.__cause__).__name__
            problem = {"field": "body", "message": f"not valid JSON ({reason})"}
            return JSONResponse(problem_body([problem]), status_code=422)
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code)


def _unavailable(reason: str) -> JSONResponse:
    return JSONResponse(
        {"detail": f"service unavailable: {reason}; retry after {RETRY_AFTER_SECONDS} s"},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route takes on this path (Starlette names only the first route's).

    Each method is tried against the routes, which works however routers are nested.
    """
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


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
            # The action column holds 100 characters (PostgreSQL refuses more); the target
            # keeps the whole path.
            action=f"{request.method} {request.url.path}"[:100],
            target=request.url.path,
            outcome="refused",
            reason=f"{status}: {exc}",
        )
