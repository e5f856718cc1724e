"""Webhooks over real HTTP on SQLite and PostgreSQL, delivered to a real receiver on 127.0.0.1.

The receiver checks every signature and deduplicates on X-Meshlake-Delivery, as a real one should;
notifications are written with ``notify`` in transactions of this process against the service's own
database, as the services that call it do.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from meshlake.governance import (
    GovernanceSettings,
    RunningServer,
    create_app,
    serve_in_thread,
    upgrade,
    verify_signature,
)
from meshlake.governance._errors import InvalidRequestError
from meshlake.governance.db._engine import make_engine, session_factory
from meshlake.governance.db._tables import WebhookDelivery, utcnow
from meshlake.governance.services._webhooks import (
    Backoff,
    Deliverer,
    DeliverySettings,
    notify,
    sign,
)
from tests.governance._webhook_receiver import Receiver, free_port, wait_for
from tests.governance.conftest import BOOTSTRAP, Service

pytestmark = pytest.mark.integration

POLL = 0.05
TIMEOUT = 0.5
MAX_ATTEMPTS = 5


def _settings(database_url: str) -> GovernanceSettings:
    return GovernanceSettings(
        database_url=database_url,
        bootstrap_token=BOOTSTRAP,
        webhook_poll_interval=POLL,
        webhook_backoff_base=0.2,
        webhook_backoff_max=1.0,
        webhook_max_attempts=MAX_ATTEMPTS,
        webhook_timeout=TIMEOUT,
    )


# -- the service, which tests may stop and start again -------------------------------------------


@dataclass
class Hooks:
    database_url: str
    running: RunningServer | None = None
    app: Any = None

    def start(self) -> None:
        self.app = create_app(_settings(self.database_url))
        self.running = serve_in_thread(self.app)

    def stop(self) -> None:
        assert self.running is not None
        self.running.stop()
        self.app.state.engine.dispose()
        self.running = None

    @property
    def service(self) -> Service:
        assert self.running is not None, "the service is stopped"
        return Service(self.running.url, self.database_url)

    def client(self, token: str | None = BOOTSTRAP) -> httpx.Client:
        return self.service.client(token)


@pytest.fixture(scope="module")
def hooks(database_url: str) -> Iterator[Hooks]:
    upgrade(database_url)
    running = Hooks(database_url)
    running.start()
    with running.client() as admin:
        zone = {"kind": "data", "region": "westeurope", "storage_root": "/tmp/meshlake-emea"}
        admin.put("/api/v1/zones/emea", json=zone).raise_for_status()
        for domain in ("hr", "sales"):
            admin.put(f"/api/v1/domains/{domain}", json={"zone": "emea"}).raise_for_status()
    yield running
    if running.running is not None:
        running.stop()


@pytest.fixture(scope="module")
def sessions(database_url: str, hooks: Hooks) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def tokens(hooks: Hooks) -> dict[str, str]:
    grants = {
        "hr_owner": [{"role": "domain_owner", "domain": "hr"}],
        "hr_member": [{"role": "domain_member", "domain": "hr"}],
        "sales_owner": [{"role": "domain_owner", "domain": "sales"}],
        "partner": [{"role": "consumer"}],
    }
    return {
        name: hooks.service.token(f"{name}@example.com", grants=granted)
        for name, granted in grants.items()
    }


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver(slow_for=TIMEOUT * 2).start()
    yield running
    running.stop()


def _register(
    hooks: Hooks,
    receiver: Receiver,
    path: str,
    subscriber: str = "domain:hr",
    events: list[str] | None = None,
    token: str = BOOTSTRAP,
) -> int:
    body: dict[str, Any] = {"subscriber": subscriber, "url": receiver.url(path)}
    if events is not None:
        body["events"] = events
    with hooks.client(token) as client:
        response = client.post("/api/v1/webhooks", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    receiver.secrets[path] = created["secret"]
    return int(created["id"])


def _notify(
    sessions: sessionmaker[Session], subscribers: list[str], event: str, data: dict[str, Any]
) -> list[int]:
    with sessions() as session, session.begin():
        return notify(session, subscribers, event, data)


def _mine(hooks: Hooks, webhook: int, ids: list[int]) -> int:
    """The one delivery among ``ids`` (a notify's result) that goes to ``webhook``."""
    [delivery] = [row["id"] for row in _deliveries(hooks, webhook) if row["id"] in ids]
    return int(delivery)


def _deliveries(hooks: Hooks, webhook: int, **params: Any) -> list[dict[str, Any]]:
    with hooks.client() as admin:
        response = admin.get(f"/api/v1/webhooks/{webhook}/deliveries", params=params)
    assert response.status_code == 200, response.text
    return list(response.json())


def _delivery(hooks: Hooks, webhook: int, delivery: int) -> dict[str, Any]:
    return next(row for row in _deliveries(hooks, webhook) if row["id"] == delivery)


def _settled(hooks: Hooks, webhook: int, delivery: int) -> dict[str, Any] | None:
    row = _delivery(hooks, webhook, delivery)
    return row if row["status"] in ("delivered", "dead") else None


# -- signatures -----------------------------------------------------------------------------------


@pytest.mark.unit
def test_signature_covers_timestamp_and_body_and_refuses_replays() -> None:
    body = b'{"id":"x","event":"agreement.approved"}'
    now = time.time()
    stamp = str(int(now))
    header = sign("s3cret", stamp, body)
    assert header.startswith("sha256=") and len(header) == len("sha256=") + 64
    assert verify_signature("s3cret", stamp, body, header, now=now)
    assert verify_signature("s3cret", stamp, body.decode(), header, now=now)
    assert not verify_signature("other", stamp, body, header, now=now)
    assert not verify_signature("s3cret", stamp, body + b" ", header, now=now)
    assert not verify_signature("s3cret", str(int(now) + 1), body, header, now=now)
    assert not verify_signature("s3cret", "yesterday", body, header, now=now)
    # The same request, replayed after the tolerance, is refused.
    assert not verify_signature("s3cret", stamp, body, header, now=now + 301)
    assert verify_signature("s3cret", stamp, body, header, now=now + 30, tolerance=60)


@pytest.mark.unit
def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    backoff = Backoff(base=10, maximum=100)
    for attempt, cap in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (12, 100)]:
        delays = [backoff.delay(attempt) for _ in range(200)]
        assert all(cap / 2 <= delay <= cap for delay in delays), (attempt, min(delays), max(delays))
        assert max(delays) - min(delays) > cap / 10  # jittered, not one fixed value


