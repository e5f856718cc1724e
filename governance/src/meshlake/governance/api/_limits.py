"""The request body cap: a body over the limit is refused with 413 before it is read to the end.

Two limits, because the OpenLineage batch endpoint legitimately takes thousands of events in one
request while every other endpoint takes one small document. The declared Content-Length is
checked first; a body sent without one (chunked) is counted as it arrives, so a client cannot
stream past the cap. The lineage endpoints apply the same limit to a gzip body once inflated.
"""

from __future__ import annotations

from typing import Any

from meshlake.governance.api._asgi import send_json

BATCH_PATHS = frozenset({"/api/v1/lineage/batch"})


def limit_for(path: str, default: int, batch: int) -> int:
    return batch if path in BATCH_PATHS else default


def too_large_detail(limit: int, setting: str) -> str:
    return (
        f"body: larger than the {limit:,} bytes this endpoint accepts; send less per request "
        f"(batches of fewer events), or raise {setting}"
    )


def setting_for(path: str) -> str:
    return (
        "MESHLAKE_MAX_BATCH_REQUEST_BYTES" if path in BATCH_PATHS else "MESHLAKE_MAX_REQUEST_BYTES"
    )


class BodySizeLimit:
    """ASGI middleware: 413 with a reason for a request body over its endpoint's limit."""

    def __init__(self, app: Any, default: int, batch: int) -> None:
        self.app, self.default, self.batch = app, default, batch

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = limit_for(path, self.default, self.batch)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, too_large_detail(limit, setting_for(path)))
            return
        # The body is gathered here (the endpoints read it whole anyway) and handed on in one piece.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message: dict[str, Any] = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([], message, receive), send)
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
                await _refuse(send, too_large_detail(limit, setting_for(path)))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        whole = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([whole], None, receive), send)


def _replay(messages: list[dict[str, Any]], last: dict[str, Any] | None, receive: Any) -> Any:
    """A receive callable that gives ``messages``, then ``last``, then the real ones."""
    pending = [*messages, *([last] if last is not None else [])]

    async def replayed() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        result: dict[str, Any] = await receive()
        return result

    return replayed


async def _refuse(send: Any, detail: str) -> None:
    await send_json(send, 413, {"detail": detail}, [(b"connection", b"close")])
