"""Contracts compile to stable, uniquely named rules, without Spark or Great Expectations."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from meshlake.platform import PortRef, load_mesh
from meshlake.platform.quality import port_rules
from tests.helpers import REPO

pytestmark = pytest.mark.unit

CONTRACT = Path(__file__).parent / "rules_contract.yaml"
THINGS = PortRef("alpha", "things", "things")


@pytest.fixture
def port(mini_project: Path):
    shutil.copy(CONTRACT, mini_project / "domains/alpha/products/things/contract.yaml")
    return load_mesh(mini_project).port(THINGS)


def test_every_rule_kind_compiles_with_its_expectation_and_source_line(port) -> None:
    rules = {rule.name: rule for rule in port_rules(port)}

    assert {name: (rule.kind, rule.expectation, rule.column) for name, rule in rules.items()} == {
        "thing_id_invalid_values": (
            "invalidValues",
            "expect_column_values_to_match_regex",
            "thing_id",
        ),
        "label_length": ("length", "expect_column_value_lengths_to_be_between", "label"),
        "label_null_values": ("nullValues", "expect_column_values_to_not_be_null", "label"),
        "label_missing_values": (
            "missingValues",
            "expect_column_values_to_not_be_in_set",
            "label",
        ),
        "weight_range": ("range", "expect_column_values_to_be_between", "weight"),
        "kind_invalid_values": ("invalidValues", "expect_column_values_to_be_in_set", "kind"),
        "things_primary_key": ("primaryKey", "expect_column_values_to_be_unique", "thing_id"),
        "things_row_count": ("rowCount", "expect_table_row_count_to_be_between", None),
        "things_duplicate_values": (
            "duplicateValues",
            "expect_compound_columns_to_be_unique",
            None,
        ),
        "heavy_things": ("sql", "spark_sql", None),
    }
    assert rules["heavy_things"].severity == "warning"
    assert rules["kind_invalid_values"].severity == "error"
    assert rules["label_null_values"].source == "contract.yaml:26"
    assert rules["heavy_things"].source == "contract.yaml:54"


def test_names_are_unique_valid_check_names_and_stable(port) -> None:
    first = [rule.name for rule in port_rules(port)]
    second = [rule.name for rule in port_rules(port)]

    assert first == second
    assert len(set(first)) == len(first)
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", name) for name in first)


def test_sample_mesh_ports_have_unique_rule_names() -> None:
    mesh = load_mesh(REPO)
    for port in mesh.ports:
        names = [rule.name for rule in port_rules(port)]
        assert len(set(names)) == len(names), port.ref


def test_port_rules_imports_neither_spark_nor_great_expectations(port) -> None:
    code = (
        "import sys; from meshlake.platform import load_mesh, PortRef;"
        "from meshlake.platform.quality import port_rules;"
        f"mesh = load_mesh(__import__('pathlib').Path({str(REPO)!r}));"
        "assert sum(len(port_rules(p)) for p in mesh.ports) > 20;"
        "bad = [m for m in ('pyspark', 'great_expectations') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
