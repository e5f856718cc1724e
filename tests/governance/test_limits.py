"""Request body caps (413 with a reason) and malformed payloads (422 naming the field, never 500)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import pytest

from meshlake.governance import GovernanceSettings, create_app, serve_in_thread, upgrade
from tests.governance.conftest import BOOTSTRAP, Service

pytestmark = pytest.mark.integration

LIMIT = 4_000
BATCH_LIMIT = 40_000


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A service with small caps, so that crossing them is cheap."""
    url = f"sqlite:///{tmp_path_factory.mktemp('limits') / 'governance.db'}"
    upgrade(url)
    settings = GovernanceSettings(
        database_url=url,
        bootstrap_token=BOOTSTRAP,
        max_request_bytes=LIMIT,
        max_batch_request_bytes=BATCH_LIMIT,
    )
    app = create_app(settings)
    running = serve_in_thread(app)
    yield Service(running.url, url)
    running.stop()
    app.state.engine.dispose()


def _event(run: int, padding: int = 0) -> dict[str, object]:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-02T07:00:00Z",
        "run": {"runId": f"00000000-0000-4000-8000-{run:012d}"},
        "job": {"namespace": "emea", "name": "hr.employees", "facets": {"pad": "x" * padding}},
        "inputs": [],
        "outputs": [{"namespace": "file", "name": "/lake/hr/employees/employees"}],
        "producer": "https://example.com/test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


def test_the_settings_default_to_10_mib_and_a_larger_batch_cap() -> None:
    settings = GovernanceSettings()
    assert settings.max_request_bytes == 10 * 1024 * 1024
    assert settings.max_batch_request_bytes > settings.max_request_bytes


def test_the_settings_come_from_meshlake_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHLAKE_MAX_REQUEST_BYTES", "1234")
    monkeypatch.setenv("MESHLAKE_MAX_BATCH_REQUEST_BYTES", "5678")
    settings = GovernanceSettings()
    assert (settings.max_request_bytes, settings.max_batch_request_bytes) == (1234, 5678)


def test_a_body_over_the_cap_is_413_with_the_limit_and_the_setting(small: Service) -> None:
    big = {"definition": "x" * (LIMIT + 10)}
    with small.client() as client:
        response = client.put("/api/v1/glossary/Big", json=big)
        terms = client.get("/api/v1/glossary").json()

    assert response.status_code == 413
    assert response.json()["detail"] == (
        f"body: larger than the {LIMIT:,} bytes this endpoint accepts; send less per request "
        "(batches of fewer events), or raise MESHLAKE_MAX_REQUEST_BYTES"
    )
    assert terms == []


def test_a_chunked_body_without_length_is_counted_as_it_arrives(small: Service) -> None:
    body = json.dumps(_event(1, padding=LIMIT)).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    with small.client() as client:
        response = client.post(
            "/api/v1/lineage", content=chunks(), headers={"Content-Type": "application/json"}
        )
        runs = client.get("/api/v1/lineage/runs").json()

    assert response.status_code == 413
    assert "MESHLAKE_MAX_REQUEST_BYTES" in response.json()["detail"]
    assert runs == []


def test_the_batch_endpoint_has_its_own_larger_cap(small: Service) -> None:
    fits = [_event(run, padding=1500) for run in range(10, 20)]  # over LIMIT, under BATCH_LIMIT
    too_many = [_event(run, padding=1500) for run in range(20, 45)]
    with small.client() as client:
        accepted = client.post("/api/v1/lineage/batch", json=fits)
        refused = client.post("/api/v1/lineage/batch", json=too_many)
        runs = client.get("/api/v1/lineage/runs", params={"limit": 100}).json()

    assert len(json.dumps(fits)) > LIMIT
    assert accepted.status_code == 201, accepted.text
    assert refused.status_code == 413
    assert "MESHLAKE_MAX_BATCH_REQUEST_BYTES" in refused.json()["detail"]
    assert len(runs) == 10


def test_a_gzip_body_is_capped_once_inflated(small: Service) -> None:
    bomb = gzip.compress(json.dumps(_event(50, padding=20 * LIMIT)).encode())
    with small.client() as client:
        response = client.post(
            "/api/v1/lineage",
            content=bomb,
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )

    assert len(bomb) < LIMIT
    assert response.status_code == 413
    assert response.json()["detail"].endswith("(once inflated)")


@pytest.mark.parametrize(
    ("method", "path", "content", "field"),
    [
        ("PUT", "/api/v1/glossary/Term", b"{not json", "body"),
        ("PUT", "/api/v1/glossary/Term", b"[1, 2]", "body"),
        ("PUT", "/api/v1/glossary/Term", b'{"definition": 3}', "definition"),
        ("PUT", "/api/v1/glossary/Term", b'{"definition": "x", "columns": "a.b.c.d"}', "columns"),
        (
            "PUT",
            "/api/v1/zones/emea",
            b'{"kind": "moon", "region": "x", "storage_root": "/"}',
            "kind",
        ),
        ("PUT", "/api/v1/domains/hr", b"{}", "zone"),
        ("POST", "/api/v1/principals", b'{"name": "", "kind": "person"}', "name"),
        ("POST", "/api/v1/principals", b'{"name": "a", "kind": "robot"}', "kind"),
        (
            "POST",
            "/api/v1/products/hr/employees/versions",
            b'{"run_id": "r", "decision_id": 1, "ports": [{}]}',
            "ports.0.port",
        ),
        ("POST", "/api/v1/products/hr/employees/decisions", b'{"ports": []}', "run_id"),
        ("POST", "/api/v1/lineage", b'{"eventType": "COMPLETE"}', "eventTime"),
        ("POST", "/api/v1/lineage/batch", b"[{}]", "[0]"),
        ("POST", "/api/v1/lineage", "\u00e9".encode("latin-1"), "body"),
    ],
)
def test_malformed_payloads_are_422_naming_the_field(
    small: Service, method: str, path: str, content: bytes, field: str
) -> None:
    with small.client() as client:
        response = client.request(
            method, path, content=content, headers={"Content-Type": "application/json"}
        )

    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(field), response.json()
