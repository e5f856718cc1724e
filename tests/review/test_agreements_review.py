"""``meshlake review`` names the sharing agreements a breaking change hits, from the base and the
head specs, with the SLA terms they promise; a loosened SLA breaks the agreements that promised more."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from meshlake.governance.review import review, to_json, to_markdown
from tests.review.conftest import (
    EMPLOYEES,
    SALES_READS_EMPLOYEES,
    Contract,
    drop_column,
    edit_yaml,
    stop_sharing,
)

pytestmark = pytest.mark.integration

NAME = "sales-account-managers-read-employees"
PROMISED = [
    {"property": "latency", "value": 12, "unit": "h", "from": "agreement", "text": "latency 12 h"},
    {"property": "frequency", "value": 1, "unit": "d", "from": "contract", "text": "frequency 1 d"},
    {"property": "retention", "value": 7, "unit": "y", "from": "contract", "text": "retention 7 y"},
    {
        "property": "availability",
        "value": "99.5%",
        "unit": None,
        "from": "contract",
        "text": "availability 99.5%",
    },
]


def _review(repo: Path) -> tuple[dict[str, Any], str]:
    report = review(repo, "HEAD")
    return json.loads(to_json(report)), to_markdown(report)


def _breaking(report: dict[str, Any], target: str) -> dict[str, Any]:
    return next(change for change in report["changes"]["breaking"] if change["target"] == target)


def test_a_removed_column_names_the_agreement_from_the_base_and_the_head_drops_it(
    mesh_repo: Path,
) -> None:
    edit_yaml(mesh_repo, EMPLOYEES, lambda contract: drop_column(contract, "job_title"))
    edit_yaml(
        mesh_repo, SALES_READS_EMPLOYEES, lambda agreement: stop_sharing(agreement, "job_title")
    )

    report, markdown = _review(mesh_repo)

    [agreement] = _breaking(report, "hr.employees.employees.job_title")["agreements"]
    assert agreement == {
        "name": NAME,
        "consumer": {"kind": "product", "id": "sales.account_manager_performance"},
        "purpose": "sales_performance_reporting",
        "file": SALES_READS_EMPLOYEES,
        "sla": PROMISED,
        # The head's agreement no longer delivers job_title: only the base's promise is hit.
        "in": ["base"],
        "broken": None,
    }
    assert not any(item.startswith("spec:") for item in report["violations"])
    assert (
        f"| `hr.employees.employees.job_title` | `{NAME}` | product "
        "`sales.account_manager_performance` | sales_performance_reporting | latency 12 h "
        "(agreement); frequency 1 d (contract); retention 7 y (contract); availability 99.5% "
        "(contract) | base |"
    ) in markdown.splitlines()


def test_a_removed_column_the_head_agreement_still_delivers_is_a_spec_violation(
    mesh_repo: Path,
) -> None:
    edit_yaml(mesh_repo, EMPLOYEES, lambda contract: drop_column(contract, "department"))

    report, _ = _review(mesh_repo)

    [agreement] = _breaking(report, "hr.employees.employees.department")["agreements"]
    assert agreement["name"] == NAME and agreement["in"] == ["base", "head"]
    assert (
        f"spec: {SALES_READS_EMPLOYEES}:16: ports[0].columns[2]: hr.employees.employees has no "
        "column 'department'"
    ) in [item.split(";")[0] for item in report["violations"]]


def test_a_column_the_agreement_does_not_deliver_hits_no_agreement(mesh_repo: Path) -> None:
    edit_yaml(mesh_repo, EMPLOYEES, lambda contract: drop_column(contract, "manager_id"))

    report, markdown = _review(mesh_repo)

    change = _breaking(report, "hr.employees.employees.manager_id")
    assert change["agreements"] == []
    assert "### Sharing agreements hit" not in markdown


def test_a_loosened_sla_breaks_the_agreement_that_promised_more(mesh_repo: Path) -> None:
    def loosen(contract: Contract) -> None:
        for item in contract["slaProperties"]:
            if item["property"] in ("latency", "frequency"):
                item["value"] = 2

    edit_yaml(mesh_repo, EMPLOYEES, loosen)

    report, markdown = _review(mesh_repo)

    latency = _breaking(report, "hr.employees.employees")
    assert latency["kind"] == "sla_loosened" and latency["summary"] == "SLA latency 1 d -> 2 d"
    [agreement] = latency["agreements"]
    # Its own term: 12 h, which a 2 d contract cannot keep.
    assert agreement["broken"] == "promises latency 12 h; the contract now promises latency 2 d"
    frequency = next(
        change
        for change in report["changes"]["breaking"]
        if change["summary"] == "SLA frequency 1 d -> 2 d"
    )
    # The contract's term it inherited: 1 d, no longer promised either.
    assert frequency["agreements"][0]["broken"] == (
        "promises frequency 1 d; the contract now promises frequency 2 d"
    )
    assert (
        "**broken**: promises latency 12 h; the contract now promises latency 2 d. latency 12 h "
        "(agreement);"
    ) in markdown


def test_a_tightened_sla_hits_no_agreement(mesh_repo: Path) -> None:
    def tighten(contract: Contract) -> None:
        for item in contract["slaProperties"]:
            if item["property"] == "latency":
                item["value"], item["unit"] = 6, "h"

    edit_yaml(mesh_repo, EMPLOYEES, tighten)

    report, _ = _review(mesh_repo)

    assert report["changes"]["breaking"] == []
    [change] = report["changes"]["compatible"]
    assert change["kind"] == "sla_tightened" and change["agreements"] == []


def test_a_retired_port_names_every_agreement_on_it(mesh_repo: Path) -> None:
    edit_yaml(mesh_repo, "domains/operations/products/pump_health/product.yaml", _retire)

    report, markdown = _review(mesh_repo)

    [agreement] = _breaking(report, "operations.pump_health.pump_health")["agreements"]
    assert agreement["name"] == "hr-field-staffing-reads-pump-health-tight-sla"
    assert agreement["consumer"] == {"kind": "team", "id": "hr-data"}
    assert agreement["sla"][-1] == {
        "property": "completeness",
        "value": 1000000,
        "unit": "rows",
        "from": "agreement",
        "text": "completeness 1000000 rows",
    }
    assert (
        "| `operations.pump_health.pump_health` | `hr-field-staffing-reads-pump-health-tight-sla` | team `hr-data` |"
        in markdown
    )


def test_a_new_cross_domain_input_without_an_agreement_fails_the_review(mesh_repo: Path) -> None:
    def read_orders(product: dict[str, Any]) -> None:
        product["inputPorts"] = [
            *product["inputPorts"],
            {"name": "orders", "version": "1.0.0", "contractId": "sales.orders.orders"},
        ]

    edit_yaml(mesh_repo, "domains/hr/products/engagement_retention/product.yaml", read_orders)

    report, _ = _review(mesh_repo)

    [violation] = [item for item in report["violations"] if item.startswith("spec:")]
    assert violation.startswith("spec: domains/hr/products/engagement_retention/product.yaml:")
    assert "input port 'orders' of hr.engagement_retention reads sales.orders.orders" in violation
    assert "declare an agreement in domains/hr/agreements/" in violation


def _retire(product: dict[str, Any]) -> None:
    product["status"] = "retired"
