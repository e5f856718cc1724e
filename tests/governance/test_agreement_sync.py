"""Agreements as code into governance: one list request finds what governance holds, so a second
sync requests nothing again and reports the same states."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshlake.governance import start_embedded, sync_catalog
from meshlake.platform import GovernanceClient, load_mesh
from tests.helpers import REPO

pytestmark = pytest.mark.integration


def test_a_second_sync_finds_every_agreement_held_and_reports_the_same_states(
    tmp_path: Path,
) -> None:
    mesh = load_mesh(REPO)
    embedded = start_embedded(tmp_path)
    try:
        with GovernanceClient(embedded.url, embedded.token) as client:
            first = sync_catalog(client, mesh, tmp_path).agreements
            second = sync_catalog(client, mesh, tmp_path).agreements
            held = client.request("GET", "/api/v1/agreements", params={"limit": 1000})
    finally:
        embedded.stop()

    assert [(item.name, item.state) for item in second] == [
        (item.name, item.state) for item in first
    ]
    assert sorted(item["name"] for item in held) == sorted(mesh.agreements)
    states = dict((item.name, item.state) for item in first)
    assert states["sales-account-managers-read-employees"] == "active"
    assert states["operations-reliability-reads-orders-2025"] == "expired"
