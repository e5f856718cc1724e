"""Great Expectations as a validator, and as the renderer of meshlake's own results.

``validate`` runs a port's suite through GE on the staged or persisted rows (the
``great_expectations`` validator). ``outcome_of`` turns the results of the default Spark validator into GE's validation
result, so the Data Docs page shows the same suite and numbers whoever measured them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from meshlake.platform.quality._compiled import CompiledRule
from meshlake.platform.quality._results import RuleResult
from meshlake.platform.quality._verdict import judged, judged_value

# No pyspark import at run time: the DuckDB checks render their Data Docs through outcome_of.
if TYPE_CHECKING:
    from pyspark.sql import DataFrame

Sampler = Callable[[CompiledRule, int], tuple[str, ...]]


def validate(
    ctx: Any, port: str, frame: DataFrame, rules: list[CompiledRule], rows: int, sample: Sampler
) -> tuple[dict[str, RuleResult], Any]:
    """Every rule judged on GE's counts; ``sample`` gives failing values of a rule that has some."""
    from meshlake.platform.quality._gx import batch_for
    from meshlake.platform.quality._suite import build_suite

    suite = build_suite(port, rules)
    batch = batch_for(ctx, port, frame)
    outcome = batch.validate(
        suite,
        # BASIC gives the counts. Its partial list costs a full scan per passing rule (a LIMIT
        # that never fills), so GE lists none and failing values are sampled only where found.
        result_format={"result_format": "BASIC", "partial_unexpected_count": 0},
    )
    by_name = {rule.spec.name: rule for rule in rules}
    results: dict[str, RuleResult] = {}
    for item in outcome.results:
        rule = by_name[item.expectation_config.meta["meshlake_rule"]]
        results[rule.spec.name] = _from_ge(rule, item, rows, sample)
    return results, outcome


def outcome_of(
    port: str, rules: list[CompiledRule], results: dict[str, RuleResult], rows: int
) -> Any:
    """GE's validation result for meshlake's results of ``rules`` (Data Docs render it)."""
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )

    from meshlake.platform.quality._suite import build_suite

    suite = build_suite(port, rules)
    items = []
    for expectation in suite.expectations:
        result = results[expectation.meta["meshlake_rule"]]
        if result.unexpected_count is None:
            body: dict[str, Any] = {"observed_value": result.observed}
        else:
            body = {
                "element_count": rows,
                "unexpected_count": result.unexpected_count,
                "unexpected_percent": result.unexpected_percent,
                "partial_unexpected_list": list(result.failing_sample),
            }
        items.append(
            ExpectationValidationResult(
                success=result.passed, expectation_config=expectation.configuration, result=body
            )
        )
    passed = sum(bool(item.success) for item in items)
    return ExpectationSuiteValidationResult(
        success=passed == len(items),
        results=items,
        suite_name=suite.name,
        statistics={
            "evaluated_expectations": len(items),
            "successful_expectations": passed,
            "unsuccessful_expectations": len(items) - passed,
            "success_percent": 100.0 * passed / len(items) if items else 100.0,
        },
        meta={"active_batch_definition": {"data_asset_name": port}, "validator": "spark"},
    )


def _from_ge(rule: CompiledRule, item: Any, rows: int, sample: Sampler) -> RuleResult:
    raised = item.exception_info or {}
    if raised.get("raised_exception"):
        # GE keeps going when a metric fails; a rule that could not be measured has failed.
        message = str(raised.get("exception_message") or "GE could not compute the rule")
        return RuleResult(
            rule=rule.spec,
            passed=False,
            expected=rule.threshold.text(),
            observed=f"error: {message.splitlines()[0][:200]}",
        )
    result = item.result or {}
    if rule.spec.kind == "rowCount":
        return judged_value(rule, result.get("observed_value"))
    count = int(result.get("unexpected_count") or 0)
    if (
        rule.spec.kind == "missingValues"
        and None in rule.missing_values
        and "value_set" in rule.kwargs
    ):
        count += int(result.get("missing_count") or 0)  # GE leaves nulls out of set checks
    return judged(rule, count, rows, sample(rule, count) if count else ())
