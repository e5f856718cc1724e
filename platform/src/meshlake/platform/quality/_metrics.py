"""One ODCS library metric (nullValues, missingValues, invalidValues, duplicateValues, rowCount)
turned into its compiled rule, or into the problem that stops it; ``_rules`` dispatches to these."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from meshlake.platform.quality._compiled import CompiledRule, Path_
from meshlake.platform.quality._results import Severity
from meshlake.platform.quality._thresholds import Threshold

if TYPE_CHECKING:
    from meshlake.platform.quality._rules import _Compiler


@dataclass(frozen=True)
class LibraryRule:
    """A library-metric rule as written, with what ``_rules`` already read and checked of it."""

    data: dict[str, Any]
    path: Path_
    column: str | None  # the property the rule sits under; None at schema level
    arguments: dict[str, Any]
    threshold: Threshold
    name: str | None  # the rule's own name, if it gives one
    severity: Severity
    quarantine: bool
    quarantine_max_percent: float | None = None


def null_values(c: _Compiler, rule: LibraryRule) -> None:
    column = rule.column
    if column is None:
        c.problem(
            rule.path, "nullValues checks one column; put the rule under that property's quality"
        )
        return
    _add(
        c,
        rule,
        f"{column}_null_values",
        "nullValues",
        "expect_column_values_to_not_be_null",
        f"null values in {column} {rule.threshold.text()}",
        column,
        _with_mostly({"column": column}, rule.threshold),
    )


def missing_values(c: _Compiler, rule: LibraryRule) -> None:
    column, path = rule.column, rule.path
    if column is None:
        c.problem(path, "missingValues checks one column; put it under that property's quality")
        return
    values = rule.arguments.get("missingValues", [None, ""])
    if not isinstance(values, list) or not values:
        c.problem((*path, "arguments", "missingValues"), "missingValues must be a list of values")
        return
    present = [value for value in values if value is not None]
    kwargs: dict[str, Any] = (
        {"column": column, "value_set": present} if present else {"column": column}
    )
    _add(
        c,
        rule,
        f"{column}_missing_values",
        "missingValues",
        "expect_column_values_to_not_be_in_set"
        if present
        else "expect_column_values_to_not_be_null",
        f"missing values in {column} {rule.threshold.text()}",
        column,
        _with_mostly(kwargs, rule.threshold),
        missing_values=tuple(values),
    )


def invalid_values(c: _Compiler, rule: LibraryRule) -> None:
    column, path = rule.column, rule.path
    if column is None:
        c.problem(path, "invalidValues checks one column; put it under that property's quality")
        return
    valid, pattern = rule.arguments.get("validValues"), rule.arguments.get("pattern")
    if (valid is None) == (pattern is None):
        c.problem(
            (*path, "arguments"),
            "invalidValues needs exactly one of arguments.validValues or arguments.pattern",
        )
        return
    if valid is not None:
        if not isinstance(valid, list) or not valid:
            c.problem((*path, "arguments", "validValues"), "validValues must be a list of values")
            return
        expectation = "expect_column_values_to_be_in_set"
        kwargs: dict[str, Any] = {"column": column, "value_set": valid}
        what = f"in {', '.join(str(value) for value in valid)}"
    else:
        problem = regex_problem(pattern)
        if problem:
            c.problem((*path, "arguments", "pattern"), problem)
            return
        expectation = "expect_column_values_to_match_regex"
        kwargs = {"column": column, "regex": pattern}
        what = f"matching {pattern}"
    _add(
        c,
        rule,
        f"{column}_invalid_values",
        "invalidValues",
        expectation,
        f"values of {column} not {what}: {rule.threshold.text()}",
        column,
        _with_mostly(kwargs, rule.threshold),
    )


def duplicate_values(c: _Compiler, rule: LibraryRule) -> None:
    column, path = rule.column, rule.path
    columns = [column] if column is not None else rule.arguments.get("properties")
    if column is None:
        if not isinstance(columns, list) or not columns:
            c.problem(
                (*path, "arguments"),
                "duplicateValues on the schema needs arguments.properties, the columns to compare",
            )
            return
        unknown = [name for name in columns if name not in c.columns]
        if unknown:
            c.problem(
                (*path, "arguments", "properties"),
                f"unknown column {unknown[0]!r}; the contract has {', '.join(c.columns)}",
            )
            return
    assert columns is not None
    single = len(columns) == 1
    label = columns[0] if single else c.contract.table.name
    _add(
        c,
        rule,
        f"{label}_duplicate_values",
        "duplicateValues",
        "expect_column_values_to_be_unique" if single else "expect_compound_columns_to_be_unique",
        f"rows sharing ({', '.join(columns)}) with another row {rule.threshold.text()}",
        columns[0] if single else None,
        _with_mostly(
            {"column": columns[0]} if single else {"column_list": list(columns)}, rule.threshold
        ),
    )


def row_count(c: _Compiler, rule: LibraryRule) -> None:
    if rule.column is not None:
        c.problem(rule.path, "rowCount judges the whole table; put it under schema[0].quality")
        return
    _add(
        c,
        rule,
        f"{c.contract.table.name}_row_count",
        "rowCount",
        "expect_table_row_count_to_be_between",
        f"row count {rule.threshold.text()}",
        None,
        _row_count_bounds(rule.threshold),
    )


def _add(
    c: _Compiler,
    rule: LibraryRule,
    default_name: str,
    kind: str,
    expectation: str,
    default_description: str,
    column: str | None,
    kwargs: dict[str, Any],
    **extra: Any,
) -> None:
    """Add the compiled rule; the rule's own name and description win over the defaults.
    (Only row-level metrics get this far with ``quarantine`` set: ``_rules`` refuses the rest.)"""
    spec = c.spec(
        rule.path,
        rule.name or default_name,
        kind,
        expectation,
        rule.data.get("description") or default_description,
        column,
        rule.severity,
        rule.quarantine,
        rule.quarantine_max_percent,
    )
    c.add(CompiledRule(spec, rule.threshold, kwargs, **extra))


BUILDERS = {
    "nullValues": null_values,
    "missingValues": missing_values,
    "invalidValues": invalid_values,
    "duplicateValues": duplicate_values,
    "rowCount": row_count,
}


def _with_mostly(kwargs: dict[str, Any], threshold: Threshold) -> dict[str, Any]:
    """GE's own verdict as close to the contract as it can be (exported suites, Data Docs)."""
    if threshold.unit == "percent" and threshold.operator in (
        "mustBeLessThan",
        "mustBeLessOrEqualTo",
    ):
        return {**kwargs, "mostly": max(0.0, 1 - threshold.low / 100)}
    return kwargs


def _row_count_bounds(threshold: Threshold) -> dict[str, Any]:
    low, op = threshold.low, threshold.operator
    bounds: dict[str, Any] = {"min_value": 0, "max_value": None}
    if op == "mustBe":
        bounds = {"min_value": low, "max_value": low}
    elif op in ("mustBeGreaterThan", "mustBeGreaterOrEqualTo"):
        bounds = {"min_value": low, "max_value": None, "strict_min": op == "mustBeGreaterThan"}
    elif op in ("mustBeLessThan", "mustBeLessOrEqualTo"):
        bounds = {"min_value": 0, "max_value": low, "strict_max": op == "mustBeLessThan"}
    elif op == "mustBeBetween":
        bounds = {"min_value": low, "max_value": threshold.high}
    return {key: int(value) if isinstance(value, float) else value for key, value in bounds.items()}


def regex_problem(pattern: Any) -> str | None:
    if not isinstance(pattern, str):
        return f"pattern must be a regular expression string, got {pattern!r}"
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"invalid regular expression {pattern!r}: {exc}"
    return None
