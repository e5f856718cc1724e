"""Drift: how each numeric and categorical column moved since the port's previous Delta version.

- Numeric columns (logicalType integer or number): the population stability index over ten
  quantile bins taken from the previous version. Default threshold 0.2 (a common "significant
  shift" line).
- Categorical columns (strings with at most 20 distinct values in the previous version): the
  largest change of one category's share of the rows, 0..1. Default threshold 0.1 (ten points).
- Key columns (primaryKey, unique) are skipped: their values are meant to change.

Thresholds come from ``customProperties`` of the schema object (for every column) or of a
property (for that column): ``driftPsiThreshold``, ``driftShareThreshold``; ``drift: false`` on a
property skips it. Cheap by design: each side is sampled down to about 200,000 rows, the previous
side costs one aggregate (quantiles and distinct counts) and one grouped count, the new side one
grouped count. The first version of a port has no drift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from meshlake.platform.quality._results import DriftResult
from meshlake.platform.specs._models import custom_property

PSI_THRESHOLD = 0.2
SHARE_THRESHOLD = 0.1
MAX_CATEGORIES = 20
SAMPLE_ROWS = 200_000
BINS = 10
_EPSILON = 1e-4


@dataclass(frozen=True)
class _Column:
    name: str
    numeric: bool
    threshold: float


def drift_columns(contract: Any) -> list[_Column]:
    """The columns drift watches, with their thresholds."""
    table = contract.table
    psi = float(custom_property(table.custom_properties, "driftPsiThreshold", PSI_THRESHOLD))
    share = float(custom_property(table.custom_properties, "driftShareThreshold", SHARE_THRESHOLD))
    columns = []
    for prop in contract.columns:
        own = prop.custom_properties
        if prop.primary_key or prop.unique or custom_property(own, "drift", True) is False:
            continue
        if prop.logical_type in ("integer", "number"):
            columns.append(
                _Column(prop.name, True, float(custom_property(own, "driftPsiThreshold", psi)))
            )
        elif prop.logical_type == "string":
            columns.append(
                _Column(prop.name, False, float(custom_property(own, "driftShareThreshold", share)))
            )
    return columns


def measure_drift(
    spark: SparkSession, contract: Any, new: DataFrame, new_rows: int, previous: DataFrame
) -> tuple[DriftResult, ...]:
    """Drift of every watched column of ``new`` against ``previous`` (the last published rows)."""
    present = {name.lower() for name in previous.columns}
    watched = [c for c in drift_columns(contract) if c.name.lower() in present]
    if not watched:
        return ()
    numeric = [column for column in watched if column.numeric]
    strings = [column for column in watched if not column.numeric]
    previous_rows = previous.count()
    if previous_rows == 0 or new_rows == 0:
        return ()
    old = _sampled(previous, previous_rows)
    first = old.agg(
        *[
            F.percentile_approx(
                F.col(f"`{c.name}`").cast("double"), [i / BINS for i in range(1, BINS)], 1000
            ).alias(f"q_{i}")
            for i, c in enumerate(numeric)
        ],
        *[
            F.approx_count_distinct(F.col(f"`{c.name}`")).alias(f"d_{i}")
            for i, c in enumerate(strings)
        ],
        F.lit(1).alias("_"),
    ).first()
    assert first is not None
    edges = {c.name: sorted(set(first[f"q_{i}"] or [])) for i, c in enumerate(numeric)}
    categorical = [c for i, c in enumerate(strings) if int(first[f"d_{i}"]) <= MAX_CATEGORIES]
    measured = [c for c in numeric if edges[c.name]] + categorical
    if not measured:
        return ()
    before = _shares(old, measured, edges)
    after = _shares(_sampled(new, new_rows), measured, edges)
    results = []
    for column in measured:
        p, q = before.get(column.name, {}), after.get(column.name, {})
        if column.numeric:
            value = _psi(p, q)
            detail = f"PSI over {len(edges[column.name]) + 1} quantile bins of the previous version"
            results.append(DriftResult(column.name, "psi", value, column.threshold, detail))
        else:
            value, category = _share_change(p, q)
            detail = (
                f"largest change: {category!r} {100 * p.get(category, 0):.1f}% -> "
                f"{100 * q.get(category, 0):.1f}%"
            )
            results.append(
                DriftResult(column.name, "category_share", value, column.threshold, detail)
            )
    return tuple(results)


def _sampled(frame: DataFrame, rows: int) -> DataFrame:
    if rows <= SAMPLE_ROWS:
        return frame
    return frame.sample(fraction=SAMPLE_ROWS / rows, seed=17)


def _shares(
    frame: DataFrame, columns: list[_Column], edges: dict[str, list[float]]
) -> dict[str, dict[str, float]]:
    """Share of rows per bin (numeric) or value (categorical), for all columns in one job."""
    pairs = [F.struct(F.lit(c.name).alias("c"), _bucket(c, edges).alias("v")) for c in columns]
    counts = (
        frame.select(F.explode(F.array(*pairs)).alias("p"))
        .groupBy(F.col("p.c").alias("c"), F.col("p.v").alias("v"))
        .count()
        .collect()
    )
    totals: dict[str, int] = {}
    for row in counts:
        totals[row["c"]] = totals.get(row["c"], 0) + int(row["count"])
    shares: dict[str, dict[str, float]] = {}
    for row in counts:
        shares.setdefault(row["c"], {})[row["v"]] = int(row["count"]) / totals[row["c"]]
    return shares


def _bucket(column: _Column, edges: dict[str, list[float]]) -> Column:
    value = F.col(f"`{column.name}`")
    if not column.numeric:
        return F.coalesce(value.cast("string"), F.lit("<null>"))
    number = value.cast("double")
    index: Column = F.lit(0)
    for edge in edges[column.name]:
        index = index + F.when(number > F.lit(edge), 1).otherwise(0)
    return F.when(number.isNull(), F.lit("<null>")).otherwise(index.cast("string"))


def _psi(before: dict[str, float], after: dict[str, float]) -> float:
    total = 0.0
    for key in set(before) | set(after):
        p = max(before.get(key, 0.0), _EPSILON)
        q = max(after.get(key, 0.0), _EPSILON)
        total += (q - p) * math.log(q / p)
    return round(total, 6)


def _share_change(before: dict[str, float], after: dict[str, float]) -> tuple[float, str]:
    changes = {
        key: abs(after.get(key, 0.0) - before.get(key, 0.0)) for key in set(before) | set(after)
    }
    category = max(sorted(changes), key=lambda key: changes[key])
    return round(changes[category], 6), category
