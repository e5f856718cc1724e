"""The shipped GitHub Actions workflow runs the review from the base branch's checkout and finds its
comment by the report's marker; the shipped CODEOWNERS covers the policies and the agreements."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from meshlake.governance.review import MARKER
from tests.helpers import REPO

pytestmark = pytest.mark.unit

WORKFLOW = REPO / "infra" / "github" / "meshlake-review.yml"
CODEOWNERS = REPO / "infra" / "github" / "CODEOWNERS"
BASE_SHA = "${{ github.event.pull_request.base.sha }}"
PLATFORM_TEAM = "@meshlake/platform-team"


def _steps() -> list[dict[str, Any]]:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    steps: list[dict[str, Any]] = workflow["jobs"]["review"]["steps"]
    return steps


def _checkouts() -> dict[str, dict[str, Any]]:
    return {
        step["with"]["path"]: step["with"]
        for step in _steps()
        if step.get("uses", "").startswith("actions/checkout")
    }


def test_the_workflow_reviews_pull_requests_and_updates_one_comment() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as a boolean
    assert "pull_request" in triggers
    assert "pull_request_target" not in triggers  # no write token next to the PR's files
    assert workflow["permissions"]["pull-requests"] == "write"
    steps = _steps()
    comment = next(step for step in steps if "github-script" in step.get("uses", ""))
    assert f'"{MARKER}"' in comment["with"]["script"]
    assert "GITHUB_WORKSPACE}/review.md" in comment["with"]["script"]
    assert steps[-1]["run"] == "exit ${{ steps.review.outputs.code }}"


def test_the_review_runs_meshlake_installed_from_the_base_checkout() -> None:
    checkouts = _checkouts()
    assert set(checkouts) == {"pr", "base"}
    assert checkouts["pr"]["fetch-depth"] == 0  # git archive of the base ref needs its history
    assert checkouts["base"]["ref"] == BASE_SHA
    assert all(item["persist-credentials"] is False for item in checkouts.values())
    steps = _steps()
    installs = [step for step in steps if "uv sync" in step.get("run", "")]
    assert [step.get("working-directory") for step in installs] == ["base"]
    review = next(step for step in steps if step.get("id") == "review")
    assert review["working-directory"] == "pr"
    command = " ".join(review["run"].replace("\\\n", " ").split())
    assert f'"$GITHUB_WORKSPACE/base/.venv/bin/meshlake" review --root . --base "{BASE_SHA}"' in (
        command
    )
    # Nothing of the pull request's checkout is installed or run through uv or pip.
    for step in steps:
        if step.get("working-directory") != "base":
            assert not re.search(
                r"\b(uv (run|sync|pip)|pip install -e|pip install \.)", step.get("run", "")
            ), step


def _owners(path: str) -> list[str]:
    """The owners GitHub gives ``path`` (repository-relative): the last matching line's."""
    found: list[str] = []
    for line in CODEOWNERS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pattern, *owners = line.split()
        if _matches(pattern, path):
            found = owners
    return found


def _matches(pattern: str, path: str) -> bool:
    """CODEOWNERS' gitignore-style matching, for the forms the file uses: anchored at ``/``, ``*``
    within one path segment, a trailing ``/`` for everything under a folder."""
    assert pattern.startswith("/"), f"unanchored pattern {pattern!r}: keep them anchored"
    body = re.escape(pattern.lstrip("/")).replace(r"\*", "[^/]*")
    if pattern.endswith("/"):
        return re.fullmatch(body + ".+", path) is not None
    return re.fullmatch(body + "(/.+)?", path) is not None


def test_codeowners_gives_policies_and_new_agreements_to_the_platform_team() -> None:
    assert _owners("governance/policies/publication/sla.rego") == [PLATFORM_TEAM]
    assert _owners("governance/policies/data/config.json") == [PLATFORM_TEAM]
    assert _owners(".github/workflows/meshlake-review.yml") == [PLATFORM_TEAM]
    assert _owners("infra/github/CODEOWNERS") == [PLATFORM_TEAM]
    assert _owners("domains/finance/agreements/new-agreement.yaml") == [PLATFORM_TEAM]
    assert _owners("domains/hr/products/employees/contract.yaml") == []


def test_each_sample_agreement_is_owned_by_its_providers_owners() -> None:
    agreements = sorted((REPO / "domains").glob("*/agreements/*.yaml"))
    assert agreements, "the sample mesh has agreements"
    for file in agreements:
        document = yaml.safe_load(file.read_text(encoding="utf-8"))
        providers = {item["port"].split(".")[0] for item in document["ports"]}
        expected = set()
        for provider in providers:
            domain = yaml.safe_load(
                (REPO / "domains" / provider / "domain.yaml").read_text(encoding="utf-8")
            )
            expected |= {
                member["username"]
                for member in domain["team"]["members"]
                if member.get("role") == "owner"
            }
        relative = file.relative_to(REPO).as_posix()
        assert set(_owners(relative)) == expected, relative
        if "approvedBy" in document:  # an agreement not approved in review yet has none
            assert document["approvedBy"] in expected, relative
