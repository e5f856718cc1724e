"""Cursors: opaque keyset tokens tied to the query and filters that made them."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from meshlake.governance._errors import InvalidRequestError
from meshlake.governance.services._search._query import Filters, Query


def _fingerprint(query: Query, filters: Filters) -> str:
    material = json.dumps([query.words, query.prefix, filters.fields()])
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def _encode_cursor(fingerprint: str, state: dict[str, Any]) -> str:
    raw = json.dumps({"v": 1, "f": fingerprint, **state}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, fingerprint: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        state = json.loads(raw)
        valid = (
            isinstance(state, dict)
            and state.get("v") == 1
            and (
                (state.get("m") == "all" and _valid_key(state.get("k"), (int, int, float, str)))
                or (state.get("m") == "cap" and _valid_key(state.get("h"), (int, int, str)))
                or (state.get("m") == "cap" and isinstance(state.get("t"), int))
            )
        )
    except (binascii.Error, ValueError, UnicodeDecodeError):
        valid = False
    if not valid:
        raise InvalidRequestError("cursor: not a cursor from this API; use a next_cursor value")
    if state["f"] != fingerprint:
        raise InvalidRequestError(
            "cursor: it belongs to another query or other filters; pass the same q and filters"
        )
    return dict(state)


def _valid_key(key: Any, types: tuple[type, ...]) -> bool:
    return (
        isinstance(key, list)
        and len(key) == len(types)
        and all(
            isinstance(part, kind) and not isinstance(part, bool)
            for part, kind in zip(key, types, strict=True)
        )
    )
