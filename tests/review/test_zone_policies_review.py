"""`meshlake review` judges each product by the policies its zone declares, as the base declares them.

hr.engagement_history (added by the pull request) states no latency, which ``publication.sla_declared``
denies. Zone emea (hr's) declaring policies without it lets the product through; a pull request that
takes the policy out of its own zone file does not (the base's zone file judges); a zone file naming a
policy that does not exist fails the review.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from meshlake.governance.cli import register
from tests.review.conftest import git
from tests.review.test_base_policies import add_product_without_latency

pytestmark = pytest.mark.integration

EMEA = "infra/landing-zones/emea.yaml"
HISTORY = "hr.engagement_history"
NO_LATENCY = (
    "sla_declared: output port hr.engagement_history.engagement_history states no latency: "
    "add slaProperties latency with value and unit"
)


def _review(root: Path) -> tuple[int, dict[str, Any]]:
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(
        app, ["review", "--base", "HEAD", "--root", str(root), "--format", "json"]
    )
    return result.exit_code, json.loads(result.stdout)


def _declare(repo: Path, policies: list[str]) -> None:
    file = repo / EMEA
    file.write_text(file.read_text() + f"policies: [{', '.join(policies)}]\n")


def _commit(repo: Path) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")


def test_a_zone_without_the_policy_lets_its_product_through(mesh_repo: Path) -> None:
    add_product_without_latency(mesh_repo)
    code, report = _review(mesh_repo)  # the control: emea declares no policies, so all judge
    assert code == 1
    assert NO_LATENCY in report["violations"]
    assert "publication.sla_declared" in report["judged_by"][HISTORY]["policies"]

    # The base declares emea's policies (the new product stays in the work tree only).
    _declare(mesh_repo, ["publication.ownership", "publication.naming", "review"])
    git(mesh_repo, "add", EMEA)
    git(mesh_repo, "commit", "-q", "-m", "emea declares its policies")

    code, report = _review(mesh_repo)

    assert code == 0, report["violations"]
    assert report["judged_by"][HISTORY]["policies"] == [
        "publication.naming",
        "publication.ownership",
    ]
    assert report["judged_by"][HISTORY]["bundle"].startswith("sha256:")
    assert "review.breaking_changes" in report["judged_by"]["review"]["policies"]


def test_a_pull_request_cannot_drop_a_policy_from_its_own_zone(mesh_repo: Path) -> None:
    add_product_without_latency(mesh_repo)
    _declare(mesh_repo, ["publication.ownership"])  # in the work tree only: not yet the base's

    code, report = _review(mesh_repo)

    assert code == 1
    assert NO_LATENCY in report["violations"]
    assert "publication.sla_declared" in report["judged_by"][HISTORY]["policies"]


def test_a_zone_naming_an_unknown_policy_fails_the_review(mesh_repo: Path) -> None:
    _declare(mesh_repo, ["publication", "publication.ownr"])
    _commit(mesh_repo)
    add_product_without_latency(mesh_repo)

    code, report = _review(mesh_repo)

    assert code == 1
    problem = next(v for v in report["violations"] if "publication.ownr" in v)
    assert EMEA in problem and "policies[1]" in problem
    # Fail closed: its products are judged by every policy meanwhile.
    assert NO_LATENCY in report["violations"]
