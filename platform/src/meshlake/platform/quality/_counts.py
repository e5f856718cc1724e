"""Rule counts computed by Spark directly, with Great Expectations' semantics.

Every row-level rule is a ``count(CASE WHEN failing ...)`` column of the one aggregate that also
materializes the checked rows, so judging it costs an expression per row, not a scan. Uniqueness
rules (``unique``, ``primaryKey``, ``duplicateValues``) need the rows grouped by key: all of them
share one grouped job over 64-bit hashes of their keys. Equal keys have equal hashes, so no hash
group with more than one row means no duplicate; only when some exist are the real keys grouped,
so a hash collision can cost time but never a wrong count.

The numbers are GE's (``tests/platform/quality`` checks them against GE on every rule kind): a
uniqueness rule counts every row whose key appears more than once, ignoring rows with a null key
(all key columns null, for a compound key).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from meshlake.platform.quality._rules import CompiledRule

UNIQUENESS = ("unique", "primaryKey", "duplicateValues")


def key_columns(rule: CompiledRule) -> list[str]:
    return list(rule.kwargs.get("column_list") or [rule.column])


def failing_rows(rule: CompiledRule) -> Column:
    """The rows a row-level rule rejects, as a Spark predicate (never NULL)."""
    column = F.col(f"`{rule.column}`")
    kind, kwargs = rule.spec.kind, rule.kwargs
    if kind == "nullValues":
        return column.isNull()
    if kind == "missingValues":
        present = [value for value in rule.missing_values if value is not None]
        condition = column.isin(present) if present else F.lit(False)
        if None in rule.missing_values:
            condition = column.isNull() | condition
        return F.coalesce(condition, F.lit(False))
    if "value_set" in kwargs:
        condition = ~column.isin(list(kwargs["value_set"]))
    elif "regex" in kwargs:
        condition = ~column.rlike(kwargs["regex"])
    elif kind == "range":
        condition = F.lit(False)
        if kwargs.get("min_value") is not None:
            low = F.lit(kwargs["min_value"])
            condition = condition | (column <= low if kwargs.get("strict_min") else column < low)
        if kwargs.get("max_value") is not None:
            high = F.lit(kwargs["max_value"])
            condition = condition | (column >= high if kwargs.get("strict_max") else column > high)
    elif kind == "length":
        condition = F.lit(False)
        if kwargs.get("min_value") is not None:
            condition = condition | (F.length(column) < kwargs["min_value"])
        if kwargs.get("max_value") is not None:
            condition = condition | (F.length(column) > kwargs["max_value"])
    else:
        raise ValueError(f"rule {rule.spec.name} ({kind}) is not row-level")
    return F.coalesce(column.isNotNull() & condition, F.lit(False))


def any_failing(rules: list[CompiledRule]) -> Column:
    condition = F.lit(False)
    for rule in rules:
        condition = condition | failing_rows(rule)
    return condition


def key_present(rule: CompiledRule) -> Column:
    """The rows a uniqueness rule judges: a non-null key (at least one non-null key column)."""
    present = F.lit(False)
    for name in key_columns(rule):
        present = present | F.col(f"`{name}`").isNotNull()
    return present


def duplicate_rows(frame: DataFrame, rules: list[CompiledRule]) -> dict[str, int]:
    """Per uniqueness rule, how many judged rows share their key with another row."""
    if not rules:
        return {}
    counts = _hashed_upper_bounds(frame, rules)
    for rule in rules:
        if counts[rule.spec.name]:
            counts[rule.spec.name] = _exact(frame, rule)
    return counts


def _hashed_upper_bounds(frame: DataFrame, rules: list[CompiledRule]) -> dict[str, int]:
    """One job for all rules: rows grouped by (rule, hash of the key), groups over one row summed.
    A collision merges two keys, so each count is an upper bound, and zero is exact."""
    pairs = F.array(
        *[
            F.struct(
                F.lit(index).alias("rule"),
                F.when(key_present(rule), F.xxhash64(*_keys(rule))).alias("key"),
            )
            for index, rule in enumerate(rules)
        ]
    )
    groups = (
        frame.select(F.explode(pairs).alias("pair"))
        .where(F.col("pair.key").isNotNull())
        .groupBy("pair.rule", "pair.key")
        .count()
        .where(F.col("count") > 1)
        .groupBy("rule")
        .agg(F.sum("count").alias("rows"))
        .collect()
    )
    found = {int(row["rule"]): int(row["rows"]) for row in groups}
    return {rule.spec.name: found.get(index, 0) for index, rule in enumerate(rules)}


def _exact(frame: DataFrame, rule: CompiledRule) -> int:
    row = (
        frame.where(key_present(rule))
        .groupBy(*_keys(rule))
        .count()
        .where(F.col("count") > 1)
        .agg(F.sum("count"))
        .first()
    )
    return int(row[0] or 0) if row is not None else 0


def _keys(rule: CompiledRule) -> list[Column]:
    return [F.col(f"`{name}`") for name in key_columns(rule)]
