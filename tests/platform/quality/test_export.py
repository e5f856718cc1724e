"""``meshlake quality export`` writes the port's Great Expectations suite as JSON (a subprocess)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.platform.cli.test_cli import meshlake

pytestmark = pytest.mark.integration

CONTRACT = Path(__file__).parent / "rules_contract.yaml"


def test_export_writes_the_suite_with_every_rule(mini_project: Path, tmp_path: Path) -> None:
    shutil.copy(CONTRACT, mini_project / "domains/alpha/products/things/contract.yaml")
    output = tmp_path / "things.json"

    result = meshlake(
        mini_project,
        "quality",
        "export",
        "alpha.things",
        "--port",
        "things",
        "--output",
        str(output),
    )

    assert result.returncode == 0, result.stderr
    suite = json.loads(output.read_text())
    assert suite["name"] == "alpha.things.things"
    rules = {item["meta"]["meshlake_rule"]: item for item in suite["expectations"]}
    assert len(rules) == 9  # every rule but the SQL one, which is listed in the suite's meta
    assert rules["kind_invalid_values"]["type"] == "expect_column_values_to_be_in_set"
    assert rules["kind_invalid_values"]["kwargs"]["value_set"] == ["a", "b", "c", "d"]
    assert rules["things_row_count"]["kwargs"] == {"min_value": 3, "max_value": 100}
    assert [rule["name"] for rule in suite["meta"]["sql_rules"]] == ["heavy_things"]
    assert suite["meta"]["sql_rules"][0]["severity"] == "warning"


def test_export_of_a_product_without_rules_says_so(mini_project: Path) -> None:
    contract = mini_project / "domains/alpha/products/summary/contract.yaml"
    contract.write_text(contract.read_text().replace("        primaryKey: true\n", ""))

    result = meshlake(mini_project, "quality", "export", "alpha.summary")

    assert result.returncode == 1
    assert "alpha.summary has no quality rules" in result.stderr
