"""A broken policy folder fails at load with the file and line; bad input names the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from meshlake.governance.policies import (
    SHIPPED_POLICIES,
    PolicyEngine,
    PolicyInputError,
    PolicyLoadError,
    load_bundle,
)

pytestmark = pytest.mark.unit


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    root = tmp_path / "policies"
    shutil.copytree(SHIPPED_POLICIES, root)
    return root


def test_a_syntax_error_names_file_line_and_column(policies: Path) -> None:
    (policies / "publication" / "broken.rego").write_text(
        "package meshlake.publication.broken\n"
        "\n"
        "import rego.v1\n"
        "\n"
        "deny contains msg if {\n"
        "\tmsg := input.product.ref +\n"
        "}\n",
        encoding="utf-8",
    )
    with pytest.raises(PolicyLoadError) as caught:
        PolicyEngine(policies)
    error = caught.value
    assert (error.file, error.line) == ("publication/broken.rego", 6)
    assert str(error).startswith("publication/broken.rego:6:")
    assert "arithmetic" in str(error).lower()


def test_a_module_outside_its_decision_package_is_refused(policies: Path) -> None:
    (policies / "access" / "stray.rego").write_text(
        "# a comment first\npackage meshlake.publication.stray\n\nimport rego.v1\n",
        encoding="utf-8",
    )
    with pytest.raises(
        PolicyLoadError,
        match=r"^access/stray\.rego:2:9: package meshlake\.publication\.stray must be meshlake\.access\.<policy>",
    ):
        load_bundle(policies, "access")


def test_a_whole_input_override_in_a_test_is_refused_before_it_can_crash(policies: Path) -> None:
    (policies / "review" / "crash_test.rego").write_text(
        "package meshlake.review.crash_test\n\nimport rego.v1\n\n"
        "test_x if {\n\tcount(data.meshlake.review.breaking_changes.deny) == 0 with input as {}\n}\n",
        encoding="utf-8",
    )
    with pytest.raises(PolicyLoadError, match=r"^review/crash_test\.rego:6:\d+: 'with input as'"):
        load_bundle(policies, "review", include_tests=True)


def test_malformed_configuration_names_its_line(policies: Path) -> None:
    config = policies / "data" / "config.json"
    config.write_text('{\n  "exceptions": [\n  ,]\n}\n', encoding="utf-8")
    with pytest.raises(PolicyLoadError) as caught:
        PolicyEngine(policies)
    assert caught.value.file == str(config) and caught.value.line == 3


def test_input_that_breaks_the_schema_names_the_field() -> None:
    engine = PolicyEngine(SHIPPED_POLICIES)
    with pytest.raises(PolicyInputError, match=r"^input\.product: 'ports' is a required property"):
        engine.evaluate(
            "publication",
            {
                "product": {
                    "ref": "a.b",
                    "domain": "a",
                    "name": "b",
                    "status": "active",
                    "tier": "gold",
                    "tags": [],
                    "description": "",
                    "owners": [],
                    "zone": "z",
                    "region": "r",
                    "inputs": [],
                }
            },
        )
    with pytest.raises(PolicyInputError, match=r"^input\.action: 'delete' is not one of"):
        engine.evaluate(
            "access",
            {
                "principal": {"name": "p", "roles": []},
                "action": "delete",
                "dataset": {"ref": "a.b.c", "domain": "a", "classification": "internal"},
                "agreements": [],
                "today": "2026-11-22",
            },
        )
