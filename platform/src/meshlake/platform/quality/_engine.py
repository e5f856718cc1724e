"""Run a port's rules on its conformed DataFrame before the Delta commit.

The transform runs once: the conformed frame is persisted (memory, spilling to disk), one aggregate
pass materializes it, counts its rows and the rows each quarantine rule rejects, and every later
step (Great Expectations, SQL rules, drift, the Delta write) reads the persisted rows. The
alternative, validating a staged Delta copy, pays a second full write and a read back per
validation job; it was not chosen and is not measured here.

Quarantine rules are judged on all rows by that first pass (exact counts); the rows they reject go
to the quarantine table and every other rule (GE and SQL) is judged on the rows to be published.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from delta.tables import DeltaTable
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from meshlake.platform._conform import conformance_message
from meshlake.platform._errors import ConformanceError, MaterializationError, spark_error_summary
from meshlake.platform.quality._drift import measure_drift
from meshlake.platform.quality._mask import is_masked, show
from meshlake.platform.quality._results import DriftResult, QualityReport, RuleResult
from meshlake.platform.quality._rules import CompiledRule, compiled_rules
from meshlake.platform.quality._sql import render

SAMPLE_SIZE = 5
QUARANTINE_FOLDER = "_quarantine"
QUARANTINE_COLUMNS = ("_quarantine_rules", "_run_id", "_quarantined_at")


def quarantine_location(location: str) -> str:
    """``<root>/<domain>/<product>/<port>`` -> ``<root>/<domain>/<product>/_quarantine/<port>``.

    ``_quarantine`` cannot clash with a port, whose name starts with a letter.
    """
    parent, _, port = location.rstrip("/").rpartition("/")
    return f"{parent}/{QUARANTINE_FOLDER}/{port}"


@dataclass
class CheckedPort:
    """A port after its checks: the rows to publish, the rows to quarantine, and the report."""

    port: Any  # PortSpec
    frame: DataFrame
    report: QualityReport
    quarantine: DataFrame | None = None
    persisted: list[DataFrame] = field(default_factory=list)

    def release(self) -> None:
        for frame in self.persisted:
            frame.unpersist()


class QualityEngine:
    """Checks ports of one run; Great Expectations is imported only when a port has GE rules."""

    def __init__(
        self, spark: SparkSession, state_home: Path, run_id: str, data_docs: bool = True
    ) -> None:
        self.spark = spark
        self.state_home = state_home
        self.run_id = run_id
        self.data_docs = data_docs

    @property
    def docs_folder(self) -> Path:
        return self.state_home / "quality" / "data_docs"

    def check(self, port: Any, frame: DataFrame, location: str) -> CheckedPort | None:
        """Validate ``frame`` for ``port``; None when the port has no rules (nothing to do)."""
        rules = compiled_rules(port)
        if not rules:
            return None
        started = time.perf_counter()
        full = frame.persist(StorageLevel.MEMORY_AND_DISK)
        checked = CheckedPort(port, full, QualityReport(port.ref, 0), persisted=[full])
        try:
            self._check(checked, rules, full, location, started)
        except BaseException:
            checked.release()
            raise
        return checked

    def _check(
        self,
        checked: CheckedPort,
        rules: list[CompiledRule],
        full: DataFrame,
        location: str,
        started: float,
    ) -> None:
        port = checked.port
        quarantining = [rule for rule in rules if rule.spec.quarantine]
        counts = self._first_pass(port, full, quarantining)
        rows, rejected = counts["rows"], counts["rejected"]
        kept = full
        if rejected:
            failing = _any(quarantining)
            kept = full.filter(~failing)
            checked.quarantine = full.filter(failing).select(
                *[F.col(f"`{name}`") for name in full.columns],
                F.concat_ws(
                    ",",
                    *[F.when(failing_rows(rule), F.lit(rule.spec.name)) for rule in quarantining],
                ).alias("_quarantine_rules"),
                F.lit(self.run_id).alias("_run_id"),
                F.current_timestamp().alias("_quarantined_at"),
            )
        checked.frame = kept
        published = rows - rejected
        masked = {prop.name for prop in port.contract.columns if is_masked(prop.classification)}
        results: dict[str, RuleResult] = {}
        for rule in quarantining:
            results[rule.spec.name] = self._quarantine_result(
                rule, full, counts[rule.spec.name], rows, masked
            )
        ge_rules = [r for r in rules if r.spec.kind != "sql" and not r.spec.quarantine]
        docs = None
        if ge_rules:
            ge_results, docs = self._validate_ge(port, kept, ge_rules, published, masked)
            results.update(ge_results)
        sql_rules = [rule for rule in rules if rule.spec.kind == "sql"]
        if sql_rules:
            results.update(self._run_sql(kept, sql_rules))
        previous_version, drift = self._drift(port, kept, published, location)
        checked.report = QualityReport(
            port=port.ref,
            rows_checked=rows,
            results=tuple(results[rule.spec.name] for rule in rules),
            quarantine_location=quarantine_location(location) if quarantining else None,
            quarantined_rows=rejected,
            data_docs=docs,
            seconds=time.perf_counter() - started,
            drift=drift,
            previous_version=previous_version,
        )

    def _drift(
        self, port: Any, kept: DataFrame, rows: int, location: str
    ) -> tuple[int | None, tuple[DriftResult, ...]]:
        """Drift against the version about to be replaced; none for a port's first version."""
        if not DeltaTable.isDeltaTable(self.spark, location):
            return None, ()
        version = int(DeltaTable.forPath(self.spark, location).history(1).first()["version"])  # type: ignore[index]
        previous = self.spark.read.format("delta").load(location)
        return version, measure_drift(self.spark, port.contract, kept, rows, previous)

    # -- the one pass over all rows --------------------------------------------------------

    def _first_pass(
        self, port: Any, full: DataFrame, quarantining: list[CompiledRule]
    ) -> dict[str, int]:
        aggregates = [F.count(F.lit(1)).alias("rows")]
        aggregates += [
            F.count(F.when(failing_rows(rule), 1)).alias(rule.spec.name) for rule in quarantining
        ]
        aggregates.append(
            F.count(F.when(_any(quarantining), 1)) if quarantining else F.lit(0).alias("_")
        )
        try:
            row = full.agg(*aggregates).collect()[0]
        except Exception as exc:
            message = conformance_message(exc)
            if message is not None:
                raise ConformanceError(str(port.ref.product_ref), port.ref.port, [message]) from exc
            raise MaterializationError(
                str(port.ref.product_ref),
                f"computing output port {port.ref.port!r} failed before its checks, previous "
                f"version kept: {spark_error_summary(exc)}",
            ) from exc
        counts = {rule.spec.name: int(row[rule.spec.name]) for rule in quarantining}
        counts["rows"] = int(row["rows"])
        counts["rejected"] = int(row[len(aggregates) - 1])
        return counts

    def _quarantine_result(
        self, rule: CompiledRule, full: DataFrame, count: int, rows: int, masked: set[str]
    ) -> RuleResult:
        sample: tuple[str, ...] = ()
        if count:
            column = rule.column
            values = full.filter(failing_rows(rule)).select(F.col(f"`{column}`")).limit(SAMPLE_SIZE)
            sample = tuple(show(row[0], column in masked) for row in values.collect())
        return _judged(rule, count, rows, sample, quarantined=count)

    # -- Great Expectations ----------------------------------------------------------------

    def _validate_ge(
        self,
        port: Any,
        frame: DataFrame,
        rules: list[CompiledRule],
        rows: int,
        masked: set[str],
    ) -> tuple[dict[str, RuleResult], str | None]:
        from meshlake.platform.quality._gx import batch_for, context
        from meshlake.platform.quality._suite import build_suite

        ctx = context(self.docs_folder if self.data_docs else None)
        suite = build_suite(str(port.ref), rules)
        batch = batch_for(ctx, str(port.ref), frame)
        outcome = batch.validate(
            suite,
            # BASIC gives the counts. Its partial list costs a full scan per passing rule (a
            # LIMIT that never fills), so GE lists none and failing values are sampled below,
            # only for rules that found some.
            result_format={"result_format": "BASIC", "partial_unexpected_count": 0},
        )
        by_name = {rule.spec.name: rule for rule in rules}
        results: dict[str, RuleResult] = {}
        for item in outcome.results:
            name = item.expectation_config.meta["meshlake_rule"]
            rule = by_name[name]
            results[name] = _from_ge(rule, item, rows, self._sample(frame, rule, item, masked))
        docs = self._data_docs(ctx, outcome) if self.data_docs else None
        return results, docs

    def _sample(
        self, frame: DataFrame, rule: CompiledRule, item: Any, masked: set[str]
    ) -> tuple[str, ...]:
        """Up to five failing values (distinct keys for uniqueness rules), masked as needed."""
        if (item.exception_info or {}).get("raised_exception") or not (item.result or {}).get(
            "unexpected_count"
        ):
            return ()
        columns = list(rule.kwargs.get("column_list") or [rule.column])
        selected = [F.col(f"`{column}`") for column in columns]
        if rule.row_level:
            failing = frame.filter(failing_rows(rule)).select(*selected)
        elif rule.spec.kind in ("unique", "primaryKey", "duplicateValues"):
            failing = (
                frame.filter(F.coalesce(*[c.isNotNull() for c in selected]))
                .groupBy(*selected)
                .count()
                .filter(F.col("count") > 1)
                .select(*selected)
            )
        else:
            return ()
        rows = failing.limit(SAMPLE_SIZE).collect()
        if len(columns) == 1:
            return tuple(show(row[0], columns[0] in masked) for row in rows)
        return tuple(show(row.asDict(), False, frozenset(masked)) for row in rows)

    def _data_docs(self, ctx: Any, outcome: Any) -> str | None:
        from meshlake.platform.quality._docs import build_page

        return build_page(ctx, outcome, self.run_id)

    # -- SQL rules -------------------------------------------------------------------------

    def _run_sql(self, frame: DataFrame, rules: list[CompiledRule]) -> dict[str, RuleResult]:
        """SQL rules run on Spark SQL directly: GE 1.x has no scalar-query expectation for a
        Spark DataFrame, and the ODCS form (one value judged by an operator) needs none."""
        view = f"meshlake_quality_{uuid.uuid4().hex[:12]}"
        frame.createOrReplaceTempView(view)
        results: dict[str, RuleResult] = {}
        try:
            for rule in rules:
                assert rule.query is not None
                row = self.spark.sql(render(rule.query, view, rule.column)).first()
                value = None if row is None else row[0]
                observed = float(value) if isinstance(value, int | float) else None
                shown: float | int | str | None = value if observed is not None else str(value)
                if isinstance(shown, float) and shown.is_integer():
                    shown = int(shown)
                results[rule.spec.name] = RuleResult(
                    rule=rule.spec,
                    passed=rule.threshold.holds(observed),
                    expected=rule.threshold.text(),
                    observed=shown,
                )
        finally:
            self.spark.catalog.dropTempView(view)
        return results


def write_quarantine(spark: SparkSession, rows: DataFrame, location: str | None) -> None:
    """Append quarantined rows (one Delta commit) to the port's quarantine table."""
    assert location is not None
    rows.write.format("delta").mode("append").option("mergeSchema", "true").save(location)


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


def _any(rules: list[CompiledRule]) -> Column:
    condition = F.lit(False)
    for rule in rules:
        condition = condition | failing_rows(rule)
    return condition


def _from_ge(rule: CompiledRule, item: Any, rows: int, sample: tuple[str, ...]) -> RuleResult:
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
        observed = result.get("observed_value")
        return RuleResult(
            rule=rule.spec,
            passed=rule.threshold.holds(observed),
            expected=rule.threshold.text(),
            observed=observed,
        )
    count = int(result.get("unexpected_count") or 0)
    if (
        rule.spec.kind == "missingValues"
        and None in rule.missing_values
        and "value_set" in rule.kwargs
    ):
        count += int(result.get("missing_count") or 0)  # GE leaves nulls out of set checks
    return _judged(rule, count, rows, sample)


def _judged(
    rule: CompiledRule, count: int, rows: int, sample: tuple[str, ...], quarantined: int = 0
) -> RuleResult:
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
