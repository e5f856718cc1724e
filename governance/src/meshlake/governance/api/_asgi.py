"""The one way the ASGI middlewares answer by themselves (413, 422, 503, 500): a JSON body with
its length, and any extra headers, sent before the app is reached or after it failed."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any


async def send_json(
    send: Any, status: int, body: dict[str, Any], headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})
