"""Fixtures of the lineage store tests: a producer's token, and the sample mesh's runs sent with it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from tests.governance.conftest import Service
from tests.governance.lineage._support import MESH, T0, lineage_client, run_event


@pytest.fixture(scope="module")
def bot(service: Service) -> str:
    """A service account's token: what a producer's OPENLINEAGE_API_KEY holds. It writes the
    lineage of every sample domain's jobs (a member of each)."""
    grants = [{"role": "domain_member", "domain": domain} for domain in sorted(MESH.domains)]
    return service.token("lineage-bot", kind="service", grants=grants)


@pytest.fixture(scope="module")
def state(service: Service, bot: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The state folder the sample mesh 'ran' in: START + COMPLETE of every product, sent."""
    home = tmp_path_factory.mktemp("state")
    client = lineage_client(service, bot)
    for offset, product in enumerate(sorted(map(str, MESH.products))):
        run_id = str(uuid.uuid4())
        start = T0 + timedelta(minutes=offset)
        client.emit(run_event(product, "START", home, run_id, event_time=start))
        client.emit(
            run_event(product, "COMPLETE", home, run_id, event_time=start + timedelta(seconds=30))
        )
    client.close()
    return home
