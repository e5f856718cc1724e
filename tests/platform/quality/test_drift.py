"""Drift fires on a shifted distribution and stays quiet on a stable one (real Spark)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from meshlake.platform import PortRef, load_mesh
from meshlake.platform.quality._drift import measure_drift

pytestmark = pytest.mark.integration

SCHEMA = "thing_id STRING, label STRING, weight DOUBLE, kind STRING"


def _frame(spark, seed: int, shift: float = 0.0, kinds: str = "abcd", rows: int = 2000):
    rng = random.Random(seed)
    data = [
        (f"T{i:04d}", f"thing {i}", rng.uniform(1, 10) + shift, rng.choice(kinds))
        for i in range(rows)
    ]
    return spark.createDataFrame(data, SCHEMA)


@pytest.fixture
def contract(mini_project: Path):
    return load_mesh(mini_project).port(PortRef("alpha", "things", "things")).contract


def test_stable_distribution_does_not_drift(spark, contract) -> None:
    drift = measure_drift(contract, _frame(spark, 2), 2000, _frame(spark, 1))

    by_column = {d.column: d for d in drift}
    assert set(by_column) == {"weight", "kind"}  # the key is skipped, label has too many values
    assert by_column["weight"].statistic == "psi"
    assert by_column["kind"].statistic == "category_share"
    assert not any(d.drifted for d in drift), drift
    assert by_column["weight"].value < 0.05


def test_shifted_distribution_drifts(spark, contract) -> None:
    shifted = _frame(spark, 2, shift=4.0, kinds="aaab")
    drift = {d.column: d for d in measure_drift(contract, shifted, 2000, _frame(spark, 1))}

    assert drift["weight"].drifted and drift["weight"].value > 1.0
    assert drift["weight"].threshold == 0.2
    assert drift["kind"].drifted and drift["kind"].value > 0.4
    assert "'a'" in drift["kind"].detail


def test_contract_thresholds_override_the_defaults(spark, mini_project: Path) -> None:
    file = mini_project / "domains/alpha/products/things/contract.yaml"
    text = file.read_text().replace(
        "  - name: things\n",
        "  - name: things\n    customProperties:\n      - property: driftPsiThreshold\n"
        "        value: 50\n",
    )
    file.write_text(
        text + "        customProperties:\n          - property: drift\n            value: false\n"
    )
    contract = load_mesh(mini_project).port(PortRef("alpha", "things", "things")).contract
    shifted = _frame(spark, 2, shift=4.0, kinds="aaab")

    drift = {d.column: d for d in measure_drift(contract, shifted, 2000, _frame(spark, 1))}

    assert set(drift) == {"weight"}  # kind (the last property) opted out
    assert drift["weight"].threshold == 50 and not drift["weight"].drifted
