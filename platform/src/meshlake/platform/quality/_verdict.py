"""A rule's count or value judged by the contract's threshold, whoever measured it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from meshlake.platform.quality._compiled import CompiledRule
from meshlake.platform.quality._results import RuleResult


def judged(
    rule: CompiledRule, count: int, rows: int, sample: tuple[str, ...] = (), quarantined: int = 0
) -> RuleResult:
    """A count of failing rows, judged in rows or in percent of ``rows`` as the rule says."""
    percent = round(100.0 * count / rows, 4) if rows else 0.0
    observed: float | int = percent if rule.threshold.unit == "percent" else count
    passed = rule.threshold.holds(observed)
    return RuleResult(
        rule=rule.spec,
        passed=passed,
        expected=rule.threshold.text(),
        observed=observed,
        unexpected_count=count,
        unexpected_percent=percent,
        failing_sample=sample if not passed or count else (),
        quarantined_rows=quarantined,
    )


def judged_value(rule: CompiledRule, observed: float | int | str | None) -> RuleResult:
    """A measured value (a row count, a SQL rule's result) judged by the rule's operator."""
    number = float(observed) if isinstance(observed, int | float) else None
    return RuleResult(
        rule=rule.spec,
        passed=rule.threshold.holds(number),
        expected=rule.threshold.text(),
        observed=observed,
    )


def shown_value(value: Any) -> float | int | str | None:
    """A SQL rule's value as reported and judged: numbers as numbers (decimals too, so ``SUM``
    over a decimal column is compared, not refused as text; whole values as ints), NULL as None,
    anything else as text. Both engines report through it."""
    if value is None or isinstance(value, bool):
        return None if value is None else str(value)
    if isinstance(value, Decimal):
        value = int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, int | float) else str(value)
