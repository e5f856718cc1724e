"""Each landing zone's products are judged by the policies that zone declares, over real HTTP.

The policy folder here is the shipped one plus two zone-only policies: ``publication.certified_only``
(a product must be tagged certified) and ``sharing.embargo`` (nothing is shared). Only the zone
``strict`` names them; ``relaxed`` names the shipped policies it wants. Domain hr (and with it
``hr.employees``) is moved between the two, so the very same product and the very same request are
judged in one zone and then the other; every decision logged names the policies that judged it and
the version of their bundle.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from meshlake.governance.policies import SHIPPED_POLICIES, PolicyEngine
from meshlake.platform._governance import domain_payload
from tests.governance._publishing import MESH, Publisher
from tests.governance._sharing import TODAY, Mesh, serve_mesh

pytestmark = pytest.mark.integration

EMPLOYEES = MESH.product("hr.employees")
READER = "sales.account_manager_performance"

CERTIFIED_ONLY = """\
# Zone-only: this zone publishes certified products only.
package meshlake.publication.certified_only

import rego.v1

deny contains msg if {
	not "certified" in input.product.tags
	msg := concat("", ["product ", input.product.ref, " is not tagged certified"])
}
"""

EMBARGO = """\
# Zone-only: this zone shares nothing.
package meshlake.sharing.embargo

import rego.v1

deny contains msg if {
	some port in input.ports
	msg := concat("", ["port ", port.ref, " is under embargo in zone ", port.zone])
}
"""

RELAXED = [
    "publication.ownership",
    "publication.naming",
    "publication.sla_declared",
    "sharing.purpose",
    "sharing.personal_data",
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The shipped policies and the two zone-only ones, loaded by the service for this module."""
    root = tmp_path_factory.mktemp("policies") / "policies"
    shutil.copytree(SHIPPED_POLICIES, root)
    (root / "publication" / "certified_only.rego").write_text(CERTIFIED_ONLY)
    (root / "sharing" / "embargo.rego").write_text(EMBARGO)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MESHLAKE_POLICIES_DIR", str(root))
        yield root


@pytest.fixture(scope="module")
def mesh(
    folder: Path, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Mesh]:
    state = tmp_path_factory.mktemp("state")
    for meshed in serve_mesh(database_url, state):
        with meshed.as_("admin") as admin:
            for name, policies in (("relaxed", RELAXED), ("strict", ["publication", "sharing"])):
                zone = {
                    "kind": "data",
                    "region": "westeurope",
                    "storage_root": str(state / "lake" / name),
                    "policies": policies,
                }
                admin.put(f"/api/v1/zones/{name}", json=zone).raise_for_status()
        yield meshed


def _move_hr(mesh: Mesh, zone: str) -> None:
    with mesh.as_("admin") as admin:
        payload = {**domain_payload(MESH, "hr"), "zone": zone}
        admin.put("/api/v1/domains/hr", json=payload).raise_for_status()


def _decide(mesh: Mesh) -> dict[str, Any]:
    response = Publisher(mesh.service).decide(EMPLOYEES, str(uuid.uuid4()))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _logged(mesh: Mesh, decision_id: int) -> dict[str, Any]:
    with mesh.as_("admin") as admin:
        rows = admin.get("/api/v1/policies/decisions", params={"subject": "hr.employees"}).json()
    return next(row for row in rows if row["id"] == decision_id)


def _request(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "consumer": {"kind": "product", "id": READER},
        "purpose": "sales_performance_reporting",
        "start": TODAY.isoformat(),
        "end": TODAY.replace(year=TODAY.year + 1).isoformat(),
        "ports": [
            {
                "port": "hr.employees.employees",
                "columns": ["employee_id", "full_name", "department", "job_title", "is_active"],
                "masked": ["full_name"],
            }
        ],
    }


def test_the_same_product_is_allowed_in_one_zone_and_denied_in_another(
    mesh: Mesh, folder: Path
) -> None:
    bundle = PolicyEngine(folder).bundles["publication"].version
    shipped = PolicyEngine(SHIPPED_POLICIES).bundles["publication"].version

    _move_hr(mesh, "relaxed")
    relaxed = _decide(mesh)
    _move_hr(mesh, "strict")
    strict = _decide(mesh)

    assert relaxed["allowed"] is True, relaxed["reasons"]
    assert relaxed["policies"] == [
        "publication.naming",
        "publication.ownership",
        "publication.sla_declared",
    ]
    assert strict["allowed"] is False
    assert [(r["policy"], r["severity"]) for r in strict["reasons"]] == [("certified_only", "deny")]
    assert "hr.employees is not tagged certified" in strict["reasons"][0]["message"]
    assert "publication.certified_only" in strict["policies"]
    assert "publication.residency" in strict["policies"]
    # The decision log keeps which policies judged, and the bundle they came from.
    for answer in (relaxed, strict):
        row = _logged(mesh, answer["id"])
        assert row["policies"] == answer["policies"]
        assert row["bundle"] == answer["bundle"] == bundle
    assert bundle != shipped and bundle.startswith("sha256:")


