"""The publication decision on a staged version and the decision API over real HTTP, on SQLite and
PostgreSQL."""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshlake.governance.policies import SHIPPED_POLICIES
from meshlake.platform import PortRef, ProductRef
from meshlake.platform.specs import Contract, InputBinding, ProductSpec
from tests.governance._publishing import (
    MESH,
    Publisher,
    commit,
    contract_table,
    ensure_published,
    publish_upstream,
    register_mesh,
)
from tests.governance.conftest import BOOTSTRAP, Service
from tests.helpers import REPO

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def synced(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Service:
    register_mesh(service, tmp_path_factory.mktemp("state"))
    return service


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
        "inputs": [
            {
                "name": "customers",
                "kind": "product",
                "port": "sales.customers.customers",
                "domain": "sales",
            }
        ],
    }


def leads_spec(service: Service, token: str, tmp_path: Path) -> tuple[ProductSpec, str]:
    """Register the crafted product with ``token`` at a location under ``tmp_path``; its spec."""
    payload = crafted_leads_product()
    location = str(tmp_path / "leads")
    payload["ports"][0]["location"] = location
    with service.client(token) as client:
        registered = client.put("/api/v1/products/sales/leads", json=payload)
    assert registered.status_code == 200, registered.text
    customers = MESH.product("sales.customers")
    port = customers.ports["customers"]
    contract = Contract.model_validate(payload["ports"][0]["contract"])
    leads = dataclasses.replace(
        customers,
        ref=ProductRef("sales", "leads"),
        ports={
            "leads": dataclasses.replace(
                port, ref=PortRef.parse("sales.leads.leads"), contract=contract
            )
        },
        inputs=[
            InputBinding(
                port=customers.inputs[0].port, output=PortRef.parse("sales.customers.customers")
            )
        ],
    )
    return leads, location


def test_a_sample_product_publishes_and_its_warnings_are_recorded(synced: Service) -> None:
    publisher = Publisher(synced)
    publish_upstream(publisher, "sales.account_manager_performance")
    clean = publisher.publish(MESH.product("hr.employees"), "run-employees-1")
    warned = publisher.publish(MESH.product("sales.account_manager_performance"), "run-amp-1")

    assert clean["datasets"][0]["versions"][-1]["policy_warnings"] == []
    [warning] = warned["datasets"][0]["versions"][-1]["policy_warnings"]
    assert warning["policy"] == "personal_data_masking"
    assert warning["severity"] == "warn"
    assert "full_name" in warning["message"]


def test_the_gate_denies_a_staged_version_a_deny_rule_matches(
    synced: Service, tmp_path: Path
) -> None:
    owner = synced.token(
        "leads-owner@example.com", grants=[{"role": "domain_owner", "domain": "sales"}]
    )
    publisher = Publisher(synced, owner)
    ensure_published(publisher, "sales.customers")
    leads, location = leads_spec(synced, owner, tmp_path)
    denied = publisher.decide(leads, "run-leads-1")
    # The platform obeys; a client that commits anyway cannot record what was denied.
    version = commit(location, contract_table(leads.ports["leads"].contract, 2), "run-leads-1")
    refused = publisher.record(leads, "run-leads-1", denied.json()["id"], {"leads": version})
    with synced.client() as admin:
        after = admin.get("/api/v1/products/sales/leads").json()
        audit = admin.get("/api/v1/audit", params={"principal": "leads-owner@example.com"}).json()
        log = admin.get(
            "/api/v1/policies/decisions", params={"subject": "sales.leads", "allowed": False}
        ).json()

    assert denied.status_code == 200, denied.text
    body = denied.json()
    assert (body["allowed"], body["gate"], body["commit"]) == (False, "enforce", False)
    assert {(reason["policy"], reason["severity"]) for reason in body["reasons"]} == {
        ("personal_data_masking", "deny")
    }
    assert [reason["message"].split(" is ")[0] for reason in body["reasons"]] == [
        f"column sales.leads.leads.{column}" for column in ("email", "full_name", "phone")
    ]
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith(
        f"decision_id: decision {body['id']} denied publishing sales.leads (column "
    )
    assert after["datasets"][0]["versions"] == []  # nothing was recorded

    refusal = next(entry for entry in audit if entry["action"] == "product.publication_decided")
    assert refusal["outcome"] == "refused"
    assert refusal["reason"].startswith("personal_data_masking: column ")
    assert refusal["after"] == {
        "decision": body["id"],
        "run_id": "run-leads-1",
        "gate": "enforce",
        "commit": False,
    }
    assert len(log) == 1
    assert log[0]["principal"] == "leads-owner@example.com"
    assert (log[0]["decision"], log[0]["run_id"], log[0]["commit_allowed"]) == (
        "publication",
        "run-leads-1",
        False,
    )
    assert {reason["policy"] for reason in log[0]["reasons"]} == {"personal_data_masking"}
    assert log[0]["input"]["product"]["tier"] == "gold"
    # The staged facts it was taken on are logged with it.
    assert log[0]["staged"]["ports"][0]["row_count"] == 3
    assert log[0]["staged"]["ports"][0]["schema"][0]["name"] == "customer_id"
    assert log[0]["staged"]["inputs"][0]["port"] == "sales.customers.customers"


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
        missing = client.get("/api/v1/policies/lending/schema")
    assert "residency" in sets["publication"] and sets["access"] == ["classified_data"]
    assert sets["sharing"] == ["max_duration", "personal_data", "purpose", "residency"]
    assert schema["title"] == "Input of the publication decision"
    assert missing.status_code == 404


