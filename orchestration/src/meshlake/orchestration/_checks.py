"""The asset checks of an output port: its schema, one per contract quality rule, and drift.

Checks are declared from the specs alone (``port_rules`` reads no data), so the UI lists every rule
of a port before anything ran. Error-severity rules are blocking: a failure stops downstream assets.
A quarantine rule reports as a warning (its failing rows were set aside and the rest published)
unless it passed its limit, which fails the product; drift reports as a warning. A rule meshlake
cannot run (``type: text``, ``custom``, another engine) is a non-blocking check answered "not
evaluated", so it shows in the UI instead of disappearing.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from meshlake.orchestration._data_docs import data_docs_link
from meshlake.orchestration._keys import port_key
from meshlake.platform.quality import (
    NotEvaluated,
    QualityReport,
    RuleResult,
    RuleSpec,
    not_evaluated_rules,
    port_rules,
)
from meshlake.platform.specs import PortSpec

SCHEMA_CHECK = "contract_schema"
DRIFT_CHECK = "distribution_drift"


def port_check_specs(port: PortSpec) -> list[dg.AssetCheckSpec]:
    key = port_key(port.ref)
    schema = dg.AssetCheckSpec(
        SCHEMA_CHECK,
        asset=key,
        blocking=True,
        description="The written Delta table has exactly the contract's columns, order and types.",
    )
    rules = [
        dg.AssetCheckSpec(
            rule.name,
            asset=key,
            blocking=_blocks(rule),
            description=_rule_description(rule),
            metadata=_rule_metadata(rule),
        )
        for rule in port_rules(port)
    ]
    skipped = [
        dg.AssetCheckSpec(
            rule.name,
            asset=key,
            blocking=False,
            description=f"not evaluated: {rule.reason}"
            + (f" (contract rule at {rule.source})" if rule.source else ""),
        )
        for rule in not_evaluated_rules(port)
    ]
    if not rules:
        return [schema, *skipped]  # the quality engine (and so drift) runs for ports with rules
    drift = dg.AssetCheckSpec(
        DRIFT_CHECK,
        asset=key,
        blocking=False,
        description=(
            "Distributions of numeric and categorical columns against the previous version "
            "(PSI, category share); a warning above the contract's threshold."
        ),
    )
    return [schema, *rules, *skipped, drift]


def quality_check_results(
    report: QualityReport, home: Path | None = None
) -> list[dg.AssetCheckResult]:
    """One result per rule, and the drift result (Dagster wants every declared check answered).
    ``home`` is the state folder, for links to its Data Docs."""
    results = [
        *(rule_check_result(result, report, home) for result in report.results),
        *(not_evaluated_result(rule) for rule in report.not_evaluated),
    ]
    if report.results:
        results.append(drift_check_result(report))
    return results


def not_evaluated_result(rule: NotEvaluated) -> dg.AssetCheckResult:
    """Dagster has no skipped result to yield: a passed warning marked ``skipped`` is the closest."""
    return dg.AssetCheckResult(
        check_name=rule.name,
        asset_key=port_key(rule.port),
        passed=True,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"not evaluated: {rule.reason}",
        metadata={"skipped": True, "source": rule.source},
    )


def rule_check_result(
    result: RuleResult, report: QualityReport, home: Path | None = None
) -> dg.AssetCheckResult:
    rule = result.rule
    metadata: dict[str, dg.RawMetadataValue] = {
        "expected": result.expected,
        "observed": _text(result.observed),
        "severity": rule.severity,
        "rows_checked": report.rows_checked,
    }
    if result.unexpected_count is not None:
        metadata["unexpected_count"] = result.unexpected_count
    if result.unexpected_percent is not None:
        metadata["unexpected_percent"] = dg.MetadataValue.float(result.unexpected_percent)
    if result.failing_sample:
        metadata["failing_sample"] = ", ".join(result.failing_sample)
    if rule.quarantine:
        metadata["quarantined_rows"] = result.quarantined_rows
        if report.quarantine_location:
            metadata["quarantine_table"] = report.quarantine_location
    if report.data_docs:
        metadata["data_docs"] = data_docs_link(report.data_docs, home)
    return dg.AssetCheckResult(
        check_name=rule.name,
        asset_key=port_key(rule.port),
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR
        if result.blocking or _blocks(rule)
        else dg.AssetCheckSeverity.WARN,
        description=_outcome(result),
        metadata=metadata,
    )


def drift_check_result(report: QualityReport) -> dg.AssetCheckResult:
    if report.previous_version is None:
        return dg.AssetCheckResult(
            check_name=DRIFT_CHECK,
            asset_key=port_key(report.port),
            passed=True,
            severity=dg.AssetCheckSeverity.WARN,
            description="first version of this port: no earlier distribution to compare with",
        )
    drifted = [drift for drift in report.drift if drift.drifted]
    metadata: dict[str, dg.RawMetadataValue] = {
        "compared_with_version": report.previous_version,
        "columns": dg.MetadataValue.md(
            "| column | statistic | value | threshold |\n|---|---|---|---|\n"
            + "\n".join(
                f"| {d.column} | {d.statistic} | {d.value:.4f} | {d.threshold:g} |"
                for d in report.drift
            )
        ),
    }
    described = "; ".join(
        f"{d.column}: {d.statistic} {d.value:.3f} > {d.threshold:g}" for d in drifted
    )
    return dg.AssetCheckResult(
        check_name=DRIFT_CHECK,
        asset_key=port_key(report.port),
        passed=not drifted,
        severity=dg.AssetCheckSeverity.WARN,
        description=described or f"no column drifted since version {report.previous_version}",
        metadata=metadata,
    )


def _blocks(rule: RuleSpec) -> bool:
    return rule.severity == "error" and not rule.quarantine


def _rule_description(rule: RuleSpec) -> str:
    action = "quarantines failing rows" if rule.quarantine else f"{rule.severity} severity"
    where = f"; contract rule at {rule.source}" if rule.source else ""
    return f"{rule.description} ({action}{where})"


def _rule_metadata(rule: RuleSpec) -> dict[str, str]:
    metadata = {"kind": rule.kind, "expectation": rule.expectation, "severity": rule.severity}
    if rule.column:
        metadata["column"] = rule.column
    return metadata


def _outcome(result: RuleResult) -> str:
    if result.passed:
        return f"{result.rule.description}: observed {_text(result.observed)}"
    text = f"expected {result.expected}, observed {_text(result.observed)}"
    if result.unexpected_count is not None:
        text += f" ({result.unexpected_count:,} rows"
        if result.unexpected_percent is not None:
            text += f", {result.unexpected_percent:.2f} %"
        text += ")"
    if result.quarantine_blocked:
        text += f"; blocked: {result.quarantine_blocked}"
    elif result.rule.quarantine:
        text += f"; {result.quarantined_rows:,} rows quarantined, the rest published"
    return text


def _text(value: object) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
