"""A pull request is judged with the base branch's policies; its own policy changes are called out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from meshlake.governance.cli import register
from meshlake.governance.policies import SHIPPED_POLICIES, PolicyEngine, publication_input
from meshlake.platform.specs import load_mesh
from tests.review.conftest import (
    EMPLOYEES,
    POLICIES,
    Contract,
    edit_yaml,
    git,
    replace_in,
)

pytestmark = pytest.mark.integration

SLA_DECLARED = f"{POLICIES}/publication/sla_declared.rego"
NAMING = f"{POLICIES}/publication/naming.rego"
CONFIG = f"{POLICIES}/data/config.json"
HISTORY = "domains/hr/products/engagement_history"


def run(root: Path, *args: str) -> tuple[int, str]:
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["review", "--base", "HEAD", "--root", str(root), *args])
    return result.exit_code, result.stdout


def review_json(root: Path) -> tuple[int, dict[str, Any]]:
    code, output = run(root, "--format", "json")
    return code, json.loads(output)


def add_product_without_latency(repo: Path) -> None:
    """hr.engagement_history: a copy of hr.engagement_retention whose contract states no latency."""
    source = repo / "domains/hr/products/engagement_retention"
    shutil.copytree(source, repo / HISTORY)
    for name in ("product.yaml", "contract.yaml"):
        replace_in(repo, f"{HISTORY}/{name}", "engagement_retention", "engagement_history")

    def drop_latency(contract: Contract) -> None:
        contract["slaProperties"] = [
            item for item in contract["slaProperties"] if item["property"] != "latency"
        ]

    edit_yaml(repo, f"{HISTORY}/contract.yaml", drop_latency)


def add_office_column(repo: Path) -> None:
    """A compatible change to hr.employees, so that the product is judged by the policies."""

    def add(contract: Contract) -> None:
        contract["schema"][0]["properties"].append(
            {
                "name": "office",
                "logicalType": "string",
                "physicalType": "STRING",
                "description": "Office the employee works from.",
                "classification": "internal",
            }
        )

    edit_yaml(repo, EMPLOYEES, add)


def denials(policies: Path, repo: Path, product: str) -> list[str]:
    """What the policies in ``policies`` deny for ``product`` of the work tree (the test's control)."""
    mesh = load_mesh(repo)
    decision = PolicyEngine(policies).evaluate(
        "publication", publication_input(mesh, mesh.product(product))
    )
    return [f"{reason.policy}: {reason.message}" for reason in decision.denials]


def test_a_loosened_policy_does_not_let_the_product_it_would_allow_through(
    policy_repo: Path,
) -> None:
    add_product_without_latency(policy_repo)
    replace_in(
        policy_repo,
        SLA_DECLARED,
        'required := ["latency", "retention"]',
        'required := ["retention"]',
    )
    # The pull request's own policies would let the new product through.
    assert denials(policy_repo / POLICIES, policy_repo, "hr.engagement_history") == []

    code, report = review_json(policy_repo)

    assert code == 1
    assert report["violations"] == [
        "sla_declared: output port hr.engagement_history.engagement_history states no latency: "
        "add slaProperties latency with value and unit"
    ]
    assert report["policy_basis"]["source"] == "base"
    changes = report["policy_changes"]
    assert changes["files"] == [
        {
            "path": "publication/sla_declared.rego",
            "status": "changed",
            "what": "publication.sla_declared",
            "detail": "",
        }
    ]
    assert changes["blocks_merge"] is False
    assert changes["takes_effect"] == "after merge"

    code, markdown = run(policy_repo)
    assert code == 1
    assert "Judged with the policies of `HEAD` (`governance/policies/` at " in markdown
    section = markdown.split("### Policy changes", 1)[1]
    assert "take effect only after merge" in section
    assert "a reviewer from the governance team must approve them" in section
    assert "A policy change alone does not make the review fail" in section
    assert "| `publication/sla_declared.rego` | changed | publication.sla_declared |" in section


def test_a_tightened_policy_does_not_judge_the_pull_request_that_tightens_it(
    policy_repo: Path,
) -> None:
    add_office_column(policy_repo)
    replace_in(
        policy_repo,
        NAMING,
        "import rego.v1\n",
        "import rego.v1\n\n"
        "deny contains msg if {\n"
        "\tsome port in input.product.ports\n"
        '\tmsg := concat("", ["tightened: ", port.name, " is refused"])\n'
        "}\n",
    )
    replace_in(policy_repo, CONFIG, '"personal": 3650', '"personal": 1')
    tightened = denials(policy_repo / POLICIES, policy_repo, "hr.employees")
    assert "naming: tightened: employees is refused" in tightened
    assert any(item.startswith("retention_limit:") for item in tightened)

    code, report = review_json(policy_repo)

    assert code == 0, report["violations"]
    assert list(report["policies"]) == ["hr.employees"]
    assert all(reason["severity"] != "deny" for reason in report["policies"]["hr.employees"])
    assert report["policy_changes"]["files"] == [
        {
            "path": "data/config.json",
            "status": "changed",
            "what": "policy configuration",
            "detail": "keys changed: max_retention_days",
        },
        {
            "path": "publication/naming.rego",
            "status": "changed",
            "what": "publication.naming",
            "detail": "",
        },
    ]
    code, markdown = run(policy_repo)
    assert "## meshlake review: ✅ no violations" in markdown
    assert (
        "| `data/config.json` | changed | policy configuration (keys changed: max_retention_days) |"
        in markdown
    )


def test_no_policy_change_no_section(policy_repo: Path) -> None:
    add_office_column(policy_repo)

    code, report = review_json(policy_repo)

    assert code == 0, report["violations"]
    assert report["policy_changes"] is None
    assert report["policy_basis"]["source"] == "base"
    _, markdown = run(policy_repo)
    assert "Policy changes" not in markdown


def test_added_removed_and_documentation_files_are_listed(policy_repo: Path) -> None:
    (policy_repo / NAMING).unlink()
    (policy_repo / f"{POLICIES}/publication/naming_test.rego").unlink()
    (policy_repo / f"{POLICIES}/publication/owners_named.rego").write_text(
        "package meshlake.publication.owners_named\n\nimport rego.v1\n\n"
        "warn contains msg if {\n\tcount(input.product.owners) == 1\n"
        '\tmsg := "a single owner"\n}\n',
        encoding="utf-8",
    )
    replace_in(policy_repo, f"{POLICIES}/README.md", "# Policies", "# The policies")

    _, report = review_json(policy_repo)

    assert [
        (item["path"], item["status"], item["what"]) for item in report["policy_changes"]["files"]
    ] == [
        ("README.md", "changed", "documentation"),
        ("publication/naming.rego", "removed", "publication.naming"),
        ("publication/naming_test.rego", "removed", "publication.naming_test (Rego tests)"),
        ("publication/owners_named.rego", "added", "publication.owners_named"),
    ]


def test_a_base_without_policies_falls_back_to_the_shipped_ones_and_says_so(
    mesh_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(SHIPPED_POLICIES, mesh_repo / POLICIES)
    # The introduced policies would allow what the shipped ones refuse.
    replace_in(
        mesh_repo,
        SLA_DECLARED,
        'required := ["latency", "retention"]',
        'required := ["retention"]',
    )
    add_product_without_latency(mesh_repo)
    monkeypatch.setenv("MESHLAKE_POLICIES_DIR", str(mesh_repo / POLICIES))

    code, report = review_json(mesh_repo)

    assert code == 1
    assert any(item.startswith("sla_declared:") for item in report["violations"])
    basis = report["policy_basis"]
    assert basis["source"] == "shipped"
    assert basis["note"].startswith(
        "`governance/policies/` does not exist at `HEAD`: this pull request introduces the policy "
        "folder, so it is judged with the policies shipped with meshlake"
    )
    files = report["policy_changes"]["files"]
    assert {item["status"] for item in files} == {"added"}
    assert any(item["path"] == "data/config.json" for item in files)
    _, markdown = run(mesh_repo)
    assert "judged with the policies shipped with meshlake" in markdown
    assert "### Policy changes" in markdown


def test_policies_that_no_longer_load_are_a_violation(policy_repo: Path) -> None:
    replace_in(policy_repo, NAMING, "deny contains msg if {", "deny contains msg if {{")

    code, report = review_json(policy_repo)

    assert code == 1
    [violation] = report["violations"]
    assert violation.startswith(
        "policies: the policies of this pull request (governance/policies/) do not load; after "
        "merge the governance service could not decide: publication/naming.rego:"
    )


def test_base_policies_that_do_not_load_judge_nothing_and_fail_closed(policy_repo: Path) -> None:
    replace_in(policy_repo, NAMING, "deny contains msg if {", "deny contains msg if {{")
    git(policy_repo, "commit", "-q", "-am", "a broken policy reaches the base")
    replace_in(policy_repo, NAMING, "deny contains msg if {{", "deny contains msg if {")
    add_office_column(policy_repo)

    code, report = review_json(policy_repo)

    assert code == 1
    [violation] = report["violations"]
    assert violation.startswith(
        "policies: the policies of HEAD (governance/policies/) do not load, so nothing was judged "
        "by them; fix them on the base branch first: publication/naming.rego:"
    )
    assert report["policies"] == {}
