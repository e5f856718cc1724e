"""Real Spark + Delta: rules meshlake cannot run reach the quality report as not evaluated (for a
skipped check), beside the results of the rules it ran, and block nothing."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from meshlake.platform import PortRef, load_mesh
from meshlake.platform.quality._engine import QualityEngine
from meshlake.platform.specs import Contract
from tests.helpers import engine_platform

pytestmark = pytest.mark.integration

NOTES = Path(__file__).parents[1] / "specs" / "notes" / "contract.yaml"
THINGS = PortRef("alpha", "things", "things")


def test_the_report_carries_the_rules_it_did_not_evaluate(mini_project: Path, spark) -> None:
    shutil.copy(NOTES, mini_project / "domains/alpha/products/things/contract.yaml")
    platform = engine_platform(mini_project)
    platform.ingest(scale=1.0)

    result = platform.materialize(["alpha.things"])[0]

    assert result.status == "published", result.error
    report = result.ports[0].quality
    assert report is not None
    assert [(r.name, r.kind, r.source) for r in report.not_evaluated] == [
        ("label_custom", "custom", "contract.yaml:17"),
        ("things_text", "text", "contract.yaml:30"),
        ("dbt_freshness", "sql", "contract.yaml:32"),
    ]
    assert [r.rule.name for r in report.results] == ["things_primary_key", "things_row_count"]
    assert report.summary()["not_evaluated"] == ["label_custom", "things_text", "dbt_freshness"]
    assert not report.blocked


def test_a_port_whose_rules_all_cannot_run_still_reports_them(spark, tmp_path: Path) -> None:
    from tests.helpers import MINI_MESH

    port = load_mesh(MINI_MESH).port(THINGS)
    contract = Contract.model_validate(
        {
            "apiVersion": "v3.1.0",
            "kind": "DataContract",
            "id": "alpha.things.things",
            "version": "1.0.0",
            "status": "active",
            "schema": [
                {
                    "name": "things",
                    "properties": [{"name": "thing_id", "logicalType": "string"}],
                    "quality": [{"type": "custom", "engine": "montecarlo"}],
                }
            ],
        }
    )
    port = dataclasses.replace(port, contract=contract)
    frame = spark.createDataFrame([("T1",)], "thing_id STRING")

    checked = QualityEngine(spark, tmp_path, "run-1").check(port, frame, str(tmp_path / "t"))

    assert checked is not None
    assert checked.staged is None and checked.frame is frame  # nothing read, nothing staged
    report = checked.report
    assert (report.rows_checked, report.results) == (0, ())
    assert [(r.name, r.reason) for r in report.not_evaluated] == [
        ("things_custom", "a custom rule runs on engine 'montecarlo', which meshlake does not run")
    ]
