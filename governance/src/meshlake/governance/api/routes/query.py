"""The governed SQL endpoint: read-only SQL over what the caller's agreements and domains allow.

A plain ``def``: FastAPI runs it in its threadpool, so delta-rs and DuckDB never block the event
loop. The caller is authenticated in a short transaction of its own, and the service opens its own
short ones, so no database connection is held while a query runs.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from meshlake.governance.api._problems import ERROR_RESPONSES
from meshlake.governance.api._query_models import (
    ARROW_STREAM,
    QueryIn,
    QueryOut,
    arrow_stream,
    ports_header,
    query_out,
)
from meshlake.governance.api.deps import TodayDep
from meshlake.governance.services._access import Caller, authenticate
from meshlake.governance.services._query import QueryBounds, governed_query

router = APIRouter(prefix="/api/v1/query", tags=["query"])

_ARROW_HEADERS = {
    "Meshlake-Row-Count": {"description": "Rows in this page.", "schema": {"type": "integer"}},
    "Meshlake-Truncated": {
        "description": "true when the query had more rows than the row limit allows.",
        "schema": {"type": "string", "enum": ["true", "false"]},
    },
    "Meshlake-Next-Page": {
        "description": "The cursor of the next page (absent on the last page).",
        "schema": {"type": "string"},
    },
    "Meshlake-Ports": {
        "description": "The ports read: port@version[:agreement], comma-separated.",
        "schema": {"type": "string"},
    },
}

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "One page of the result, as JSON or as an Arrow IPC stream.",
        "content": {ARROW_STREAM: {"schema": {"type": "string", "format": "binary"}}},
        "headers": _ARROW_HEADERS,
    },
    403: {
        **ERROR_RESPONSES[403],
        "description": "The SQL reads a table or column the caller is not granted; the detail "
        "names it.",
    },
    422: {
        **ERROR_RESPONSES[422],
        "description": "The SQL is not allowed (the detail says what and where), the page cursor "
        "is not valid, or a limit (time, memory, bytes read) stopped the query.",
    },
}


def _caller(request: Request) -> Caller:
    """The caller, authenticated in a transaction that ends before the query runs."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    with request.app.state.sessions() as session, session.begin():
        caller = authenticate(
            session,
            token.strip() if scheme.lower() == "bearer" else None,
            request.app.state.bootstrap_token,
        )
    request.state.caller = caller
    return caller


@router.post(
    "",
    summary="Run read-only SQL over the tables the caller may read, masked and filtered",
    response_model=QueryOut,
    responses=_RESPONSES,
)
def query(
    body: QueryIn,
    request: Request,
    caller: Annotated[Caller, Depends(_caller)],
    today: TodayDep,
) -> Any:
    """Governed tables are named ``domain.product.port`` and read at their published version,
    with the agreement's columns, masks and row scope applied to every reference. Every query,
    answered or refused, is audited."""
    bounds: QueryBounds = request.app.state.query_bounds
    answer = governed_query(
        request.app.state.sessions,
        caller,
        today,
        body.sql,
        bounds=bounds,
        page_size=body.page_size,
        page=body.page,
    )
    wants_arrow = body.format == "arrow" or (
        body.format is None and ARROW_STREAM in request.headers.get("accept", "")
    )
    if not wants_arrow:
        return query_out(answer)
    headers = {
        "Meshlake-Row-Count": str(answer.table.num_rows),
        "Meshlake-Truncated": "true" if answer.truncated else "false",
        "Meshlake-Ports": ports_header(answer),
    }
    if answer.next_page:
        headers["Meshlake-Next-Page"] = answer.next_page
    return Response(arrow_stream(answer.table), media_type=ARROW_STREAM, headers=headers)
