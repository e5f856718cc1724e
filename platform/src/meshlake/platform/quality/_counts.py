"""Rule counts computed by Spark directly, with Great Expectations' semantics.

Every row-level rule is a ``count(CASE WHEN failing ...)`` column of the checks' one aggregate pass,
so judging it costs an expression per row, not a scan. Uniqueness
rules (``unique``, ``primaryKey``, ``duplicateValues``) need the rows grouped by key: all of them
share one pass over 64-bit hashes of their keys. Equal keys have equal hashes, so no repeated hash
means no duplicate; only when some repeat are the real keys grouped, so a hash collision can cost
time but never a wrong count. Up to ``DRIVER_HASHES`` hashes are sorted on the driver (numpy sorts
5M in a fraction of a second, and Arrow brings them over in about one); beyond that a grouped Spark
job finds the repeats (about 5 s for 5M keys on 2 cores: Spark 4.1 cannot skip the partial
aggregation that unique keys make useless).

The numbers are GE's (``tests/platform/quality`` checks them against GE on every rule kind): a
uniqueness rule counts every row whose key appears more than once, ignoring rows with a null key
(all key columns null, for a compound key).
"""

from __future__ import annotations

import numpy as np
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from meshlake.platform.quality._compiled import CompiledRule

UNIQUENESS = ("unique", "primaryKey", "duplicateValues")
DRIVER_HASHES = 16_000_000
"""At most this many key hashes (8 bytes each, rows x uniqueness rules) are checked on the driver."""


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


def duplicate_rows(
    frame: DataFrame, rules: list[CompiledRule], rows: int | None = None
) -> dict[str, int]:
    """Per uniqueness rule, how many judged rows share their key with another row.

    ``rows``, the frame's row count when known, lets small enough frames be hashed on the driver.
    """
    if not rules:
        return {}
    on_driver = rows is not None and rows * len(rules) <= DRIVER_HASHES
    counts = (_driver_upper_bounds if on_driver else _hashed_upper_bounds)(frame, rules)
    for rule in rules:
        if counts[rule.spec.name]:
            counts[rule.spec.name] = _exact(frame, rule)
    return counts


def _key_hash(rule: CompiledRule) -> Column:
    """The 64-bit hash of a judged row's key; NULL for a row the rule does not judge."""
    return F.when(key_present(rule), F.xxhash64(*_keys(rule)))


def _driver_upper_bounds(frame: DataFrame, rules: list[CompiledRule]) -> dict[str, int]:
    """The same upper bounds as ``_hashed_upper_bounds``: every rule's key hashes, sorted on the
    driver, rows whose hash equals a neighbour's counted."""
    hashes = frame.select(*[_key_hash(rule).alias(f"h{i}") for i, rule in enumerate(rules)])
    table = hashes.toArrow()
    counts = {}
    for index, rule in enumerate(rules):
        values = np.sort(table.column(index).drop_null().to_numpy())
        repeated = values[1:] == values[:-1]
        in_group = np.zeros(len(values), dtype=bool)
        in_group[1:] |= repeated
        in_group[:-1] |= repeated
        counts[rule.spec.name] = int(in_group.sum())
    return counts


def _hashed_upper_bounds(frame: DataFrame, rules: list[CompiledRule]) -> dict[str, int]:
    """One job for all rules: rows grouped by (rule, hash of the key), groups over one row summed.
    A collision merges two keys, so each count is an upper bound, and zero is exact."""
    pairs = F.array(
        *[
            F.struct(
                F.lit(index).alias("rule"),
                _key_hash(rule).alias("key"),
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
