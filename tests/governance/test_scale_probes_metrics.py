"""Probes, request ids and Prometheus metrics of the governance service, over real HTTP.

/healthz and /readyz answer without a token; /readyz refuses (503, Retry-After) while the service
is saturated or its schema is behind the migrations. /metrics is parsed with prometheus_client's
own text parser, before and after some requests, and the counts must move by what was sent.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from meshlake.governance import (
    GovernanceSettings,
    create_app,
    downgrade,
    serve_in_thread,
    upgrade,
)
from tests.governance.conftest import BOOTSTRAP, Service

pytestmark = pytest.mark.integration

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

LATENCY = "meshlake_governance_http_request_duration_seconds"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json"


def scrape(url: str) -> Samples:
    """Every sample of ``GET /metrics``, keyed by name and labels (no token sent)."""
    response = httpx.get(f"{url}/metrics", timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def run_event(job: str) -> dict[str, Any]:
    return {
        "eventType": "START",
        "eventTime": "2026-12-01T07:00:00Z",
        "producer": "https://example.com/scale-tests",
        "schemaURL": f"{SCHEMA_URL}#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "scale-tests", "name": f"scale.{job}"},
    }


@pytest.fixture(scope="module")
def producer(service: Service) -> str:
    """A service account that records the lineage of the ``scale`` domain's jobs."""
    with service.client() as admin:
        zone = {"kind": "data", "region": "westeurope", "storage_root": "/tmp/meshlake-scale"}
        admin.put("/api/v1/zones/scale", json=zone).raise_for_status()
        admin.put("/api/v1/domains/scale", json={"zone": "scale"}).raise_for_status()
    grants = [{"role": "domain_member", "domain": "scale"}]
    return service.token("scale-lineage-bot", kind="service", grants=grants)


def test_probes_answer_without_a_token(service: Service) -> None:
    with service.client(token=None) as anonymous:
        alive = anonymous.get("/healthz")
        ready = anonymous.get("/readyz")
        older = anonymous.get("/api/v1/health/ready")
        refused = anonymous.get("/api/v1/audit")
    assert alive.status_code == 200 and alive.json() == {"status": "alive"}
    assert ready.status_code == 200 and ready.json()["status"] == "ok"
    assert ready.json()["max_in_flight"] >= 1
    assert older.status_code == 200  # the routes of before still answer
    assert refused.status_code == 401  # while the API itself still wants a token


def test_a_request_id_is_echoed_or_made(service: Service) -> None:
    with service.client(token=None) as anonymous:
        echoed = anonymous.get("/healthz", headers={"X-Request-ID": "trace-42.a"})
        made = anonymous.get("/healthz")
        unusable = anonymous.get("/healthz", headers={"X-Request-ID": "x" * 200})
        refused = anonymous.get("/api/v1/audit", headers={"X-Request-ID": "trace-43"})
    assert echoed.headers["x-request-id"] == "trace-42.a"
    assert len(made.headers["x-request-id"]) == 32
    int(made.headers["x-request-id"], 16)  # a uuid4 hex
    assert len(unusable.headers["x-request-id"]) == 32  # too long to echo: replaced
    assert refused.headers["x-request-id"] == "trace-43"


def test_metrics_count_requests_by_route_template_and_ingested_events(
    service: Service, producer: str
) -> None:
    before = scrape(service.url)
    with service.client() as admin:
        for number in (990001, 990002, 990003):
            assert admin.get(f"/api/v1/principals/nobody-{number}").status_code == 404
        assert admin.get("/no/such/path").status_code == 404
    with service.client(producer) as bot:
        one = bot.post("/api/v1/lineage", json=run_event("single"))
        batch = bot.post("/api/v1/lineage/batch", json=[run_event(f"b{n}") for n in range(3)])
        invalid = bot.post("/api/v1/lineage", json={"eventTime": "not a time"})
    assert one.status_code == 201 and batch.status_code == 201, (one.text, batch.text)
    assert invalid.status_code == 422
    after = scrape(service.url)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    principal = {"route": "/api/v1/principals/{name}", "method": "GET", "status": "404"}
    assert moved(f"{LATENCY}_count", **principal) == 3
    assert moved(f"{LATENCY}_bucket", **principal, le="+Inf") == 3
    assert moved(f"{LATENCY}_sum", **principal) > 0
    assert moved(f"{LATENCY}_count", route="unmatched", method="GET", status="404") == 1
    lineage = {"route": "/api/v1/lineage", "method": "POST"}
    assert moved(f"{LATENCY}_count", **lineage, status="201") == 1
    assert moved(f"{LATENCY}_count", **lineage, status="422") == 1
    # Four events recorded (one, then a batch of three); the refused one is not counted.
    assert moved("meshlake_governance_lineage_events_total") == 4
    # Paths are never labels: the numbers sent appear in no series.
    assert not any("990001" in str(key) for key in after)
    assert value(after, "meshlake_governance_db_pool_size") >= 1
    assert value(after, "meshlake_governance_db_pool_checked_out") >= 0
    assert ("meshlake_governance_db_pool_overflow", frozenset()) in after
    assert value(after, "meshlake_governance_shed_requests_total", reason="saturated") == 0


