"""A port's quality report on its output dataset: dataQualityAssertions and dataQualityMetrics
facets, valid against their schemas, on COMPLETE and on the FAIL of a blocked publication."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from meshlake.platform import PortRef
from meshlake.platform._materialize import PortResult
from meshlake.platform.quality import QualityReport, RuleResult, RuleSpec
from tests.openlineage_schemas import OpenLineageSchemas
from tests.platform.lineage._support import MINI, run_event

pytestmark = pytest.mark.unit


def _rule(name: str, kind: str, column: str | None, **extra: Any) -> RuleSpec:
    return RuleSpec(
        port=PortRef("alpha", "summary", "summary"),
        name=name,
        description=f"{name} holds",
        kind=kind,
        expectation="expect_" + name,
        column=column,
        **extra,
    )


def _quality_report() -> QualityReport:
    return QualityReport(
        port=PortRef("alpha", "summary", "summary"),
        rows_checked=40,
        results=(
            RuleResult(
                _rule("kind_not_null", "nullValues", "kind"),
                passed=False,
                expected="= 0 rows",
                observed=3,
                unexpected_count=3,
                unexpected_percent=7.5,
                failing_sample=("***",),
            ),
            RuleResult(
                _rule("rows_in_range", "rowCount", None, severity="warning"),
                passed=True,
                expected="between 1 and 100",
                observed=40,
            ),
        ),
    )


def test_quality_results_become_assertions_and_metrics_on_the_output(
    schemas: OpenLineageSchemas, tmp_path: Path
) -> None:
    location = f"{tmp_path}/lake/lab/alpha/summary/summary"
    report = _quality_report()
    published = [
        PortResult(PortRef("alpha", "summary", "summary"), location, 1, 40, "overwrite", report)
    ]
    event = run_event("COMPLETE", MINI, "alpha.summary", tmp_path, published=published)

    assert schemas.problems(event) == []
    (out,) = event["outputs"]
    assertions = out["facets"]["dataQualityAssertions"]["assertions"]
    assert [(a["name"], a["assertion"], a["success"], a["severity"]) for a in assertions] == [
        ("kind_not_null", "not_null", False, "error"),
        ("rows_in_range", "row_count", True, "warn"),
    ]
    failed = assertions[0]
    assert (failed["column"], failed["expected"], failed["actual"]) == ("kind", "= 0 rows", "3")
    assert failed["params"]["unexpectedCount"] == 3
    # Failing samples may be personal data: they stay in the (masked) Dagster check only.
    assert "***" not in json.dumps(out)
    metrics = out["facets"]["dataQualityMetrics"]
    assert metrics["rowCount"] == 40
    assert metrics["columnMetrics"] == {"kind": {"nullCount": 3, "count": 37.0}}


def test_a_blocked_publication_fails_with_its_assertions(
    schemas: OpenLineageSchemas, tmp_path: Path
) -> None:
    event = run_event(
        "FAIL",
        MINI,
        "alpha.summary",
        tmp_path,
        error="alpha.summary: quality rules failed",
        quality=[_quality_report()],
    )

    assert schemas.problems(event) == []
    (out,) = event["outputs"]
    assert "version" not in out["facets"]
    assert out["facets"]["dataQualityAssertions"]["assertions"][0]["success"] is False
    assert (
        event["run"]["facets"]["errorMessage"]["message"] == "alpha.summary: quality rules failed"
    )


def test_a_port_without_a_report_has_no_quality_facets(tmp_path: Path) -> None:
    event = run_event("START", MINI, "alpha.summary", tmp_path)
    facets = event["outputs"][0]["facets"]
    assert "dataQualityAssertions" not in facets
    assert "dataQualityMetrics" not in facets
