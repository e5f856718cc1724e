"""Several workers of `meshlake governance serve` on one PostgreSQL database.

Two worker processes answer requests, their metrics add up in every scrape whichever worker
answers it, the webhook deliverers of both send each delivery once, the migrations run once however
many processes start together, and the SLA schedule measures in one process at a time. SQLite is
refused with several workers.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import text

from meshlake.governance import upgrade
from meshlake.governance.db._engine import make_engine, session_factory
from meshlake.governance.db._head import schema_behind
from meshlake.governance.services._sla_schedule import SLA_LOCK_KEY, SlaSchedule
from meshlake.governance.services._webhooks import notify
from tests.governance._serve_process import environment, run_serve, serving
from tests.governance._webhook_receiver import Receiver, wait_for
from tests.governance.test_scale_probes_metrics import LATENCY, scrape, value

pytestmark = [pytest.mark.integration, pytest.mark.scale]

TOKEN = "mlk_scale_workers_token"


@pytest.fixture
def postgres(postgres_database: str) -> str:
    return postgres_database


def test_several_workers_are_refused_on_sqlite(tmp_path: Path) -> None:
    env = environment(f"sqlite:///{tmp_path / 'governance.db'}", TOKEN)
    refused = run_serve(env, "--workers", "2")
    assert refused.returncode == 1, refused.stderr
    message = " ".join(refused.stderr.split())  # the console wraps long lines
    assert "--workers 2" in message and "PostgreSQL" in message and "--workers 1" in message
    assert not (tmp_path / "governance.db").exists()


def test_two_workers_share_metrics_and_deliver_each_webhook_once(
    tmp_path: Path, postgres: str
) -> None:
    receiver = Receiver().start()
    env = environment(postgres, TOKEN, MESHLAKE_WEBHOOK_POLL_INTERVAL="0.2")
    admin = {"Authorization": f"Bearer {TOKEN}"}
    try:
        with serving(tmp_path, env, "--workers", "2", "--log-format", "json") as served:
            sent = _until_both_workers_answered(served.url, admin, served.json_lines)
            scrapes = [scrape(served.url) for _ in range(4)]
            hook = _subscribe(served.url, admin, receiver)
            _notify_many(postgres, 30)
            wait_for(lambda: len(set(_deliveries(receiver))) == 30, "30 deliveries", 60)
            time.sleep(1.5)  # several polls of both deliverers: a second send would show now
            pids = {line["pid"] for line in served.json_lines() if "route" in line}
    finally:
        receiver.stop()

    assert len(pids) == 2, pids
    route = {"route": "/api/v1/audit", "method": "GET", "status": "200"}
    # Whichever worker answered the scrape, it counted every worker's requests.
    assert [value(each, f"{LATENCY}_count", **route) for each in scrapes] == [sent] * 4
    # The pool gauges add the workers' pools (5 connections each, SQLAlchemy's default).
    assert value(scrapes[-1], "meshlake_governance_db_pool_size") == 10
    deliveries = _deliveries(receiver)
    assert len(deliveries) == 30 and len(set(deliveries)) == 30, hook
    with psycopg.connect(postgres) as connection:
        versions = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    assert len(versions) == 1


def _until_both_workers_answered(
    url: str, headers: dict[str, str], lines: Callable[[], list[dict[str, Any]]]
) -> int:
    """Audit reads on fresh connections, 8 at a time, until both workers have answered some;
    how many were sent."""
    sent = 0

    def read(_: int) -> int:
        return httpx.get(f"{url}/api/v1/audit", headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        while sent < 400:
            statuses = list(pool.map(read, range(16)))
            assert statuses == [200] * 16, statuses
            sent += 16
            access = [line for line in lines() if line.get("route") == "/api/v1/audit"]
            if len({line["pid"] for line in access}) == 2 and len(access) == sent:
                return sent
    raise AssertionError("one worker answered every request")


def _subscribe(url: str, headers: dict[str, str], receiver: Receiver) -> int:
    zone = {"kind": "data", "region": "westeurope", "storage_root": "/tmp/meshlake-scale"}
    httpx.put(f"{url}/api/v1/zones/scale", json=zone, headers=headers).raise_for_status()
    domain = httpx.put(f"{url}/api/v1/domains/sales", json={"zone": "scale"}, headers=headers)
    domain.raise_for_status()
    body = {"subscriber": "domain:sales", "url": receiver.url("/hook"), "events": ["load.*"]}
    created = httpx.post(f"{url}/api/v1/webhooks", json=body, headers=headers, timeout=30)
    assert created.status_code == 201, created.text
    receiver.secrets["/hook"] = created.json()["secret"]
    return int(created.json()["id"])


def _notify_many(database_url: str, count: int) -> None:
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as session, session.begin():
            for n in range(count):
                notify(session, ["domain:sales"], "load.test", {"n": n})
    finally:
        engine.dispose()


def _deliveries(receiver: Receiver) -> list[str]:
    return [r.headers["X-Meshlake-Delivery"] for r in receiver.received if r.path == "/hook"]


def test_migrations_run_once_however_many_processes_start_together(postgres: str) -> None:
    script = "import sys; from meshlake.governance.db._head import upgrade_once; upgrade_once(sys.argv[1])"
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", script, postgres],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outcomes = [
        (start.wait(timeout=300), start.stderr.read() if start.stderr else "") for start in starts
    ]
    assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
    engine = make_engine(postgres)
    try:
        with engine.connect() as connection:
            assert schema_behind(connection) is None
    finally:
        engine.dispose()


def test_the_sla_schedule_skips_while_another_process_measures(postgres: str) -> None:
    upgrade(postgres)
    engine = make_engine(postgres)
    schedule = SlaSchedule(session_factory(engine), 60, lambda: datetime.now(UTC))
    try:
        with engine.connect() as other:  # another process, as far as PostgreSQL can tell
            other.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SLA_LOCK_KEY})
            skipped = schedule.run_due()
            runs_while_held = schedule.runs
            other.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SLA_LOCK_KEY})
            other.commit()
        measured = schedule.run_due()
    finally:
        engine.dispose()
    assert skipped == 0 and runs_while_held == 0
    assert measured == 0 and schedule.runs == 1  # it ran (no agreement to measure yet)