def _strict_policies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped policies without the emea -> americas allowance for hr.employees."""
    strict = tmp_path / "policies"
    shutil.copytree(SHIPPED_POLICIES, strict)
    config = json.loads((strict / "data" / "config.json").read_text(encoding="utf-8"))
    config["cross_region_allowances"] = []
    (strict / "data" / "config.json").write_text(json.dumps(config), encoding="utf-8")
    monkeypatch.setenv("MESHLAKE_POLICIES_DIR", str(strict))


def test_residency_is_judged_from_the_declared_inputs_without_any_lineage(
    synced: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sales.account_manager_performance (americas) declares hr.employees (emea): allowed by the
    shipped allowance, denied by a policy folder without it. No lineage is ever sent."""
    publisher = Publisher(synced)
    publish_upstream(publisher, "sales.account_manager_performance")
    product = MESH.product("sales.account_manager_performance")
    with synced.client() as admin:
        runs = admin.get("/api/v1/lineage/runs", params={"job": str(product.ref)})
    assert runs.status_code == 404  # the lineage store never heard of the job

    allowed = publisher.decide(product, "run-amp-residency-1")
    _strict_policies(tmp_path, monkeypatch)
    denied = publisher.decide(product, "run-amp-residency-2")

    assert allowed.status_code == 200 and allowed.json()["allowed"] is True, allowed.text
    assert denied.json()["allowed"] is False
    assert [reason for reason in denied.json()["reasons"] if reason["severity"] == "deny"] == [
        {
            "policy": "residency",
            "severity": "deny",
            "message": "sales.account_manager_performance (zone americas, region eastus) reads "
            "hr.employees.employees from zone emea in region westeurope without a cross-region "
            "allowance",
        }
    ]


def test_warn_mode_commits_and_records_the_denials_with_the_version(
    synced: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publisher = Publisher(synced)
    ensure_published(publisher, "sales.customers")
    leads, location = leads_spec(synced, BOOTSTRAP, tmp_path)
    monkeypatch.setenv("MESHLAKE_POLICY_GATE", "warn")
    decided = publisher.decide(leads, "run-leads-warn")
    version = commit(location, contract_table(leads.ports["leads"].contract, 2), "run-leads-warn")
    recorded = publisher.record(leads, "run-leads-warn", decided.json()["id"], {"leads": version})

    assert decided.status_code == 200, decided.text
    assert (decided.json()["allowed"], decided.json()["gate"], decided.json()["commit"]) == (
        False,
        "warn",
        True,
    )
    assert recorded.status_code == 201, recorded.text
    [stored] = [
        item
        for item in recorded.json()["datasets"][0]["versions"]
        if item["delta_version"] == version
    ]
    assert {(item["policy"], item["severity"]) for item in stored["policy_warnings"]} == {
        ("personal_data_masking", "deny")
    }
    assert (stored["row_count"], stored["decision_id"]) == (2, decided.json()["id"])
