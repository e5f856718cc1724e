"""Sharing agreements over real HTTP, on SQLite and PostgreSQL: request, policies, approve,
counter-offer, coverage of a read, revoke, expire, renew, and who may do and see what.

The service's clock is the app's (``app.state.clock``); these tests move it to cross the dates.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.governance._sharing import TODAY, Clock, Mesh, serve_mesh
from tests.governance._webhook_receiver import Receiver, wait_for

pytestmark = pytest.mark.integration

EMPLOYEES = "hr.employees.employees"
READER = "sales.account_manager_performance"
CHURN = "sales.customer_churn_features"


@pytest.fixture(scope="module")
def mesh(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    yield from serve_mesh(database_url, tmp_path_factory.mktemp("state"))


@pytest.fixture
def clock(mesh: Mesh) -> Iterator[Clock]:
    mesh.clock.on(TODAY)
    yield mesh.clock
    mesh.clock.on(TODAY)


def _request(name: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "consumer": {"kind": "product", "id": READER},
        "purpose": "sales_performance_reporting",
        "start": TODAY.isoformat(),
        "end": (TODAY + timedelta(days=300)).isoformat(),
        "ports": [
            {
                "port": EMPLOYEES,
                "columns": ["employee_id", "full_name", "department", "job_title", "is_active"],
                "masked": ["full_name"],
                "rows": {"is_active": [True]},
            }
        ],
    }
    body.update(changes)
    return body


def _coverage(client: httpx.Client, consumer: str = READER) -> httpx.Response:
    return client.get(
        "/api/v1/agreements/coverage", params={"consumer": consumer, "port": EMPLOYEES}
    )


def test_request_approve_read_revoke(mesh: Mesh, clock: Clock) -> None:
    with mesh.as_("sales") as sales, mesh.as_("hr owner") as owner, mesh.as_("hr member") as hr:
        before = _coverage(sales)
        requested = sales.post("/api/v1/agreements", json=_request("sales-reads-employees"))
        refused = sales.post("/api/v1/agreements/sales-reads-employees/approve", json={})
        by_member = hr.post("/api/v1/agreements/sales-reads-employees/approve", json={})
        pending = _coverage(sales)
        approved = owner.post("/api/v1/agreements/sales-reads-employees/approve", json={})
        covered = _coverage(sales)
        revoked = owner.post(
            "/api/v1/agreements/sales-reads-employees/revoke", json={"reason": "reorg"}
        )
        after = _coverage(sales)
        history = sales.get("/api/v1/agreements/sales-reads-employees/events").json()

    assert before.status_code == 404
    assert "declare one in domains/sales/agreements/" in before.json()["detail"]
    assert requested.status_code == 201, requested.text
    assert requested.json()["state"] == "requested"
    assert requested.json()["decision"]["allowed"] is True
    assert requested.json()["provider_domain"] == "hr"
    assert refused.status_code == 403 and "domain_owner:hr" in refused.json()["detail"]
    assert by_member.status_code == 403
    assert "sales-reads-employees is awaiting the provider's approval" in pending.json()["detail"]
    assert approved.status_code == 200 and approved.json()["state"] == "active"
    assert covered.status_code == 200
    assert covered.json() == {
        "agreement": "sales-reads-employees",
        "port": EMPLOYEES,
        "columns": ["employee_id", "full_name", "is_active", "department", "job_title"],
        "masked": ["full_name"],
        "rows": {"is_active": [True]},
        "ends_on": (TODAY + timedelta(days=300)).isoformat(),
    }
    assert revoked.json()["state"] == "revoked"
    assert after.status_code == 404 and "sales-reads-employees was revoked" in after.text
    assert [(event["action"], event["to_state"], event["actor"]) for event in history] == [
        ("request", "requested", "sales-dev"),
        ("approve", "active", "hr-owner"),
        ("revoke", "revoked", "hr-owner"),
    ]


def test_the_policies_deny_plain_personal_data_until_a_counter_offer_masks_it(
    mesh: Mesh, clock: Clock
) -> None:
    plain = _request("sales-wants-plain-names")
    plain["ports"][0]["masked"] = []
    with mesh.as_("sales") as sales, mesh.as_("spec owner") as owner:
        requested = sales.post("/api/v1/agreements", json=plain).json()
        approval = owner.post("/api/v1/agreements/sales-wants-plain-names/approve", json={})
        offered = owner.post(
            "/api/v1/agreements/sales-wants-plain-names/counter-offer",
            json={
                "ports": [{**plain["ports"][0], "masked": ["full_name"]}],
                "reason": "names only masked",
            },
        )
        accepted = sales.post("/api/v1/agreements/sales-wants-plain-names/accept", json={})

    assert requested["state"] == "requested" and requested["decision"]["allowed"] is False
    policies = {reason["policy"] for reason in requested["decision"]["reasons"]}
    assert {"personal_data", "purpose"} <= policies
    assert approval.status_code == 409
    assert "personal_data" in approval.json()["detail"] and "full_name" in approval.json()["detail"]
    assert offered.status_code == 200, offered.text
    assert offered.json()["state"] == "countered"
    assert offered.json()["offer"]["ports"][0]["masked"] == ["full_name"]
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "active"
    assert accepted.json()["ports"][0]["masked"] == ["full_name"]
    assert accepted.json()["decision"]["allowed"] is True


def test_dates_activate_and_expire_and_a_renewal_reopens_the_read(mesh: Mesh, clock: Clock) -> None:
    """(Another sales product than the other tests', so their agreements do not cover it.)"""
    later = TODAY + timedelta(days=10)
    body = _request(
        "sales-reads-employees-later",
        consumer={"kind": "product", "id": CHURN},
        start=later.isoformat(),
        end=(later + timedelta(days=30)).isoformat(),
    )
    with mesh.as_("sales") as sales, mesh.as_("hr owner") as owner:
        sales.post("/api/v1/agreements", json=body).raise_for_status()
        approved = owner.post("/api/v1/agreements/sales-reads-employees-later/approve", json={})
        clock.on(later)
        started = sales.get("/api/v1/agreements/sales-reads-employees-later").json()
        clock.on(later + timedelta(days=31))
        expired = _coverage(sales, CHURN)
        state = sales.get("/api/v1/agreements/sales-reads-employees-later").json()["state"]
        renewed = owner.post(
            "/api/v1/agreements/sales-reads-employees-later/renew",
            json={"end": (later + timedelta(days=200)).isoformat()},
        )
        reading = _coverage(sales, CHURN)
        history = sales.get("/api/v1/agreements/sales-reads-employees-later/events").json()

    assert approved.json()["state"] == "approved"
    assert started["state"] == "active"
    assert expired.status_code == 404
    assert f"expired on {(later + timedelta(days=30)).isoformat()}; renew it" in expired.text
    assert state == "expired"
    assert renewed.status_code == 200 and renewed.json()["state"] == "active"
    assert renewed.json()["start"] == (later + timedelta(days=31)).isoformat()
    assert reading.status_code == 200
    assert reading.json()["agreement"] == "sales-reads-employees-later"
    assert [event["action"] for event in history] == [
        "request",
        "approve",
        "activate",
        "expire",
        "renew",
    ]
    assert history[2]["actor"] == "governance"


def test_consumers_see_their_own_and_admins_see_all(mesh: Mesh, clock: Clock) -> None:
    with mesh.as_("sales") as sales:
        sales.post("/api/v1/agreements", json=_request("sales-visible")).raise_for_status()
    with mesh.as_("operations") as ops, mesh.as_("admin") as admin, mesh.as_("hr member") as hr:
        theirs = ops.get("/api/v1/agreements").json()
        hidden = ops.get("/api/v1/agreements/sales-visible")
        everything = admin.get("/api/v1/agreements").json()
        providers = hr.get("/api/v1/agreements", params={"port": EMPLOYEES}).json()
        checked = _coverage(ops)

    assert theirs == [] and hidden.status_code == 403
    assert "sales-visible" in {item["name"] for item in everything}
    assert "sales-visible" in {item["name"] for item in providers}
    assert checked.status_code == 403


@pytest.mark.parametrize(
    ("changes", "status", "message"),
    [
        (
            {"ports": [{"port": EMPLOYEES, "columns": ["employee_id", "shoe_size"]}]},
            422,
            "ports[0].columns: shoe_size not a column of hr.employees.employees",
        ),
        (
            {"ports": [{"port": EMPLOYEES, "columns": ["employee_id"], "masked": ["email"]}]},
            422,
            "ports[0].masked: email not among the columns delivered",
        ),
        (
            {"ports": [{"port": "sales.customers.customers"}]},
            422,
            "sales reads its own ports without an agreement",
        ),
        (
            {"ports": [{"port": EMPLOYEES}, {"port": "operations.pump_health.pump_health"}]},
            422,
            "one agreement covers ports of one providing domain",
        ),
        ({"end": "2026-01-01"}, 422, "end: 2026-01-01 is before start 2026-12-04"),
        ({"purpose": "Bad Purpose"}, 422, "purpose"),
        ({"sla": [{"property": "smell", "value": 1}]}, 422, "sla[0].property"),
        (
            {"consumer": {"kind": "product", "id": "sales.nothing"}},
            422,
            "consumer.id: product 'sales.nothing' is not in the catalog",
        ),
        (
            {"consumer": {"kind": "product", "id": "hr.engagement_retention"}},
            403,
            "may not request an agreement for product hr.engagement_retention",
        ),
    ],
)
def test_a_bad_request_says_which_field_is_wrong(
    mesh: Mesh, clock: Clock, changes: dict[str, Any], status: int, message: str
) -> None:
    with mesh.as_("sales") as sales:
        response = sales.post("/api/v1/agreements", json=_request("sales-bad", **changes))
    assert response.status_code == status, response.text
    assert message in response.text


def test_a_name_is_taken_once(mesh: Mesh, clock: Clock) -> None:
    with mesh.as_("sales") as sales:
        first = sales.post("/api/v1/agreements", json=_request("sales-once"))
        second = sales.post("/api/v1/agreements", json=_request("sales-once"))
    assert first.status_code == 201
    assert second.status_code == 409 and "agreement 'sales-once' exists" in second.text


def test_every_transition_is_audited(mesh: Mesh, clock: Clock, tmp_path: Path) -> None:
    with mesh.as_("sales") as sales, mesh.as_("hr owner") as owner:
        sales.post("/api/v1/agreements", json=_request("sales-audited")).raise_for_status()
        owner.post("/api/v1/agreements/sales-audited/reject", json={"reason": "no need"})
    with mesh.as_("admin") as admin:
        audit = admin.get("/api/v1/audit", params={"limit": 50}).json()
    mine = [entry for entry in audit if entry["target"] == "sales-audited"]
    assert [entry["action"] for entry in mine] == ["agreement.reject", "agreement.request"]
    assert mine[0]["after"]["detail"] == {"reason": "no need"}


def test_both_sides_hear_of_each_transition_through_signed_webhooks(
    mesh: Mesh, clock: Clock
) -> None:
    receiver = Receiver().start()
    try:
        hooks = {}
        for who, subscriber in (("hr owner", "domain:hr"), ("admin", "domain:sales")):
            with mesh.as_(who) as client:
                created = client.post(
                    "/api/v1/webhooks",
                    json={
                        "subscriber": subscriber,
                        "url": receiver.url(f"/{subscriber}"),
                        "events": ["agreement.*"],
                    },
                )
            assert created.status_code == 201, created.text
            receiver.secrets[f"/{subscriber}"] = created.json()["secret"]
            hooks[subscriber] = created.json()["id"]
        with mesh.as_("sales") as sales, mesh.as_("hr owner") as owner:
            sales.post("/api/v1/agreements", json=_request("sales-heard")).raise_for_status()
            owner.post("/api/v1/agreements/sales-heard/approve", json={}).raise_for_status()

        def heard() -> list[tuple[str, str, str]]:
            found = [
                (r.path, json.loads(r.body)["event"], json.loads(r.body)["data"]["agreement"])
                for r in receiver.received
                if r.verified and json.loads(r.body)["data"].get("agreement") == "sales-heard"
            ]
            return found if len(found) >= 4 else []

        got = sorted(wait_for(heard, "four signed agreement notifications"))
    finally:
        receiver.stop()
    assert got == [
        ("/domain:hr", "agreement.active", "sales-heard"),
        ("/domain:hr", "agreement.requested", "sales-heard"),
        ("/domain:sales", "agreement.active", "sales-heard"),
        ("/domain:sales", "agreement.requested", "sales-heard"),
    ]
