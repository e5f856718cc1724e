"""OpenLineage data-quality facets of an output dataset, from the port's quality report.

``dataQualityAssertions`` lists every rule with its outcome, so a lineage backend shows why a run
failed or what it warned about; ``dataQualityMetrics`` carries the counts the rules measured. Failing
samples stay out of the events: they may hold personal data, and the Dagster check has them (masked).
"""

from __future__ import annotations

from typing import cast

import attr
from openlineage.client.facet_v2 import (
    DatasetFacet,
    data_quality_assertions_dataset,
    data_quality_metrics_dataset,
)

from meshlake.platform.quality import QualityReport, RuleResult

# OpenLineage names common assertions (not_null, unique, row_count, ...); other kinds keep their
# ODCS name, which is what a reader of the contract would look for.
_ASSERTION_NAMES = {
    "nullValues": "not_null",
    "required": "not_null",
    "missingValues": "not_missing",
    "duplicateValues": "unique",
    "unique": "unique",
    "primaryKey": "unique",
    "rowCount": "row_count",
    "invalidValues": "accepted_values",
    "pattern": "regex",
    "minimum": "min_value",
    "maximum": "max_value",
    "minLength": "min_length",
    "maxLength": "max_length",
    "sql": "custom_sql",
}
_NULL_KINDS = {"nullValues", "required"}


@attr.define
class _MetricsFacet(data_quality_metrics_dataset.DataQualityMetricsDatasetFacet):
    """The metrics facet, declared at the schema version its content conforms to.

    openlineage-python stamps 1-0-1 (which added ``captureDate``); meshlake never sets that field,
    so it names 1-0-0, the version the published OpenLineage spec bundle defines.
    """

    @staticmethod
    def _get_schema() -> str:
        return "https://openlineage.io/spec/facets/1-0-0/DataQualityMetricsDatasetFacet.json#/$defs/DataQualityMetricsDatasetFacet"


_SEVERITY = {"error": "error", "warning": "warn"}


def quality_facets(report: QualityReport, producer: str) -> dict[str, DatasetFacet]:
    """The ``dataQualityAssertions`` and ``dataQualityMetrics`` facets of one port's report."""
    assertions = [_assertion(result) for result in report.results]
    metrics = _MetricsFacet(
        columnMetrics=_column_metrics(report),
        rowCount=report.rows_checked,
        producer=producer,
    )
    facets: dict[str, DatasetFacet] = {"dataQualityMetrics": metrics}
    if assertions:
        # The library types it as an input facet (a consumer's checks); here it states the
        # producer's own checks of what it wrote, so it sits on the output dataset.
        facets["dataQualityAssertions"] = cast(
            DatasetFacet,
            data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
                assertions=assertions, producer=producer
            ),
        )
    return facets


def _assertion(result: RuleResult) -> data_quality_assertions_dataset.Assertion:
    rule = result.rule
    params: dict[str, object] = {"kind": rule.kind, "expectation": rule.expectation}
    if result.unexpected_count is not None:
        params["unexpectedCount"] = result.unexpected_count
    if result.unexpected_percent is not None:
        params["unexpectedPercent"] = result.unexpected_percent
    if rule.quarantine:
        params["quarantinedRows"] = result.quarantined_rows
    return data_quality_assertions_dataset.Assertion(
        assertion=_ASSERTION_NAMES.get(rule.kind, rule.kind),
        success=result.passed,
        column=rule.column,
        severity=_SEVERITY[rule.severity],
        name=rule.name,
        description=rule.description,
        expected=result.expected,
        actual=None if result.observed is None else str(result.observed),
        params=params,
    )


def _column_metrics(
    report: QualityReport,
) -> dict[str, data_quality_metrics_dataset.ColumnMetrics]:
    """Null counts (and so value counts) of the columns a not-null rule measured."""
    nulls: dict[str, int] = {}
    for result in report.results:
        rule = result.rule
        if rule.column and rule.kind in _NULL_KINDS and result.unexpected_count is not None:
            nulls[rule.column] = max(nulls.get(rule.column, 0), result.unexpected_count)
    return {
        column: data_quality_metrics_dataset.ColumnMetrics(
            nullCount=count, count=float(report.rows_checked - count), quantiles=None
        )
        for column, count in nulls.items()
    }