# -- subscriptions --------------------------------------------------------------------------------


def test_register_shows_the_secret_once_and_validates_clearly(
    hooks: Hooks, tokens: dict[str, str], receiver: Receiver
) -> None:
    with hooks.client(tokens["hr_owner"]) as owner:
        created = owner.post(
            "/api/v1/webhooks",
            json={
                "subscriber": "domain:hr",
                "url": receiver.url("/hr"),
                "description": "hr's agreements",
            },
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["secret"].startswith("mlk_whsec_")
        assert body["events"] == ["*"] and body["subscriber"] == "domain:hr"
        listed = owner.get("/api/v1/webhooks").json()
        mine = next(row for row in listed if row["id"] == body["id"])
        assert "secret" not in mine and body["secret"] not in json.dumps(listed)
        assert mine["description"] == "hr's agreements"

        cases = [
            (
                {"subscriber": "domain:hr", "url": "ftp://example.com/x"},
                "url: 'ftp://example.com/x'",
            ),
            ({"subscriber": "domain:hr", "url": "hooks.example.com"}, "url: "),
            ({"subscriber": "domain:hr", "url": "https://u:p@example.com/"}, "url: credentials"),
            ({"subscriber": "domain:hr", "url": "http://127.0.0.1:99999/"}, "url: "),
            ({"subscriber": "domain:hr", "url": receiver.url("/"), "events": []}, "events: "),
            (
                {"subscriber": "domain:hr", "url": receiver.url("/"), "events": ["a b"]},
                "events.0: 'a b'",
            ),
            ({"subscriber": "team:hr", "url": receiver.url("/")}, "subscriber: 'team:hr'"),
            ({"url": receiver.url("/")}, "subscriber: Field required"),
            ({"subscriber": "domain:hr\u0000", "url": receiver.url("/")}, "subscriber: contains"),
            ({"subscriber": "domain:hr", "url": receiver.url("/\u0000")}, "url: contains"),
            (
                {"subscriber": "domain:hr", "url": receiver.url("/"), "description": "a\u0000"},
                "description: contains",
            ),
        ]
        # A lone surrogate is valid JSON but not text (PostgreSQL could not store it).
        raw = b'{"subscriber": "domain:hr", "url": "http://h/", "description": "\\ud800"}'
        refused = owner.post(
            "/api/v1/webhooks", content=raw, headers={"Content-Type": "application/json"}
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"].startswith("description: ")
        for payload, start in cases:
            refused = owner.post("/api/v1/webhooks", json=payload)
            assert refused.status_code == 422, (payload, refused.text)
            assert refused.json()["detail"].startswith(start), (payload, refused.json())
        for path in ("/api/v1/webhooks/99999999999/deliveries", "/api/v1/webhooks/0/deliveries"):
            assert owner.get(path).status_code == 422, path
        assert owner.get("/api/v1/webhooks/2147483647/deliveries").status_code == 404
        assert owner.get("/api/v1/webhooks", params={"subscriber": "hr"}).status_code == 422
    with hooks.client() as admin:
        unknown = admin.post(
            "/api/v1/webhooks", json={"subscriber": "domain:nope", "url": receiver.url("/")}
        )
        assert unknown.status_code == 422
        assert "domain 'nope' is not in the catalog" in unknown.json()["detail"]
        nobody = admin.post(
            "/api/v1/webhooks", json={"subscriber": "principal:nobody", "url": receiver.url("/")}
        )
        assert nobody.status_code == 422 and "does not exist" in nobody.json()["detail"]


def test_only_owners_manage_a_domains_webhooks(
    hooks: Hooks, tokens: dict[str, str], receiver: Receiver
) -> None:
    hr_hook = {"subscriber": "domain:hr", "url": receiver.url("/hr")}
    for who in ("hr_member", "sales_owner", "partner"):
        with hooks.client(tokens[who]) as client:
            refused = client.post("/api/v1/webhooks", json=hr_hook)
        assert refused.status_code == 403, (who, refused.text)
        assert "domain_owner role of domain 'hr'" in refused.json()["detail"]
    with hooks.client(tokens["partner"]) as partner:
        other = partner.post(
            "/api/v1/webhooks",
            json={"subscriber": "principal:hr_owner@example.com", "url": receiver.url("/p")},
        )
        assert other.status_code == 403
        own = partner.post(
            "/api/v1/webhooks",
            json={"subscriber": "principal:partner@example.com", "url": receiver.url("/p")},
        )
        assert own.status_code == 201, own.text
        partner_hook = own.json()["id"]
        assert [row["id"] for row in partner.get("/api/v1/webhooks").json()] == [partner_hook]
    hr_id = _register(hooks, receiver, "/hr", token=tokens["hr_owner"])

    with hooks.client(tokens["sales_owner"]) as sales:
        assert hr_id not in [row["id"] for row in sales.get("/api/v1/webhooks").json()]
        assert sales.get(f"/api/v1/webhooks/{hr_id}/deliveries").status_code == 403
        assert sales.delete(f"/api/v1/webhooks/{hr_id}").status_code == 403
    with hooks.client(tokens["hr_owner"]) as owner:
        seen = {row["id"] for row in owner.get("/api/v1/webhooks").json()}
        assert hr_id in seen and partner_hook not in seen
        assert owner.post("/api/v1/webhooks/deliveries/1/retry").status_code == 403
    with hooks.client() as admin:
        everything = {row["id"] for row in admin.get("/api/v1/webhooks").json()}
        assert {hr_id, partner_hook} <= everything
        audit = admin.get("/api/v1/audit", params={"action": "webhook.registered"}).json()
        assert {entry["target"] for entry in audit} >= {str(hr_id), str(partner_hook)}
        refusals = admin.get("/api/v1/audit", params={"principal": "sales_owner@example.com"})
        assert any(entry["outcome"] == "refused" for entry in refusals.json())


# -- delivery -------------------------------------------------------------------------------------


def test_failing_receiver_gets_it_exactly_once_after_growing_backoff(
    hooks: Hooks, sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    receiver.scripts["/flaky"] = ["500", "drop", "slow"]
    webhook = _register(hooks, receiver, "/flaky")
    data = {"agreement": 7, "state": "approved"}
    ids = _notify(sessions, ["domain:hr", "domain:sales"], "agreement.approved", data)
    delivery = _mine(hooks, webhook, ids)

    row = wait_for(lambda: _settled(hooks, webhook, delivery), "the delivery to settle")
    assert row["status"] == "delivered" and row["webhook_id"] == webhook, row
    assert row["attempts"] == 4 and row["last_error"] is None and row["last_status_code"] == 200
    history = row["history"]
    assert [entry["outcome"] for entry in history] == ["failed", "failed", "failed", "delivered"]
    assert [entry["status_code"] for entry in history] == [500, None, None, 200]
    assert history[0]["error"].startswith("HTTP 500")
    assert "RemoteProtocolError" in history[1]["error"]
    assert "timeout" in history[2]["error"]
    waits = [entry["retry_in"] for entry in history[:3]]
    assert waits[0] < waits[1] < waits[2], waits

    requests = receiver.requests(row["event_id"])
    assert [r.answered for r in requests] == ["500", "drop", "slow", "200"]
    assert all(r.verified for r in requests)
    assert len({r.body for r in requests}) == 1  # every retry sends the same signed bytes
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(requests)]
    # Never early: each retry waits at least its backoff (the slow attempt adds its timeout).
    assert all(gap >= wait * 0.95 for gap, wait in zip(gaps, waits, strict=True)), (gaps, waits)

    envelope = json.loads(requests[0].body)
    assert envelope["id"] == row["event_id"] and envelope["event"] == "agreement.approved"
    assert envelope["subscriber"] == "domain:hr" and envelope["data"] == data
    assert datetime.fromisoformat(envelope["occurred_at"]).utcoffset() is not None
    headers = requests[-1].headers
    assert headers["X-Meshlake-Event"] == "agreement.approved"
    assert headers["Content-Type"] == "application/json"

    time.sleep(POLL * 10)  # nothing more comes once the receiver said 2xx
    assert len(receiver.requests(row["event_id"])) == 4
    assert receiver.processed.count(row["event_id"]) == 1


def test_events_filter_and_deleted_webhooks_get_nothing(
    hooks: Hooks, sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    agreements = _register(hooks, receiver, "/agreements", events=["agreement.*"])
    incidents = _register(hooks, receiver, "/incidents", "domain:sales", events=["sla.incident.*"])
    ids = _notify(sessions, ["domain:hr", "domain:sales"], "sla.incident.opened", {"id": 1})
    [row] = [r for r in _deliveries(hooks, incidents) if r["id"] in ids]
    assert not [r for r in _deliveries(hooks, agreements) if r["id"] in ids]
    wait_for(lambda: _settled(hooks, incidents, row["id"]), "the incident delivery")
    assert [b["event"] for b in receiver.bodies()] == ["sla.incident.opened"]

    # Not JSON, or not a subscriber: the notifier's mistake, named.
    with pytest.raises(InvalidRequestError, match="payload: not JSON"):
        _notify(sessions, ["domain:hr"], "agreement.approved", {"at": object()})
    with pytest.raises(InvalidRequestError, match="subscribers: 'hr' is not a subscriber"):
        _notify(sessions, ["hr"], "agreement.approved", {})

    # Deleting a webhook cancels what it had pending, and it gets nothing new.
    staying = _register(hooks, receiver, "/staying", events=["agreement.revoked"])
    receiver.down.add("/agreements")
    ids = _notify(sessions, ["domain:hr"], "agreement.approved", {"id": 2})
    pending = _mine(hooks, agreements, ids)
    wait_for(lambda: _delivery(hooks, agreements, pending)["attempts"] >= 1, "a failed attempt")
    with hooks.client() as admin:
        assert admin.delete(f"/api/v1/webhooks/{agreements}").status_code == 204
        assert admin.delete(f"/api/v1/webhooks/{agreements}").status_code == 404
        assert admin.get(f"/api/v1/webhooks/{agreements}/deliveries").status_code == 404
    with sessions() as session:
        cancelled = session.get(WebhookDelivery, pending)
        assert cancelled is not None and cancelled.status == "cancelled"
    ids = _notify(sessions, ["domain:hr"], "agreement.revoked", {"id": 3})
    with sessions() as session:
        targets = session.scalars(
            select(WebhookDelivery.subscription_id).where(WebhookDelivery.id.in_(ids))
        ).all()
    assert len(targets) == len(ids) and agreements not in targets and staying in targets
    time.sleep(TIMEOUT)  # an attempt already in flight when it was deleted has ended
    seen = [r for r in receiver.received if r.path == "/agreements"]
    time.sleep(1.5)  # past the longest backoff
    assert [r for r in receiver.received if r.path == "/agreements"] == seen


def test_a_slow_receiver_gets_one_request_at_a_time_and_holds_up_no_one(
    hooks: Hooks, sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    receiver.scripts["/stuck"] = ["slow"] * 3
    stuck = _register(hooks, receiver, "/stuck", "domain:hr", events=["fair.*"])
    fast = _register(hooks, receiver, "/fast", "domain:sales", events=["fair.*"])
    with sessions() as session, session.begin():
        for n in range(6):  # queued first, each answered only after the timeout
            notify(session, ["domain:hr"], "fair.test", {"n": n})
        ids = notify(session, ["domain:sales"], "fair.test", {"n": 6})
    quick = _mine(hooks, fast, ids)
    row = wait_for(lambda: _settled(hooks, fast, quick), "the fast receiver's delivery", 10)
    assert row["status"] == "delivered" and row["attempts"] == 1
    # It went out while the slow receiver's first deliveries were still timing out.
    assert len(_deliveries(hooks, stuck, status="delivered")) == 0
    # One request at a time: the next goes out only once the one before has timed out.
    wait_for(lambda: len(_arrivals(receiver, "/stuck")) >= 3, "three slow attempts")
    arrivals = _arrivals(receiver, "/stuck")
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert all(gap >= TIMEOUT * 0.9 for gap in gaps), gaps


def _arrivals(receiver: Receiver, path: str) -> list[float]:
    with receiver._lock:
        return sorted(r.at for r in receiver.received if r.path == path)


def test_a_rolled_back_change_sends_nothing(
    hooks: Hooks, sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    webhook = _register(hooks, receiver, "/tx", "domain:sales")
    with pytest.raises(RuntimeError), sessions() as session, session.begin():
        rolled_back = notify(session, ["domain:sales"], "agreement.rejected", {"marker": "undone"})
        assert rolled_back
        raise RuntimeError("the state change failed after notifying")
    kept = _mine(
        hooks,
        webhook,
        _notify(sessions, ["domain:sales"], "agreement.rejected", {"marker": "kept"}),
    )
    wait_for(lambda: _settled(hooks, webhook, kept), "the committed delivery")
    time.sleep(POLL * 10)
    markers = [body["data"]["marker"] for body in receiver.bodies()]
    assert markers == ["kept"]
    assert [row["id"] for row in _deliveries(hooks, webhook)] == [kept]


def test_two_deliverers_on_one_database_never_send_twice(
    hooks: Hooks, sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    webhook = _register(hooks, receiver, "/many", "domain:sales", events=["load.*"])
    second = create_app(_settings(hooks.database_url))
    running = serve_in_thread(second)
    try:
        with sessions() as session, session.begin():
            for n in range(40):
                notify(session, ["domain:sales"], "load.test", {"n": n})
        assert len(_deliveries(hooks, webhook)) == 40
        wait_for(
            lambda: len(_deliveries(hooks, webhook, status="delivered")) == 40,
            "all 40 deliveries",
        )
    finally:
        running.stop()
        second.state.engine.dispose()
    time.sleep(POLL * 10)
    delivered = [r.headers["X-Meshlake-Delivery"] for r in receiver.received if r.path == "/many"]
    assert len(delivered) == 40 and len(set(delivered)) == 40
    assert sorted(body["data"]["n"] for body in receiver.bodies()) == list(range(40))
    assert all(row["attempts"] == 1 for row in _deliveries(hooks, webhook))


def test_racing_deliverers_claim_each_delivery_once(
    hooks: Hooks, sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    """Deliverers that both saw a row as due race to lease it: exactly one wins, every time."""
    _register(hooks, receiver, "/race", "domain:sales", events=["race.*"])
    with sessions() as session, session.begin():
        ids = [i for n in range(20) for i in notify(session, ["domain:sales"], "race.test", {})]
        for delivery in ids:  # not due for an hour: only the racers below look at them
            row = session.get(WebhookDelivery, delivery)
            assert row is not None
            row.next_attempt_at = utcnow() + timedelta(hours=1)
    racers = [Deliverer(sessions, DeliverySettings.from_settings(_settings(""))) for _ in range(2)]
    try:
        for delivery in ids:
            winners = _race(racers, delivery)
            assert len(winners) == 1, (delivery, winners)
    finally:
        for racer in racers:
            racer.stop()
        with sessions() as session, session.begin():
            for delivery in ids:
                row = session.get(WebhookDelivery, delivery)
                assert row is not None
                row.status = "cancelled"
    assert receiver.received == []


def _race(racers: list[Deliverer], delivery: int) -> list[str]:
    """The racers that leased ``delivery``, all trying at the same moment."""
    start = threading.Barrier(len(racers))
    won: list[str] = []

    def take(racer: Deliverer) -> None:
        start.wait()
        if racer._take(delivery) is not None:
            won.append(racer.owner)

    threads = [threading.Thread(target=take, args=(racer,)) for racer in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return won


def test_dead_deliveries_stay_visible_and_an_admin_retries_them(
    hooks: Hooks, tokens: dict[str, str], sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    receiver.down.add("/down")
    webhook = _register(hooks, receiver, "/down", "domain:hr", events=["sla.*"])
    ids = _notify(sessions, ["domain:hr"], "sla.incident.resolved", {"incident": 3})
    delivery = _mine(hooks, webhook, ids)
    row = wait_for(lambda: _settled(hooks, webhook, delivery), "the delivery to die")
    assert row["status"] == "dead" and row["attempts"] == MAX_ATTEMPTS
    assert row["next_attempt_at"] is None and row["last_status_code"] == 503
    assert [entry["outcome"] for entry in row["history"]][-1] == "dead"
    assert [r["id"] for r in _deliveries(hooks, webhook, status="dead")] == [delivery]

    receiver.down.discard("/down")
    with hooks.client(tokens["hr_owner"]) as owner:
        # The owner sees the dead delivery but retrying is the admin's.
        assert owner.get(f"/api/v1/webhooks/{webhook}/deliveries").status_code == 200
        assert owner.post(f"/api/v1/webhooks/deliveries/{delivery}/retry").status_code == 403
    with hooks.client() as admin:
        retried = admin.post(f"/api/v1/webhooks/deliveries/{delivery}/retry")
        assert retried.status_code == 200, retried.text
        assert retried.json()["status"] in ("pending", "delivered")
        row = wait_for(lambda: _settled(hooks, webhook, delivery), "the retried delivery")
        assert row["status"] == "delivered" and row["attempts"] == 1
        assert [entry["outcome"] for entry in row["history"]][-2:] == ["requeued", "delivered"]
        again = admin.post(f"/api/v1/webhooks/deliveries/{delivery}/retry")
        assert again.status_code == 409 and "is delivered" in again.json()["detail"]
        assert admin.post("/api/v1/webhooks/deliveries/999999/retry").status_code == 404
    assert receiver.processed == [row["event_id"]]


def test_settled_deliveries_are_pruned_after_the_retention_and_pending_ones_never(
    hooks: Hooks, sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    webhook = _register(hooks, receiver, "/prune", "principal:bootstrap-admin")
    old = utcnow() - timedelta(days=31)
    with sessions() as session, session.begin():
        ids = notify(session, ["principal:bootstrap-admin"], "prune.test", {})
        ids += notify(session, ["principal:bootstrap-admin"], "prune.test", {})
        ids += notify(session, ["principal:bootstrap-admin"], "prune.test", {})
    [delivered, recent, owed] = [_mine(hooks, webhook, [i]) for i in ids]
    for delivery in (delivered, recent, owed):
        wait_for(lambda d=delivery: _settled(hooks, webhook, d), "the deliveries")
    with sessions() as session, session.begin():
        for delivery, status, created in (
            (delivered, "delivered", old),
            (recent, "delivered", utcnow()),
            (owed, "pending", old),
        ):
            row = session.get(WebhookDelivery, delivery)
            assert row is not None
            row.status, row.created_at = status, created
            row.next_attempt_at = utcnow() + timedelta(days=1) if status == "pending" else None

    assert hooks.app.state.webhook_deliverer.prune() == 1
    left = {row["id"] for row in _deliveries(hooks, webhook)}
    with hooks.client() as admin:
        assert admin.delete(f"/api/v1/webhooks/{webhook}").status_code == 204
    assert delivered not in left and {recent, owed} <= left


def test_a_leased_delivery_waits_for_its_lease_to_pass(
    hooks: Hooks, sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    """A row claimed by a deliverer that then died is sent by another once the lease passes."""
    webhook = _register(hooks, receiver, "/lease", "principal:bootstrap-admin")
    with sessions() as session, session.begin():
        [delivery] = notify(session, ["principal:bootstrap-admin"], "lease.test", {})
        row = session.get(WebhookDelivery, delivery)
        assert row is not None
        lease_ends = time.monotonic() + 1.5
        row.leased_until = utcnow() + timedelta(seconds=1.5)
        row.lease_owner = "a-deliverer-that-crashed"
    time.sleep(1.0)
    assert receiver.received == [] and _delivery(hooks, webhook, delivery)["attempts"] == 0
    row = wait_for(lambda: _settled(hooks, webhook, delivery), "the delivery after the lease")
    assert row["status"] == "delivered" and row["attempts"] == 1
    [request] = receiver.received
    assert request.at >= lease_ends - 0.05


def test_a_restarted_service_delivers_what_a_stopped_one_could_not(
    hooks: Hooks, sessions: sessionmaker[Session]
) -> None:
    later = Receiver(slow_for=TIMEOUT * 2)  # not started yet: its port refuses connections
    webhook = _register(hooks, later, "/later", "domain:hr", events=["agreement.expired"])
    ids = _notify(sessions, ["domain:hr"], "agreement.expired", {"agreement": 9})
    delivery = _mine(hooks, webhook, ids)
    row = wait_for(
        lambda: (r := _delivery(hooks, webhook, delivery))["attempts"] >= 1 and r,
        "a first, refused attempt",
    )
    assert row["status"] == "pending" and "ConnectError" in row["last_error"]
    deliverer = hooks.app.state.webhook_deliverer
    hooks.stop()
    assert not deliverer.running  # the lifespan stopped it with the server

    later.start()
    try:
        time.sleep(1.5)  # past the longest backoff: with no service running, nobody sends
        assert later.received == []
        hooks.start()
        row = wait_for(lambda: _settled(hooks, webhook, delivery), "the delivery after restart")
        assert row["status"] == "delivered" and row["attempts"] >= 2
        assert later.processed == [row["event_id"]]
        assert [r.answered for r in later.received] == ["200"]
    finally:
        later.stop()


def test_serve_with_several_workers_sends_each_delivery_once(postgres_database: str) -> None:
    """`meshlake governance serve --workers 2`: every worker runs a deliverer; none sends twice.
    (Several workers need PostgreSQL: SQLite is refused.)"""
    database_url = postgres_database
    upgrade(database_url)
    port = free_port()
    env = {
        **os.environ,
        "MESHLAKE_DATABASE_URL": database_url,
        "MESHLAKE_BOOTSTRAP_TOKEN": BOOTSTRAP,
        "MESHLAKE_WEBHOOK_POLL_INTERVAL": "0.1",
    }
    command = [str(Path(sys.executable).parent / "meshlake"), "governance", "serve"]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    receiver = Receiver(slow_for=TIMEOUT * 2).start()
    engine = make_engine(database_url)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(f"{url}/api/v1/health"), "the service", timeout=180)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {BOOTSTRAP}"}) as admin:
            created = admin.post(
                "/api/v1/webhooks",
                json={"subscriber": "principal:bootstrap-admin", "url": receiver.url("/w")},
            )
            assert created.status_code == 201, created.text
            receiver.secrets["/w"] = created.json()["secret"]
            with session_factory(engine)() as session, session.begin():
                for n in range(30):
                    notify(session, ["principal:bootstrap-admin"], "load.test", {"n": n})
            wait_for(
                lambda: (
                    len(
                        admin.get(
                            f"/api/v1/webhooks/{created.json()['id']}/deliveries",
                            params={"status": "delivered"},
                        ).json()
                    )
                    == 30
                ),
                "30 deliveries",
                timeout=60,
            )
        time.sleep(0.5)
        sent = [r.headers["X-Meshlake-Delivery"] for r in receiver.received]
        assert len(sent) == 30 and len(set(sent)) == 30
        assert all(r.verified for r in receiver.received)
    finally:
        server.terminate()
        server.wait(timeout=60)
        receiver.stop()
        engine.dispose()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