@pytest.fixture
def bounded(database_url: str) -> Iterator[tuple[str, Any]]:
    """A second service on the same database that admits one request at a time."""
    upgrade(database_url)
    settings = GovernanceSettings(
        database_url=database_url, bootstrap_token=BOOTSTRAP, max_in_flight=1, sla_interval=0
    )
    app = create_app(settings)
    running = serve_in_thread(app)
    yield running.url, app
    running.stop()
    app.state.engine.dispose()


def test_shed_requests_are_counted_and_the_probes_still_answer(
    bounded: tuple[str, Any],
) -> None:
    url, app = bounded
    headers = {"Authorization": f"Bearer {BOOTSTRAP}"}
    address = urlsplit(url)
    # A client that sends half a body and waits: its request is in flight until it hangs up.
    held = socket.create_connection((address.hostname, address.port))
    try:
        held.sendall(
            b"POST /api/v1/lineage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"eventTime": '
        )
        _wait(lambda: app.state.load.in_flight == 1, "the held request to be in flight")
        shed = httpx.get(f"{url}/api/v1/audit", headers=headers, timeout=10)
        alive = httpx.get(f"{url}/healthz", timeout=10)
        unready = httpx.get(f"{url}/readyz", timeout=10)
        during = scrape(url)
    finally:
        held.close()
    _wait(lambda: app.state.load.in_flight == 0, "the hung-up request to leave")
    ready = httpx.get(f"{url}/readyz", timeout=10)
    after = scrape(url)

    assert shed.status_code == 503 and shed.headers["retry-after"] == "1", shed.text
    assert alive.status_code == 200
    assert unready.status_code == 503 and "saturated" in unready.json()["detail"]
    assert unready.headers["retry-after"] == "1"
    assert value(during, "meshlake_governance_shed_requests_total", reason="saturated") == 1
    # The probe's own 503 reports the saturation; it is not a shed request.
    assert value(during, "meshlake_governance_shed_requests_total", reason="database") == 0
    # A shed request never reached the routes: its latency is counted apart from routed ones.
    assert value(during, f"{LATENCY}_count", route="unrouted", method="GET", status="503") == 1
    # The client that went away freed its place: the service takes work again, nothing leaked.
    assert ready.status_code == 200, ready.text
    assert value(after, "meshlake_governance_db_pool_checked_out") == 0
    assert value(after, "meshlake_governance_shed_requests_total", reason="saturated") == 1
    # The client that hung up mid-body is counted as gone (499), never as a failure (5xx) of
    # the service; it left before its request reached a route.
    gone = {"route": "unrouted", "method": "POST", "status": "499"}
    assert value(after, f"{LATENCY}_count", **gone) == 1
    failures = [key for key in after if ("status", "500") in key[1]]
    assert failures == [], failures


@pytest.mark.parametrize("schema", ["none", "one behind"])
def test_readiness_refuses_a_schema_behind_the_migrations(tmp_path: Path, schema: str) -> None:
    url = f"sqlite:///{tmp_path / 'governance.db'}"
    if schema == "one behind":
        upgrade(url)
        downgrade(url, "-1")
    settings = GovernanceSettings(
        database_url=url, bootstrap_token=BOOTSTRAP, sla_interval=0, webhook_poll_interval=60
    )
    app = create_app(settings)
    running = serve_in_thread(app)
    try:
        alive = httpx.get(f"{running.url}/healthz", timeout=10)
        behind = httpx.get(f"{running.url}/readyz", timeout=10)
        upgrade(url)
        ready = httpx.get(f"{running.url}/readyz", timeout=10)
    finally:
        running.stop()
        app.state.engine.dispose()
    assert alive.status_code == 200
    assert behind.status_code == 503 and behind.headers["retry-after"] == "1"
    detail = behind.json()["detail"]
    expected = "no governance schema" if schema == "none" else "not at the migrations' head"
    assert expected in detail and "meshlake governance migrate" in detail, detail
    assert ready.status_code == 200, ready.text


def _wait(check: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
