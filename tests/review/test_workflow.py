"""The shipped GitHub Actions workflow runs the review and finds its comment by the report's marker."""

from __future__ import annotations

import pytest
import yaml

from meshlake.governance.review import MARKER
from tests.helpers import REPO

pytestmark = pytest.mark.unit

WORKFLOW = REPO / "infra" / "github" / "meshlake-review.yml"


def test_the_workflow_reviews_pull_requests_and_updates_one_comment() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as a boolean
    assert "pull_request" in triggers
    assert workflow["permissions"]["pull-requests"] == "write"
    steps = workflow["jobs"]["review"]["steps"]
    checkout = next(step for step in steps if step.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    review = next(step for step in steps if step.get("id") == "review")
    assert 'meshlake review --base "origin/${{ github.base_ref }}"' in review["run"]
    comment = next(step for step in steps if "github-script" in step.get("uses", ""))
    assert f'"{MARKER}"' in comment["with"]["script"]
    assert steps[-1]["run"] == "exit ${{ steps.review.outputs.code }}"
