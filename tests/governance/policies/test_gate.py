"""The publication gate and the decision API over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from openlineage.client.serde import Serde

from meshlake.governance.policies import SHIPPED_POLICIES
from meshlake.platform import load_mesh
from meshlake.platform._governance import GovernanceClient
from meshlake.platform.lineage import product_run_event
from tests.governance.conftest import BOOTSTRAP, Service
from tests.helpers import REPO

pytestmark = pytest.mark.integration

MESH = load_mesh(REPO)


@pytest.fixture(scope="module")
def synced(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Service:
    with GovernanceClient(service.url, BOOTSTRAP) as client:
        client.sync(MESH, tmp_path_factory.mktemp("state"))
    return service


def publication(port: str, version: int = 0, contract_version: str = "1.0.0") -> dict[str, Any]:
    return {
        "run_id": f"run-{port}-{version}",
        "ports": [
            {
                "port": port,
                "delta_version": version,
                "row_count": 10,
                "contract_version": contract_version,
            }
        ],
    }


def crafted_leads_product() -> dict[str, Any]:
    """A gold product in sales whose contact e-mail is personal data without masking."""
    contract = yaml.safe_load(
        (REPO / "domains/sales/products/customers/contract.yaml").read_text(encoding="utf-8")
    )
    contract = copy.deepcopy(contract)
    contract["id"] = "sales.leads.leads"
    contract["name"] = contract["dataProduct"] = "leads"
    contract["schema"][0]["name"] = "leads"
    return {
        "description": "Leads to call.",
        "tier": "gold",
        "team": "sales-analytics",
        "owners": ["camila.torres@example.com"],
        "ports": [
            {"name": "leads", "location": "lake/americas/sales/leads/leads", "contract": contract}
        ],
    }


def test_a_sample_product_publishes_and_its_warnings_are_recorded(synced: Service) -> None:
    with synced.client() as client:
        clean = client.post("/api/v1/products/hr/employees/versions", json=publication("employees"))
        warned = client.post(
            "/api/v1/products/sales/account_manager_performance/versions",
            json=publication("account_manager_performance"),
        )
    assert clean.status_code == 201, clean.text
    assert clean.json()["datasets"][0]["versions"][0]["policy_warnings"] == []
    assert warned.status_code == 201, warned.text
    [warning] = warned.json()["datasets"][0]["versions"][0]["policy_warnings"]
    assert warning["policy"] == "personal_data_masking"
    assert warning["severity"] == "warn"
    assert "full_name" in warning["message"]


def test_the_gate_refuses_a_version_a_deny_rule_matches(synced: Service) -> None:
    owner = synced.token(
        "leads-owner@example.com", grants=[{"role": "domain_owner", "domain": "sales"}]
    )
    with synced.client(owner) as client:
        registered = client.put("/api/v1/products/sales/leads", json=crafted_leads_product())
        assert registered.status_code == 200, registered.text
        refused = client.post("/api/v1/products/sales/leads/versions", json=publication("leads"))
        after = client.get("/api/v1/products/sales/leads").json()

    assert refused.status_code == 403
    detail = refused.json()["detail"]
    assert detail.startswith("policy personal_data_masking denies publishing sales.leads: column ")
    assert "is personal data in a gold product but declares no masking" in detail
    assert after["datasets"][0]["versions"] == []  # nothing was published

    with synced.client() as admin:
        audit = admin.get("/api/v1/audit", params={"principal": "leads-owner@example.com"}).json()
        log = admin.get(
            "/api/v1/policies/decisions", params={"subject": "sales.leads", "allowed": False}
        ).json()
    refusal = next(entry for entry in audit if entry["outcome"] == "refused")
    assert refusal["action"] == "POST /api/v1/products/sales/leads/versions"
    assert "personal_data_masking" in refusal["reason"]
    assert len(log) == 1
    assert log[0]["principal"] == "leads-owner@example.com"
    assert log[0]["decision"] == "publication"
    assert {reason["policy"] for reason in log[0]["reasons"]} == {"personal_data_masking"}
    assert log[0]["input"]["product"]["tier"] == "gold"


def test_the_decision_api_returns_reasons_and_logs_them(synced: Service) -> None:
    reader = synced.token("ana@example.com", grants=[{"role": "domain_member", "domain": "sales"}])
    document = {
        "principal": {
            "name": "ana@example.com",
            "roles": [{"role": "domain_member", "domain": "sales"}],
        },
        "action": "read",
        "dataset": {"ref": "hr.employees.employees", "domain": "hr", "classification": "sensitive"},
        "agreements": [],
        "today": "2026-11-22",
    }
    with synced.client(reader) as client:
        denied = client.post(
            "/api/v1/policies/evaluate",
            json={"decision": "access", "input": document, "subject": "hr.employees.employees"},
        )
        covered = client.post(
            "/api/v1/policies/evaluate",
            json={
                "decision": "access",
                "subject": "hr.employees.employees",
                "input": {
                    **document,
                    "agreements": [
                        {
                            "consumer_domain": "sales",
                            "dataset": "hr.employees.employees",
                            "valid_until": "2027-06-30",
                        }
                    ],
                },
            },
        )
        malformed = client.post(
            "/api/v1/policies/evaluate",
            json={"decision": "access", "input": {**document, "action": "drop"}},
        )
        not_admin = client.get("/api/v1/policies/decisions")

    assert denied.status_code == 200, denied.text
    body = denied.json()
    assert body["allowed"] is False
    assert body["reasons"] == [
        {
            "policy": "classified_data",
            "severity": "deny",
            "message": "ana@example.com may not read hr.employees.employees (sensitive data of domain hr): "
            "no active sharing agreement covers it for sales",
        }
    ]
    assert covered.json()["allowed"] is True and covered.json()["reasons"] == []
    assert malformed.status_code == 422
    assert malformed.json()["detail"].startswith("input.action: 'drop' is not one of")
    assert not_admin.status_code == 403

    with synced.client() as admin:
        log = admin.get("/api/v1/policies/decisions", params={"decision": "access"}).json()
        audit = admin.get("/api/v1/audit", params={"action": "policy.evaluated"}).json()
    assert [entry["id"] for entry in log][:2] == [covered.json()["id"], body["id"]]
    assert [entry["allowed"] for entry in log][:2] == [True, False]
    assert {entry["principal"] for entry in audit} == {"ana@example.com"}


def test_policies_and_their_input_schemas_are_listed(synced: Service) -> None:
    with synced.client() as client:
        sets = {
            item["decision"]: item["policies"] for item in client.get("/api/v1/policies").json()
        }
        schema = client.get("/api/v1/policies/publication/schema").json()
        missing = client.get("/api/v1/policies/sharing/schema")
    assert "residency" in sets["publication"] and sets["access"] == ["classified_data"]
    assert schema["title"] == "Input of the publication decision"
    assert missing.status_code == 404


def test_residency_is_checked_on_the_inputs_the_lineage_store_saw(
    synced: Service,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """sales.account_manager_performance (americas) reads hr.employees (emea): allowed by the
    shipped allowance, refused by a policy folder without it, once the run's lineage is recorded."""
    spec = MESH.product("sales.account_manager_performance")
    start = product_run_event(
        "START", mesh=MESH, product=spec, run_id=str(uuid.uuid4()), state_home=tmp_path
    )
    with synced.client() as admin:
        recorded = admin.post("/api/v1/lineage", json=json.loads(Serde.to_json(start)))
        assert recorded.status_code < 300, recorded.text
        allowed = admin.post(
            "/api/v1/products/sales/account_manager_performance/versions",
            json=publication("account_manager_performance", version=7),
        )
        assert allowed.status_code == 201, allowed.text

        strict = tmp_path / "policies"
        shutil.copytree(SHIPPED_POLICIES, strict)
        config = json.loads((strict / "data" / "config.json").read_text(encoding="utf-8"))
        config["cross_region_allowances"] = []
        (strict / "data" / "config.json").write_text(json.dumps(config), encoding="utf-8")
        monkeypatch.setenv("MESHLAKE_POLICIES_DIR", str(strict))
        refused = admin.post(
            "/api/v1/products/sales/account_manager_performance/versions",
            json=publication("account_manager_performance", version=8),
        )

    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "policy residency denies publishing sales.account_manager_performance: "
        "sales.account_manager_performance (zone americas, region eastus) reads "
        "hr.employees.employees from zone emea in region westeurope without a cross-region allowance"
    )


def test_warn_mode_publishes_and_records_the_denials_with_the_version(
    synced: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    with synced.client() as admin:
        admin.put("/api/v1/products/sales/leads", json=crafted_leads_product()).raise_for_status()
        monkeypatch.setenv("MESHLAKE_POLICY_GATE", "warn")
        published = admin.post(
            "/api/v1/products/sales/leads/versions", json=publication("leads", version=3)
        )
    assert published.status_code == 201, published.text
    [version] = [
        item for item in published.json()["datasets"][0]["versions"] if item["delta_version"] == 3
    ]
    assert {(item["policy"], item["severity"]) for item in version["policy_warnings"]} == {
        ("personal_data_masking", "deny")
    }
