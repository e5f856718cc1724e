"""The embedded default: the governance service in a background thread on 127.0.0.1.

`meshlake run` uses it when MESHLAKE_GOVERNANCE_URL is not set, so the main job goes through real
HTTP too. The admin token is random per start and lives only in this process's memory.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn
from pydantic import SecretStr

from meshlake.governance._settings import GovernanceSettings
from meshlake.governance.api._app import create_app
from meshlake.governance.db._migrate import upgrade

if TYPE_CHECKING:
    from meshlake.platform import GovernanceClient, Settings


@dataclass
class RunningServer:
    """An ASGI app served by uvicorn in a daemon thread on 127.0.0.1."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve_in_thread(app: Any, timeout: float = 30.0) -> RunningServer:
    """Serve ``app`` on a free port of 127.0.0.1; returns once it accepts connections."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="meshlake-governance", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the governance service did not start")
        time.sleep(0.05)
    return RunningServer(f"http://127.0.0.1:{port}", server, thread)


@dataclass
class EmbeddedService:
    """The running embedded service, its admin token and its database (for
    :func:`~meshlake.governance.zone_service_tokens`)."""

    running: RunningServer
    token: str
    database_url: str = ""

    @property
    def url(self) -> str:
        return self.running.url

    def stop(self) -> None:
        self.running.stop()


def start_embedded(state_home: Path | None = None) -> EmbeddedService:
    """Migrate the database and serve the API on a free port of 127.0.0.1 until ``stop()``.

    The database is MESHLAKE_DATABASE_URL, else SQLite in ``state_home``.
    """
    token = "mlk_embedded_" + secrets.token_urlsafe(24)
    url = GovernanceSettings().resolved_database_url(state_home)
    upgrade(url)
    settings = GovernanceSettings(database_url=url, bootstrap_token=SecretStr(token))
    return EmbeddedService(serve_in_thread(create_app(settings)), token, url)


@contextmanager
def governance_client(settings: Settings) -> Iterator[GovernanceClient]:
    """A client of the service the CLI commands talk to: MESHLAKE_GOVERNANCE_URL with
    MESHLAKE_GOVERNANCE_TOKEN, else the embedded service on this project's database (started for
    the length of the block, as the admin)."""
    from meshlake.platform import GovernanceClient

    embedded = None
    url, token = settings.governance_url, settings.governance_token
    if url is None:
        embedded = start_embedded(settings.state_home())
        url, secret = embedded.url, embedded.token
    else:
        secret = token.get_secret_value() if token else ""
    try:
        with GovernanceClient(str(url), secret) as client:
            yield client
    finally:
        if embedded is not None:
            embedded.stop()
