"""No NUL character in any text the API takes, on both databases, stated in the OpenAPI.

PostgreSQL cannot store U+0000 in text (SQLite can), so the same request was taken on one database
and refused on the other. The service refuses it everywhere, before any route runs: in the path,
the query string or the JSON body; and the OpenAPI says so on every free-form string.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from meshlake.governance.api._asgi import send_json

NO_NUL_PATTERN = "^[^\\x00]*$"

# The catalog search reads a NUL in its query as a word separator, and its filters match nothing
# (tests/governance/test_search.py): nothing is stored, and both databases answer alike.
QUERY_NUL_ALLOWED = frozenset({"/api/v1/search"})

# The lineage receiver checks its raw body itself and names the field in OpenLineage's terms
# (``outputs[0].facets....``).
BODY_CHECKED_BY_ENDPOINT = frozenset({"/api/v1/lineage", "/api/v1/lineage/batch"})

# A JSON \u0000 escape, not preceded by an escaped backslash ("\\u0000" is the text \u0000).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_QUERY_NUL = re.compile(rb"%00|\x00")


def _where_nul(scope: dict[str, Any], body: bytes) -> str | None:
    if "\x00" in scope["path"]:
        return "path"
    query = scope.get("query_string", b"")
    if scope["path"] not in QUERY_NUL_ALLOWED and _QUERY_NUL.search(query):
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
        # A NUL in a parameter's name is reported as the query's: a name is echoed in the answer.
        return next((key for key, value in pairs if "\x00" in value and "\x00" not in key), "query")
    # A raw NUL byte is not JSON at all (the parser refuses it). A compressed body is checked once
    # inflated, by its endpoint (the lineage receiver refuses NUL itself).
    encoded = dict(scope["headers"]).get(b"content-encoding", b"identity").strip().lower()
    if scope["path"] in BODY_CHECKED_BY_ENDPOINT or encoded not in (b"", b"identity"):
        return None
    if _JSON_NUL.search(body):
        try:
            return _nul_field(json.loads(body)) or "body"
        except ValueError:  # not JSON: the route's own parsing names the problem
            return None
    return None


def _nul_field(value: Any, path: str = "") -> str | None:
    """The dotted path (as the API names fields) of the first key or text holding a NUL."""
    if isinstance(value, str):
        return path or "body" if "\x00" in value else None
    items: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                return path or "body"
            items.append((here, item))
    elif isinstance(value, list):
        items = [
            (f"{path}.{index}" if path else str(index), item) for index, item in enumerate(value)
        ]
    for here, item in items:
        found = _nul_field(item, here)
        if found:
            return found
    return None


class NulRefusal:
    """ASGI middleware: 422 for a NUL character anywhere in the request's path, query or body.

    Sits inside the body size limit, which hands the body on in one message.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        first: dict[str, Any] = await receive()
        where = _where_nul(
            scope, first.get("body", b"") if first["type"] == "http.request" else b""
        )
        if where is not None:
            await _refuse(send, where)
            return
        pending = [first]

        async def replayed() -> dict[str, Any]:
            if pending:
                return pending.pop()
            message: dict[str, Any] = await receive()
            return message

        await self.app(scope, replayed, send)


def state_in_openapi(document: dict[str, Any]) -> None:
    """Add the no-NUL pattern to every free-form string the API takes (no pattern, format, enum)."""
    for path, item in document.get("paths", {}).items():
        for operation in item.values():
            if path not in QUERY_NUL_ALLOWED:
                _add_pattern(operation.get("parameters", []))
            else:  # the path's own parameters still refuse it
                _add_pattern([p for p in operation.get("parameters", []) if p.get("in") == "path"])
            _add_pattern(operation.get("requestBody", {}))
    # What the API takes, not what it answers (an answer may quote text as it was stored before the
    # rule, or name what was refused): response models are named ``...Out`` in this service.
    schemas = document.get("components", {}).get("schemas", {})
    _add_pattern([schema for name, schema in schemas.items() if not name.endswith("Out")])


def _add_pattern(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _add_pattern(item)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    is_string = kind == "string" or (isinstance(kind, list) and "string" in kind)
    if is_string and not {"pattern", "format", "enum", "const"} & node.keys():
        node["pattern"] = NO_NUL_PATTERN
    for value in node.values():
        _add_pattern(value)


async def _refuse(send: Any, where: str) -> None:
    message = "contains a NUL character (U+0000), which no text field may hold; remove it"
    problems = [{"field": where, "message": message}]
    await send_json(send, 422, {"detail": f"{where}: {message}", "problems": problems})
