"""Real Spark + Delta: a quarantine rule blocks past its limit (by default when every row would go),
and the quarantine table never holds a classified value unmasked."""

from __future__ import annotations

from pathlib import Path

import pytest
from deltalake import DeltaTable

from meshlake.platform import PortRef
from meshlake.platform.quality import QualityError
from meshlake.platform.quality._engine import quarantine_location
from tests.helpers import engine_platform

pytestmark = pytest.mark.integration

THINGS = PortRef("alpha", "things", "things")
LABEL = "      - name: label\n        logicalType: string\n"


def _quarantine_rule(limit: float | None = None) -> str:
    rule = (
        "        classification: personal\n"
        "        quality:\n"
        "          - metric: invalidValues\n"
        "            arguments:\n"
        "              pattern: '^thing [0-9]+$'\n"
        "            mustBe: 0\n"
        "            customProperties:\n"
        "              - property: quarantine\n"
        "                value: true\n"
    )
    if limit is not None:
        rule += f"              - property: quarantineMaxPercent\n                value: {limit}\n"
    return rule


def _platform(project: Path, limit: float | None = None):
    contract = project / "domains/alpha/products/things/contract.yaml"
    contract.write_text(contract.read_text().replace(LABEL, LABEL + _quarantine_rule(limit)))
    platform = engine_platform(project)
    platform.ingest(scale=1.0)
    return platform


def _raw(platform) -> Path:
    return Path(platform.state_home) / "lake/lab/_raw/alpha/things_raw/part-00000.csv"


def _add_raw_rows(platform, rows: list[str]) -> None:
    drop = _raw(platform)
    drop.write_text(drop.read_text() + "".join(row + "\n" for row in rows))


def test_quarantined_personal_values_are_masked_in_the_quarantine_table(
    mini_project: Path, spark
) -> None:
    platform = _platform(mini_project)
    _add_raw_rows(
        platform, ["T9997,jane.doe@example.org,5.0,a", "T9998,Bob,6.0,b", "T9999,X,1.0,c"]
    )

    result = platform.materialize(["alpha.things"])[0]

    assert result.status == "published", result.error
    port = result.ports[0]
    assert port.rows == 100
    quarantined = DeltaTable(quarantine_location(port.location)).to_pyarrow_table().to_pylist()
    assert sorted((row["thing_id"], row["label"]) for row in quarantined) == [
        ("T9997", "j***@***"),
        ("T9998", "B***"),
        ("T9999", "***"),
    ]
    # The unclassified columns keep their values and types.
    assert sorted(str(row["weight"]) for row in quarantined) == ["1.000", "5.000", "6.000"]
    assert port.quality is not None
    rule = next(r for r in port.quality.results if r.rule.quarantine)
    assert (rule.quarantined_rows, rule.blocking) == (3, False)
    assert sorted(rule.failing_sample) == ["***", "B***", "j***@***"]


def test_a_quarantine_of_every_row_blocks_and_keeps_the_previous_version(
    mini_project: Path, spark
) -> None:
    platform = _platform(mini_project)
    first = platform.materialize(["alpha.things"])[0].ports[0]
    drop = _raw(platform)
    lines = drop.read_text().splitlines()
    drop.write_text(
        "\n".join([lines[0], *(line.replace(",thing ", ",gadget ") for line in lines[1:])]) + "\n"
    )

    with pytest.raises(QualityError) as caught:
        platform.materialize_product("alpha.things")

    message = str(caught.value)
    assert "label_invalid_values: would quarantine every row (100 of 100 by this rule)" in message
    assert "quarantineMaxPercent: 100" in message
    blocking = [r for report in caught.value.reports for r in report.results if r.blocking]
    assert [(r.rule.name, r.quarantined_rows) for r in blocking] == [("label_invalid_values", 100)]
    assert DeltaTable(first.location).version() == 0
    assert len(DeltaTable(first.location).to_pyarrow_table()) == 100
    assert not Path(quarantine_location(first.location)).exists()


def test_quarantine_max_percent_blocks_past_its_share(mini_project: Path, spark) -> None:
    platform = _platform(mini_project, limit=1)
    _add_raw_rows(platform, ["T9998,Bob,6.0,b", "T9999,Eve,1.0,c"])

    with pytest.raises(QualityError) as caught:
        platform.materialize_product("alpha.things")

    assert (
        "label_invalid_values: would quarantine 2 of 102 rows (1.961 %), more than its "
        "quarantineMaxPercent 1" in str(caught.value)
    )
    assert not Path(platform.location(THINGS), "_delta_log").exists() or not list(
        Path(platform.location(THINGS), "_delta_log").glob("*.json")
    )


def test_quarantine_max_percent_100_allows_an_empty_publication(mini_project: Path, spark) -> None:
    platform = _platform(mini_project, limit=100)
    drop = _raw(platform)
    lines = drop.read_text().splitlines()
    drop.write_text("\n".join([lines[0], *(f"T{i:04d},gadget,1.0,a" for i in range(3))]) + "\n")

    result = platform.materialize(["alpha.things"])[0]

    assert result.status == "published", result.error
    assert result.ports[0].rows == 0
