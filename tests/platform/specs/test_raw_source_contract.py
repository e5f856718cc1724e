"""A raw source described by an ODCS contract in another platform's types is read by Spark with
the Spark types the contract maps to (through each column's logicalType)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from meshlake.platform import load_mesh
from tests.platform.specs.test_odcs_examples import RAW_CONTRACT, _mini, _raw_source_by_contract

pytestmark = pytest.mark.integration


def test_spark_reads_a_raw_drop_with_the_types_its_contract_maps_to(
    tmp_path: Path, spark: Any
) -> None:
    from meshlake.platform._raw import read_raw

    project = _mini(tmp_path)
    contract = RAW_CONTRACT.split("      - name: seen_at")[0].replace("NUMBER(10,2)", "NUMBER(8,3)")
    _raw_source_by_contract(project, contract)
    raw = load_mesh(project).raw_sources["alpha.raw.things"]
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "part-0.csv").write_text("thing_id,label,weight,kind\nT0001,thing 1,2.125,a\n")

    frame = read_raw(spark, raw, str(drop))

    assert [(field.name, field.dataType.simpleString()) for field in frame.schema.fields] == [
        ("thing_id", "string"),
        ("label", "string"),
        ("weight", "decimal(8,3)"),
        ("kind", "string"),
    ]
    assert [tuple(row) for row in frame.collect()] == [("T0001", "thing 1", Decimal("2.125"), "a")]
