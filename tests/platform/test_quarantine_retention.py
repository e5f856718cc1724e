"""Real Spark + Delta: ``meshlake vacuum`` keeps quarantined rows for the port contract's retention
SLA, else for the default setting, and deletes older ones (a dry run only counts them).

The quarantine table is made by the publish engine alone (``EnginePlatform``), then a row quarantined
40 days ago is added to it the way the platform writes rows (same schema), with delta-rs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from meshlake.platform import PortRef
from meshlake.platform._vacuum import vacuum_products, vacuum_quarantine
from meshlake.platform.cli._vacuum import summarize
from meshlake.platform.quality._quarantine_table import quarantine_location
from tests.helpers import engine_platform

pytestmark = pytest.mark.integration

THINGS = PortRef("alpha", "things", "things")
LABEL = "      - name: label\n        logicalType: string\n"
RULE = (
    "        quality:\n"
    "          - metric: invalidValues\n"
    "            arguments:\n"
    "              pattern: '^thing [0-9]+$'\n"
    "            mustBe: 0\n"
    "            customProperties:\n"
    "              - property: quarantine\n"
    "                value: true\n"
)
RETENTION_60_DAYS = "slaProperties:\n  - property: retention\n    value: 60\n    unit: d\n"


def _quarantine_with_an_old_row(project: Path, sla: str = "") -> str:
    contract = project / "domains/alpha/products/things/contract.yaml"
    text = contract.read_text().replace(LABEL, LABEL + RULE)
    contract.write_text(text + sla)
    platform = engine_platform(project)
    platform.ingest(scale=1.0)
    drop = Path(platform.state_home) / "lake/lab/_raw/alpha/things_raw/part-00000.csv"
    drop.write_text(drop.read_text() + "T9998,Bob,6.0,b\nT9999,Eve,1.0,c\n")
    (result,) = platform.materialize(["alpha.things"])
    assert result.status == "published", result.error
    where = quarantine_location(platform.location(THINGS))
    recent = DeltaTable(where).to_pyarrow_table()
    old = recent.slice(0, 1)
    old = old.set_column(old.schema.get_field_index("thing_id"), "thing_id", pa.array(["T0001"]))
    at = old.schema.get_field_index("_quarantined_at")
    stamp = datetime.now(UTC) - timedelta(days=40)
    old = old.set_column(at, "_quarantined_at", pa.array([stamp], old.schema.field(at).type))
    write_deltalake(where, old, mode="append")
    return where


def _ids(where: str) -> list[str]:
    return sorted(row["thing_id"] for row in DeltaTable(where).to_pyarrow_table().to_pylist())


def test_vacuum_deletes_quarantined_rows_older_than_the_default_retention(
    mini_project: Path, spark: object, capsys: pytest.CaptureFixture[str]
) -> None:
    where = _quarantine_with_an_old_row(mini_project)
    platform = engine_platform(mini_project)

    (_, dry) = vacuum_products(platform, ["alpha.things"], dry_run=True)
    after_dry_run = _ids(where)
    (_, done) = vacuum_products(platform, ["alpha.things"])
    summarize([done])

    assert (dry.table, dry.rows, dry.rows_retention) == (
        "alpha.things.things quarantine",
        1,
        timedelta(days=30),
    )
    assert after_dry_run == ["T0001", "T9998", "T9999"]  # a dry run deletes nothing
    assert done.rows == 1
    assert _ids(where) == ["T9998", "T9999"]
    assert "removed 1 quarantined rows past their retention" in capsys.readouterr().out
    again = vacuum_quarantine(platform.spark(), where, timedelta(days=30))
    assert again is not None and again.rows == 0
    assert DeltaTable(where).version() == 2  # no empty delete commit


def test_the_contracts_retention_sla_keeps_quarantined_rows_longer(
    mini_project: Path, spark: object
) -> None:
    where = _quarantine_with_an_old_row(mini_project, RETENTION_60_DAYS)

    (_, result) = vacuum_products(engine_platform(mini_project), ["alpha.things"])

    assert (result.rows, result.rows_retention) == (0, timedelta(days=60))
    assert _ids(where) == ["T0001", "T9998", "T9999"]
