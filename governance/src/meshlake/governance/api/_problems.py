"""The error bodies every endpoint may answer, declared once for the OpenAPI of every route.

FastAPI documents only the statuses a route declares and describes 422 with its own
``HTTPValidationError`` shape, which is not what this service sends. Every router is included with
:data:`ERROR_RESPONSES`, so a client (and a contract checker) sees each status the service can
answer with the body it really gets, including routes added later.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorOut(BaseModel):
    """Any refusal or failure: what is wrong and what to do."""

    detail: str


class ProblemOut(BaseModel):
    field: str = Field(description="The field at fault (dotted path), or body.")
    message: str


class InvalidOut(BaseModel):
    """A request that could not be taken as sent (422): every problem, the first one in detail."""

    detail: str = Field(description="The first problem as `field: message`.")
    problems: list[ProblemOut]


class InternalErrorOut(BaseModel):
    """An unexpected failure (500); quote the request id when reporting it."""

    detail: str
    request_id: str


def _doc(model: type[BaseModel], description: str, headers: dict[str, Any] | None = None) -> Any:
    entry: dict[str, Any] = {"model": model, "description": description}
    if headers:
        entry["headers"] = headers
    return entry


_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer"},
    }
}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _doc(ErrorOut, "No valid bearer token."),
    403: _doc(ErrorOut, "The caller may not do this."),
    404: _doc(ErrorOut, "Something the request names does not exist."),
    409: _doc(ErrorOut, "The request contradicts what is stored."),
    413: _doc(ErrorOut, "The body is over the endpoint's size limit."),
    422: _doc(InvalidOut, "The request is malformed or makes no sense; every problem is named."),
    500: _doc(InternalErrorOut, "An unexpected failure, logged under the request id."),
    503: _doc(ErrorOut, "The service is saturated or its database is out of reach.", _RETRY_AFTER),
}


def problem_body(problems: list[dict[str, str]]) -> dict[str, Any]:
    first = problems[0] if problems else {"field": "body", "message": "invalid request"}
    return {"detail": f"{first['field']}: {first['message']}", "problems": problems}


def problem_from_message(message: str) -> dict[str, str]:
    """``field: message`` (the services' convention) split into a problem; no field means body."""
    field, sep, rest = message.partition(": ")
    if sep and field and " " not in field.replace(", ", ","):
        return {"field": field, "message": rest}
    return {"field": "body", "message": message}
