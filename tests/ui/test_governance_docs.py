"""The governance service's /docs page, in a real browser with the internet cut off: Swagger UI
comes from the service itself, and "Authorize" then "Try it out" on the search call returns 200."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlparse

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from meshlake.governance import EmbeddedService, start_embedded, sync_catalog
from meshlake.platform import GovernanceClient, load_mesh
from tests.helpers import REPO

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedService]:
    """The embedded governance service (uvicorn on 127.0.0.1), the sample mesh in its catalog."""
    home = tmp_path_factory.mktemp("governance-docs")
    embedded = start_embedded(home)
    try:
        with GovernanceClient(embedded.url, embedded.token) as client:
            sync_catalog(client, load_mesh(REPO), home)
        yield embedded
    finally:
        embedded.stop()


@pytest.fixture
def offline(browser: BrowserContext) -> Iterator[list[str]]:
    """Every request that leaves 127.0.0.1 is refused and recorded: the page must not need one."""
    outside: list[str] = []

    def refuse(route: Route) -> None:
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort("internetdisconnected")

    browser.route("**/*", refuse)
    yield outside
    browser.unroute("**/*")


def test_openapi_declares_the_bearer_scheme_on_protected_operations(
    service: EmbeddedService,
) -> None:
    document = httpx.get(f"{service.url}/openapi.json", timeout=30).json()

    assert document["components"]["securitySchemes"]["bearer"]["type"] == "http"
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    paths = document["paths"]
    for path, method in [
        ("/api/v1/search", "get"),
        ("/api/v1/query", "post"),  # authenticates through its own dependency
        ("/api/v1/products/{domain}/{product}", "put"),
        ("/delta-sharing/shares", "get"),
    ]:
        assert paths[path][method]["security"] == [{"bearer": []}], (method, path)
    # Probes and the signed file URLs of Delta Sharing take no token.
    assert "security" not in paths["/api/v1/health/live"]["get"]
    assert "security" not in paths["/delta-sharing/files/{path}"]["get"]
    unauthenticated = httpx.get(f"{service.url}/api/v1/search", timeout=30)
    assert unauthenticated.status_code == 401


def test_docs_assets_are_served_by_the_service(service: EmbeddedService) -> None:
    page = httpx.get(f"{service.url}/docs", timeout=30)
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        response = httpx.get(f"{service.url}/docs/assets/{asset}", timeout=30)
        assert response.status_code == 200, asset
        assert len(response.content) > 10_000, asset
    assert httpx.get(f"{service.url}/redoc", timeout=30).status_code == 404


def _try_search(page: Page) -> int:
    """Execute GET /api/v1/search?q=employees from its opened panel; the status the page shows
    (checked against the response the browser received)."""
    operation = page.locator("#operations-search-search_api_v1_search_get")
    with page.expect_response(lambda response: "/api/v1/search?" in response.url) as answer:
        operation.get_by_role("button", name="Execute").click()
    status = answer.value.status
    shown = operation.locator(".live-responses-table .response .response-col_status")
    expect(shown).to_have_text(str(status))
    return status


def test_authorize_then_try_it_out_returns_200_offline(
    service: EmbeddedService, page: Page, offline: list[str]
) -> None:
    page.goto(f"{service.url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("meshlake governance")

    operation = page.locator("#operations-search-search_api_v1_search_get")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.locator("tr[data-param-name='q'] input").fill("employees")
    # Before "Authorize" the call goes out without a token.
    assert _try_search(page) == 401

    page.locator(".swagger-ui .auth-wrapper button.authorize").click()
    dialog = page.locator(".swagger-ui .dialog-ux")
    dialog.locator("input").first.fill(service.token)
    dialog.locator("button.modal-btn.authorize").click()
    expect(dialog).to_contain_text("Authorized")
    dialog.locator("button.btn-done").click()

    assert _try_search(page) == 200
    body = operation.locator(".live-responses-table .response-col_description pre").first
    expect(body).to_contain_text("hr.employees")
    assert offline == [], f"the docs page asked the internet for {offline}"
