"""The interactive API docs at ``/docs``, working without internet, and the bearer scheme in the OpenAPI.

FastAPI's own ``/docs`` page loads Swagger UI from a CDN, so on a closed network it stays blank. Here
the page loads Swagger UI 5 from the ``swagger-ui-bundle-v2`` package (Apache-2.0), served under
``/docs/assets``. The OpenAPI declares the ``bearer`` scheme, and every operation that authenticates
its caller requires it, so "Authorize" with a token makes "Try it out" send ``Authorization: Bearer``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from meshlake.governance.services._access import Caller

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"
SCHEME = "bearer"


def install_docs(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """Serve ``/docs`` from local assets and declare the bearer scheme on the operations of
    ``routers`` (included without a prefix) that authenticate their caller.

    The app is created with ``docs_url=None`` and ``redoc_url=None``: FastAPI's own pages load
    their scripts from a CDN.
    """
    app.mount(
        ASSETS_PATH,
        StaticFiles(directory=Path(str(swagger_ui_path))),
        name="swagger-ui-assets",
    )

    @app.get(DOCS_PATH, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API docs",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
        )

    build = app.openapi

    def openapi() -> dict[str, Any]:
        document = build()  # cached by FastAPI; declaring the scheme again changes nothing
        declare_bearer(document, protected_operations(routers))
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def protected_operations(routers: Sequence[APIRouter]) -> set[tuple[str, str]]:
    """(path, method) of every operation whose handler authenticates its caller."""
    operations = set()
    for route in (route for router in routers for route in router.routes):
        if isinstance(route, APIRoute) and route.include_in_schema and _needs(route.dependant):
            operations |= {(route.path_format, method.lower()) for method in route.methods or ()}
    return operations


def declare_bearer(document: dict[str, Any], protected: set[tuple[str, str]]) -> None:
    schemes = document.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes[SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "A meshlake governance token (`meshlake governance token issue NAME`, or the "
        "embedded service's admin token).",
    }
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if (path, method) in protected:
                operation["security"] = [{SCHEME: []}]


def _needs(dependant: Dependant) -> bool:
    """Whether a dependency (at any depth) yields the authenticated :class:`Caller`: every route
    that authenticates does so through one, whichever module defines it."""
    return any(_authenticates(sub.call) or _needs(sub) for sub in dependant.dependencies)


def _authenticates(call: Callable[..., Any] | None) -> bool:
    if call is None:
        return False
    try:
        returns = inspect.signature(call, eval_str=True).return_annotation
    except (NameError, TypeError, ValueError):
        return False
    return returns is Caller