def test_a_sharing_request_is_judged_by_the_policies_of_the_ports_zone(mesh: Mesh) -> None:
    _move_hr(mesh, "relaxed")
    with mesh.as_("sales") as sales:
        relaxed = sales.post("/api/v1/agreements", json=_request("zone-relaxed-read")).json()
    _move_hr(mesh, "strict")
    with mesh.as_("sales") as sales:
        strict = sales.post("/api/v1/agreements", json=_request("zone-strict-read")).json()

    assert relaxed["decision"]["allowed"] is True, relaxed["decision"]
    assert strict["decision"]["allowed"] is False
    # strict declares every sharing policy: its own embargo, and residency (americas reads a
    # westeurope port that no cross-region allowance names); relaxed declares neither.
    denied = {r["policy"]: r["message"] for r in strict["decision"]["reasons"]}
    assert set(denied) == {"embargo", "residency"}
    assert "under embargo in zone strict" in denied["embargo"]
    with mesh.as_("admin") as admin:
        logged = admin.get(
            "/api/v1/policies/decisions", params={"decision": "sharing", "limit": 1000}
        ).json()
    by_subject = {row["subject"]: row for row in logged}
    assert "sharing.embargo" not in by_subject["zone-relaxed-read"]["policies"]
    assert {"sharing.purpose", "sharing.personal_data"} == set(
        by_subject["zone-relaxed-read"]["policies"]
    )
    assert "sharing.embargo" in by_subject["zone-strict-read"]["policies"]


def test_the_decision_api_judges_by_a_zone_when_asked(mesh: Mesh) -> None:
    _move_hr(mesh, "relaxed")
    document = {"product": _logged(mesh, _decide(mesh)["id"])["input"]["product"]}
    with mesh.as_("admin") as admin:
        every = admin.post(
            "/api/v1/policies/evaluate", json={"decision": "publication", "input": document}
        ).json()
        relaxed = admin.post(
            "/api/v1/policies/evaluate",
            json={"decision": "publication", "input": document, "zone": "relaxed"},
        ).json()
        unknown = admin.post(
            "/api/v1/policies/evaluate",
            json={"decision": "publication", "input": document, "zone": "atlantis"},
        )

    assert every["allowed"] is False
    assert "certified_only" in {r["policy"] for r in every["reasons"]}
    assert "publication.certified_only" in every["policies"]
    assert relaxed["allowed"] is True
    assert "publication.certified_only" not in relaxed["policies"]
    assert unknown.status_code == 404 and "atlantis" in unknown.json()["detail"]


def test_a_zone_naming_an_unknown_policy_is_refused(mesh: Mesh) -> None:
    zone = {"kind": "data", "region": "westeurope", "storage_root": "/lake/x"}
    with mesh.as_("admin") as admin:
        refused = admin.put(
            "/api/v1/zones/typo", json={**zone, "policies": ["publication", "publication.ownr"]}
        )
        empty = admin.put("/api/v1/zones/typo", json={**zone, "policies": []})
        zones = {z["name"]: z for z in admin.get("/api/v1/zones").json()}

    assert refused.status_code == 422, refused.text
    assert "policies[1]" in refused.text and "'publication.ownr'" in refused.text
    assert "publication.ownership" in refused.text  # what exists
    assert empty.status_code == 422
    assert "typo" not in zones
    assert zones["strict"]["policies"] == ["publication", "sharing"]
    assert zones["emea"]["policies"] is None  # declares none: every policy judges


def test_a_zone_declaring_a_policy_the_folder_lost_fails_closed(
    mesh: Mesh, monkeypatch: pytest.MonkeyPatch
) -> None:
    with mesh.as_("admin") as admin:
        admin.put(
            "/api/v1/zones/pinned",
            json={
                "kind": "data",
                "region": "westeurope",
                "storage_root": "/lake/pinned",
                "policies": ["publication.ownership", "publication.certified_only"],
            },
        ).raise_for_status()
    _move_hr(mesh, "pinned")
    # The service now loads a folder without certified_only (the policy was deleted).
    monkeypatch.setenv("MESHLAKE_POLICIES_DIR", str(SHIPPED_POLICIES))
    try:
        answer = _decide(mesh)
    finally:
        monkeypatch.undo()
        _move_hr(mesh, "relaxed")

    assert answer["allowed"] is False
    (reason,) = [r for r in answer["reasons"] if r["policy"] == "zone_policies"]
    assert "'pinned'" in reason["message"] and "publication.certified_only" in reason["message"]
    # Fail closed: with the zone's list broken, every publication policy of the folder judged.
    assert answer["policies"] == [
        policy
        for policy in PolicyEngine(SHIPPED_POLICIES).known_policies
        if policy.startswith("publication.")
    ]
