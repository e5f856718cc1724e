"""Drift: how each numeric and categorical column moved since the port's previous version.

- Numeric columns (logicalType integer or number): the population stability index over the bins
  of the previous version's profile (ten quantile bins when a column is first profiled). Default
  threshold 0.2 (a common "significant shift" line).
- Categorical columns (strings with at most 20 distinct values when first profiled): the largest
  change of one category's share of the rows, 0..1, values outside the listed categories counted
  together as ``<other>``. Default threshold 0.1 (ten points).
- Key columns (primaryKey, unique) are skipped: their values are meant to change.

Thresholds come from ``customProperties`` of the schema object (for every column) or of a
property (for that column): ``driftPsiThreshold``, ``driftShareThreshold``; ``drift: false`` on a
property skips it.

Cheap by design: the previous version's buckets come from its profile (``_profile.py``), and the
rows about to be published are counted into them by a few ``count(CASE WHEN ...)`` columns of the
aggregate pass the checks make anyway: exact, on every row, with no job of its own. Only a column
without a profile yet (the first version, a new column) costs two jobs on a 200,000-row sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from meshlake.platform.quality._profile import NULL, OTHER, ColumnProfile, Kind, Profile
from meshlake.platform.quality._results import DriftResult
from meshlake.platform.specs._models import custom_property

# pyspark is imported where it is used: the DuckDB checks share this module's statistics.
if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

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


class DriftPlan:
    """Drift of one port's rows against its previous profile, in two halves around the pass.

    ``aggregates`` are the bucket counts for the checks' aggregate pass; ``finish`` turns that
    pass's counts into the drift results and the profile of the rows to publish.
    """

    def __init__(self, contract: Any, columns: list[str], previous: Profile | None) -> None:
        present = {name.lower() for name in columns}
        self.watched = [c for c in drift_columns(contract) if c.name.lower() in present]
        before = previous.columns if previous is not None and previous.rows else {}
        self.carried = {
            column.name: before[column.name]
            for column in self.watched
            if column.name in before and (before[column.name].kind == "numeric") == column.numeric
        }

    def aggregates(self, kept: Column) -> dict[str, Column]:
        """Named counts of the kept rows in each carried bucket (nulls and cumulative bins for a
        numeric column, nulls and each category for a categorical one)."""
        from pyspark.sql import functions as F

        counts: dict[str, Column] = {}
        for index, (name, column) in enumerate(self.carried.items()):
            value = F.col(f"`{name}`")
            if column.kind == "many_values":
                continue
            counts[f"_drift_{index}_null"] = F.count(F.when(kept & value.isNull(), 1))
            if column.kind == "numeric":
                number = value.cast("double")
                for bin_, edge in enumerate(column.edges):
                    counts[f"_drift_{index}_{bin_}"] = F.count(
                        F.when(kept & (number <= F.lit(edge)), 1)
                    )
            else:
                text = value.cast("string")
                for position, category in enumerate(column.categories):
                    counts[f"_drift_{index}_{position}"] = F.count(
                        F.when(kept & (text == F.lit(category)), 1)
                    )
        return counts

    def finish(
        self, counts: dict[str, int], kept: DataFrame, rows: int
    ) -> tuple[Profile, tuple[DriftResult, ...]]:
        """The profile of the ``rows`` kept rows and the drift of each carried column."""
        if rows == 0:
            return Profile(0), ()
        profile: dict[str, ColumnProfile] = {}
        results = []
        for index, (name, before) in enumerate(self.carried.items()):
            after = _counted(before, index, counts, rows)
            profile[name] = after
            column = next(column for column in self.watched if column.name == name)
            if before.kind != "many_values":
                results.append(_compared(column, before, after))
        fresh = [column for column in self.watched if column.name not in self.carried]
        if fresh:
            profile.update(_profiled(kept, rows, fresh))
        return Profile(rows, profile), tuple(results)


def profile_of(contract: Any, frame: DataFrame) -> Profile:
    """The profile of a table read back (a previous version whose commit carries none)."""
    plan = DriftPlan(contract, frame.columns, None)
    return plan.finish({}, frame, frame.count())[0]


def measure_drift(
    contract: Any, new: DataFrame, new_rows: int, previous: DataFrame
) -> tuple[DriftResult, ...]:
    """Drift of every watched column of ``new`` against the rows of ``previous`` (its own pass)."""
    from pyspark.sql import functions as F

    plan = DriftPlan(contract, new.columns, profile_of(contract, previous))
    aggregates = plan.aggregates(F.lit(True))
    row = new.agg(F.lit(1).alias("_"), *[value.alias(name) for name, value in aggregates.items()])
    first = row.first()
    assert first is not None
    return plan.finish({name: int(first[name]) for name in aggregates}, new, new_rows)[1]


def _counted(before: ColumnProfile, index: int, counts: dict[str, int], rows: int) -> ColumnProfile:
    if before.kind == "many_values":
        return before
    nulls = counts[f"_drift_{index}_null"]
    shares: dict[str, float] = {NULL: nulls / rows}
    if before.kind == "numeric":
        below = 0
        for bin_ in range(len(before.edges)):
            cumulative = counts[f"_drift_{index}_{bin_}"]
            shares[str(bin_)] = (cumulative - below) / rows
            below = cumulative
        shares[str(len(before.edges))] = (rows - nulls - below) / rows
    else:
        listed = 0
        for number, category in enumerate(before.categories):
            count = counts[f"_drift_{index}_{number}"]
            shares[category] = count / rows
            listed += count
        shares[OTHER] = (rows - nulls - listed) / rows
    return ColumnProfile(before.kind, shares, before.edges)


def _compared(column: _Column, before: ColumnProfile, after: ColumnProfile) -> DriftResult:
    if column.numeric:
        detail = f"PSI over {len(before.edges) + 1} bins of the previous version"
        return DriftResult(
            column.name, "psi", _psi(before.shares, after.shares), column.threshold, detail
        )
    value, category = _share_change(before.shares, after.shares)
    detail = (
        f"largest change: {category!r} {100 * before.shares.get(category, 0):.1f}% -> "
        f"{100 * after.shares.get(category, 0):.1f}%"
    )
    return DriftResult(column.name, "category_share", value, column.threshold, detail)


def _profiled(frame: DataFrame, rows: int, columns: list[_Column]) -> dict[str, ColumnProfile]:
    """First profiles: quantile edges or categories from a sample, then shares (two jobs)."""
    from pyspark.sql import functions as F

    sample = frame if rows <= SAMPLE_ROWS else frame.sample(fraction=SAMPLE_ROWS / rows, seed=17)
    numeric = [column for column in columns if column.numeric]
    strings = [column for column in columns if not column.numeric]
    first = sample.agg(
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
    profiles: dict[str, ColumnProfile] = {}
    buckets: dict[str, Column] = {}
    edges: dict[str, tuple[float, ...]] = {}
    for i, column in enumerate(numeric):
        edges[column.name] = tuple(sorted(set(first[f"q_{i}"] or [])))
        buckets[column.name] = _bin(column.name, edges[column.name])
    for i, column in enumerate(strings):
        if int(first[f"d_{i}"]) <= MAX_CATEGORIES:
            buckets[column.name] = F.coalesce(F.col(f"`{column.name}`").cast("string"), F.lit(NULL))
        else:
            profiles[column.name] = ColumnProfile("many_values")
    shares = _shares(sample, buckets)
    for column in columns:
        if column.name in buckets:
            kind: Kind = "numeric" if column.numeric else "categorical"
            found = shares.get(column.name, {})
            profiles[column.name] = ColumnProfile(kind, found, edges.get(column.name, ()))
    return profiles


def _shares(frame: DataFrame, buckets: dict[str, Column]) -> dict[str, dict[str, float]]:
    """Share of rows per bucket, for every column in one grouped job."""
    from pyspark.sql import functions as F

    if not buckets:
        return {}
    pairs = [F.struct(F.lit(name).alias("c"), value.alias("v")) for name, value in buckets.items()]
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


def _bin(name: str, edges: tuple[float, ...]) -> Column:
    """The bin index: how many edges lie strictly below the value (``<null>`` for no value)."""
    from pyspark.sql import functions as F

    number = F.col(f"`{name}`").cast("double")
    index: Column = F.lit(0)
    for edge in edges:
        index = index + F.when(number > F.lit(edge), 1).otherwise(0)
    return F.when(number.isNull(), F.lit(NULL)).otherwise(index.cast("string"))


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
