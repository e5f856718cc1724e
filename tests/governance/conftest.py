"""The governance service over real HTTP (uvicorn on 127.0.0.1), on SQLite and on PostgreSQL.

PostgreSQL comes from MESHLAKE_TEST_POSTGRES_URL (``.ci/run`` starts the server and sets it) or, when
that is unset, from a throwaway server the test run starts itself (tests/postgres_server.py); each
test module gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from meshlake.governance import GovernanceSettings, create_app, serve_in_thread, upgrade
from tests.postgres_server import INSTALL_HINT, database_on, postgres_url

BOOTSTRAP = "mlk_bootstrap-token-for-tests-only"


@dataclass
class Service:
    """A running governance service and a way to call it as different principals."""

    url: str
    database_url: str

    def client(self, token: str | None = BOOTSTRAP) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def token(
        self, name: str, kind: str = "person", grants: list[dict[str, str]] | None = None
    ) -> str:
        with self.client() as admin:
            response = admin.post(
                "/api/v1/principals", json={"name": name, "kind": kind, "grants": grants or []}
            )
            response.raise_for_status()
            return str(response.json()["token"])


def _postgres_server_url() -> str | None:
    return postgres_url()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('governance') / 'governance.db'}"
        return
    server = _postgres_server_url()
    if server is None:
        pytest.skip(INSTALL_HINT)
    with database_on(server) as url:
        yield url


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database of its own (dropped afterwards), for a test that needs
    PostgreSQL itself: several server processes (SQLite has one writer), advisory locks."""
    server = _postgres_server_url()
    if server is None:
        pytest.skip(INSTALL_HINT)
    with database_on(server) as url:
        yield url


@pytest.fixture(scope="module")
def service(database_url: str) -> Iterator[Service]:
    upgrade(database_url)
    app = create_app(GovernanceSettings(database_url=database_url, bootstrap_token=BOOTSTRAP))
    running = serve_in_thread(app)
    yield Service(running.url, database_url)
    running.stop()
    app.state.engine.dispose()


def sample_contract(path: Path) -> dict[str, object]:
    import yaml

    return dict(yaml.safe_load(path.read_text()))
