"""The outermost guard: an unexpected exception becomes a JSON 500 carrying a request id.

The request id is the caller's ``X-Request-ID`` when it sent a usable one, so a trace spans services.

Starlette's own handler answers in plain text and then re-raises, so the server logs a second
traceback and may close the connection under the client. Here the failure is logged once, with the
request id the client also receives (``X-Request-ID`` on every response), and the connection stays
usable.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from meshlake.governance.api._asgi import send_json

_log = logging.getLogger("meshlake.governance")

REQUEST_ID_HEADER = b"x-request-id"


class CrashGuard:
    """ASGI middleware: request ids on every response, and a JSON 500 instead of a dropped request."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [*message.get("headers", []), (REQUEST_ID_HEADER, request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            _log.exception(
                "request %s %s failed (request id %s)",
                scope["method"],
                scope["path"],
                request_id,
                extra={"request_id": request_id},
            )
            if started:
                # Part of the response is out: nothing valid can follow, the server closes it.
                raise
            await _internal_error(send, request_id)


def _incoming_id(scope: dict[str, Any]) -> str | None:
    """The caller's own X-Request-ID, echoed when it is short printable ASCII (it goes into logs
    and headers as it is); else the service makes one."""
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            if 0 < len(value) <= 128 and all(33 <= byte <= 126 for byte in value):
                return str(value.decode("ascii"))
            return None
    return None


async def _internal_error(send: Any, request_id: str) -> None:
    detail = (
        "internal error: the service failed unexpectedly; retry, and report the request id if it "
        "persists"
    )
    body = {"detail": detail, "request_id": request_id}
    await send_json(send, 500, body, [(REQUEST_ID_HEADER, request_id.encode())])
