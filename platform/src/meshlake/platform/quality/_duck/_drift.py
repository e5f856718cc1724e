"""Drift and the distribution profile on DuckDB, with the Spark checks' buckets and statistics.

``DriftPlan`` (``quality/_drift.py``) decides which columns are watched and which buckets the
previous profile carries; here its bucket counts become ``count(*) FILTER`` columns of the one
DuckDB pass, named as the Spark pass names them, and its statistics (PSI, category share) judge
them. A column without a profile yet is profiled as the Spark checks do it: quantile edges or
categories from a sample of at most 200,000 rows, then the share of the sample in each bucket.
The edges are exact quantiles (``quantile_disc``), which Spark's ``percentile_approx`` (accuracy
1000) returns as they are on samples of up to about a thousand rows, and within its accuracy
beyond; a sample larger than that is drawn differently anyway (reservoir here, Bernoulli there).
"""

from __future__ import annotations

from typing import Any

import duckdb

from meshlake.platform.quality._drift import (
    BINS,
    MAX_CATEGORIES,
    SAMPLE_ROWS,
    DriftPlan,
    _Column,
    _compared,
    _counted,
)
from meshlake.platform.quality._duck._sqltext import first_row, name, number, text
from meshlake.platform.quality._profile import NULL, ColumnProfile, Kind, Profile
from meshlake.platform.quality._results import DriftResult


def bucket_counts(plan: DriftPlan, kept: str) -> dict[str, str]:
    """Named counts of the kept rows (``kept`` is a predicate) in each carried bucket."""
    counts: dict[str, str] = {}
    for index, (column, profile) in enumerate(plan.carried.items()):
        if profile.kind == "many_values":
            continue
        value = name(column)
        counts[f"_drift_{index}_null"] = f"count(*) FILTER (WHERE {kept} AND {value} IS NULL)"
        if profile.kind == "numeric":
            for bin_, edge in enumerate(profile.edges):
                counts[f"_drift_{index}_{bin_}"] = (
                    f"count(*) FILTER (WHERE {kept} AND CAST({value} AS DOUBLE) <= {number(edge)})"
                )
        else:
            for position, category in enumerate(profile.categories):
                counts[f"_drift_{index}_{position}"] = (
                    f"count(*) FILTER (WHERE {kept} AND CAST({value} AS VARCHAR) = {text(category)})"
                )
    return counts


def finish(
    plan: DriftPlan,
    counts: dict[str, int],
    con: duckdb.DuckDBPyConnection,
    view: str,
    rows: int,
) -> tuple[Profile, tuple[DriftResult, ...]]:
    """The profile of the ``rows`` rows of ``view`` and the drift of each carried column (as
    ``DriftPlan.finish``, with the fresh profiles computed by DuckDB)."""
    if rows == 0:
        return Profile(0), ()
    profile: dict[str, ColumnProfile] = {}
    results = []
    for index, (column_name, before) in enumerate(plan.carried.items()):
        after = _counted(before, index, counts, rows)
        profile[column_name] = after
        column = next(column for column in plan.watched if column.name == column_name)
        if before.kind != "many_values":
            results.append(_compared(column, before, after))
    fresh = [column for column in plan.watched if column.name not in plan.carried]
    if fresh:
        profile.update(_profiled(con, view, rows, fresh))
    return Profile(rows, profile), tuple(results)


def profile_of(contract: Any, con: duckdb.DuckDBPyConnection, view: str) -> Profile:
    """The profile of a table read back (a previous version whose commit carries none)."""
    columns = [row[0] for row in con.execute(f"DESCRIBE {view}").fetchall()]
    found = first_row(con, f"SELECT count(*) FROM {view}")
    rows = int(found[0]) if found else 0
    return finish(DriftPlan(contract, columns, None), {}, con, view, rows)[0]


def _profiled(
    con: duckdb.DuckDBPyConnection, view: str, rows: int, columns: list[_Column]
) -> dict[str, ColumnProfile]:
    """First profiles: quantile edges or categories from a sample, then each bucket's share."""
    if rows <= SAMPLE_ROWS:
        return _profiled_sample(con, view, columns)
    # A Bernoulli sample of the same expected size as Spark's (a reservoir is exact in size but
    # single-threaded: seconds at 5M rows).
    sample = "__meshlake_profile_sample__"
    percent = 100.0 * SAMPLE_ROWS / rows
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {sample} AS SELECT * FROM {view} "
        f"USING SAMPLE {percent:.6f} PERCENT (bernoulli, 17)"
    ).fetchall()
    try:
        return _profiled_sample(con, sample, columns)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {sample}").fetchall()


def _profiled_sample(
    con: duckdb.DuckDBPyConnection, sample: str, columns: list[_Column]
) -> dict[str, ColumnProfile]:
    numeric = [column for column in columns if column.numeric]
    strings = [column for column in columns if not column.numeric]
    quantiles = "[" + ", ".join(str(i / BINS) for i in range(1, BINS)) + "]"
    measures = [f"quantile_disc(CAST({name(c.name)} AS DOUBLE), {quantiles})" for c in numeric]
    measures += [f"count(DISTINCT {name(c.name)})" for c in strings]
    first = first_row(con, f"SELECT {', '.join(measures)} FROM {sample}") if measures else ()
    assert first is not None
    profiles: dict[str, ColumnProfile] = {}
    buckets: dict[str, str] = {}
    edges: dict[str, tuple[float, ...]] = {}
    for i, column in enumerate(numeric):
        found = [float(edge) for edge in first[i] or [] if edge is not None]
        edges[column.name] = tuple(sorted(set(found)))
        buckets[column.name] = _bin(column.name, edges[column.name])
    for i, column in enumerate(strings):
        if int(first[len(numeric) + i]) <= MAX_CATEGORIES:
            buckets[column.name] = f"coalesce(CAST({name(column.name)} AS VARCHAR), {text(NULL)})"
        else:
            profiles[column.name] = ColumnProfile("many_values")
    for column in columns:
        if column.name in buckets:
            kind: Kind = "numeric" if column.numeric else "categorical"
            shares = _shares(con, sample, buckets[column.name])
            profiles[column.name] = ColumnProfile(kind, shares, edges.get(column.name, ()))
    return profiles


def _shares(con: duckdb.DuckDBPyConnection, sample: str, bucket: str) -> dict[str, float]:
    counts = con.execute(f"SELECT {bucket} AS v, count(*) FROM {sample} GROUP BY v").fetchall()
    total = sum(int(count) for _, count in counts)
    return {str(value): int(count) / total for value, count in counts} if total else {}


def _bin(column: str, edges: tuple[float, ...]) -> str:
    """The bin index: how many edges lie strictly below the value (``<null>`` for no value)."""
    value = f"CAST({name(column)} AS DOUBLE)"
    index = " + ".join(f"CAST({value} > {number(edge)} AS INTEGER)" for edge in edges) or "0"
    return f"CASE WHEN {value} IS NULL THEN {text(NULL)} ELSE CAST({index} AS VARCHAR) END"
