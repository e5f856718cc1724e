"""The Rego unit tests (``test_*`` rules in governance/policies/**/*_test.rego), one pytest case each."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshlake.governance.policies import SHIPPED_POLICIES
from meshlake.governance.policies._testing import RegoTest, bundles_with_tests, discover

pytestmark = pytest.mark.unit

BUNDLES = bundles_with_tests(SHIPPED_POLICIES)
TESTS = discover(BUNDLES)


def test_every_decision_has_rego_tests() -> None:
    assert {test.decision for test in TESTS} == {"publication", "review", "access", "sharing"}


@pytest.mark.parametrize("rego_test", TESTS, ids=[test.name for test in TESTS])
def test_rego(rego_test: RegoTest) -> None:
    assert rego_test.run(BUNDLES[rego_test.decision]), (
        f"{rego_test.module}:{rego_test.line}: {rego_test.rule} is not true"
    )


def test_a_failing_rego_test_is_reported_as_failing(tmp_path: Path) -> None:
    """The runner must be able to fail: a false test and an undefined one both count as failures."""
    root = _copy_policies(tmp_path)
    (root / "publication" / "broken_test.rego").write_text(
        "package meshlake.publication.broken_test\n\n"
        "import data.meshlake.publication.ownership\n"
        "import rego.v1\n\n"
        "test_false if {\n"
        '\tp := {"ref": "x.y", "owners": ["o"], "description": "d"}\n'
        "\tcount(ownership.deny) == 1 with input.product as p\n"
        "}\n\n"
        "test_undefined if {\n"
        "\tinput.nothing == 1\n"
        "}\n",
        encoding="utf-8",
    )
    bundles = bundles_with_tests(root)
    broken = {
        test.rule: test for test in discover(bundles) if test.module.endswith("broken_test.rego")
    }
    assert set(broken) == {"test_false", "test_undefined"}
    assert broken["test_false"].line == 6
    assert not broken["test_false"].run(bundles["publication"])
    assert not broken["test_undefined"].run(bundles["publication"])


def _copy_policies(tmp_path: Path) -> Path:
    import shutil

    root = tmp_path / "policies"
    shutil.copytree(SHIPPED_POLICIES, root)
    return root
