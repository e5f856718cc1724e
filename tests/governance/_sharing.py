"""A governance service with the sample mesh registered, a clock the tests move, and tokens for
the people of both sides of a sharing agreement (shared by the agreement and SLA tests)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from meshlake.governance import GovernanceSettings, create_app, serve_in_thread, upgrade
from tests.governance._publishing import register_mesh
from tests.governance.conftest import BOOTSTRAP, Service

TODAY = date(2026, 12, 4)


@dataclass
class Clock:
    now: datetime = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def on(self, day: date) -> None:
        self.now = datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)


@dataclass
class Mesh:
    service: Service
    clock: Clock
    tokens: dict[str, str]
    app: Any

    def as_(self, who: str) -> httpx.Client:
        return self.service.client(self.tokens[who] if who != "admin" else BOOTSTRAP)


def serve_mesh(database_url: str, state: Path, clock: Clock | None = None) -> Iterator[Mesh]:
    """The service over ``database_url`` with the sample mesh registered (state in ``state``);
    webhooks are delivered within a tenth of a second."""
    upgrade(database_url)
    settings = GovernanceSettings(
        database_url=database_url, bootstrap_token=BOOTSTRAP, webhook_poll_interval=0.1
    )
    app = create_app(settings)
    clock = clock or Clock()
    app.state.clock = clock
    running = serve_in_thread(app)
    service = Service(running.url, database_url)
    register_mesh(service, state)
    tokens = {
        "hr owner": service.token("hr-owner", grants=[{"role": "domain_owner", "domain": "hr"}]),
        "hr member": service.token("hr-member", grants=[{"role": "domain_member", "domain": "hr"}]),
        "sales": service.token("sales-dev", grants=[{"role": "domain_member", "domain": "sales"}]),
        "operations": service.token(
            "ops-dev", grants=[{"role": "domain_member", "domain": "operations"}]
        ),
        "spec owner": service.token("ines.moreau@example.com"),
    }
    yield Mesh(service, clock, tokens, app)
    running.stop()
    app.state.engine.dispose()
