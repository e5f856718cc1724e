"""Run a port's rules on its conformed DataFrame before the Delta commit.

The transform runs once. A port's rows are staged: written into the table's folder without a
commit (``meshlake.platform._staged``). The checks then read the staged files, columnar and only
the columns they need: one aggregate pass counts the rows, the rows quarantine rules reject, the
failing rows of every other row-level rule (default ``spark`` validator), the rows in each drift
bucket and the value of each SQL rule that is a plain aggregate (``_sql.as_aggregate``); the
uniqueness rules' key hashes beside it, in a second thread; then the other SQL rules, failing
samples, fresh profiles. The caller commits the staged files if nothing blocks, and deletes them
otherwise.

Counting during the write itself (``DataFrame.observe``) was measured and rejected: at 5M rows it
added 1.8 s to the write, where the aggregate pass over the staged files costs 1.4 s
(``benchmarks/quality_budget.py`` lists what else was tried).

Uniqueness rules judge the table the commit leaves: for an append, the staged rows with the key
columns of the rows already in the table (``_TableKeys``), so an append that repeats a primary key
blocks; an overwrite or a merge (which upserts on the key) is judged on its own rows.

When quarantine rules reject rows (or a merge into an existing table cannot be staged), the staged
files are deleted and the rows are persisted (memory, spilling to disk): one aggregate pass
materializes them while counting the same things, and both the quarantine table and the port are
written from the persisted rows, so they come from one computation. That costs the transform a
second run, paid only by a run that quarantines. Quarantine rules are judged on all rows (exact
counts); every other rule on the rows to be published. The quarantined rows are staged too, into
``_quarantine/<port>``, and committed after the port with the run's transaction identifier
(``commit_quarantine``): a product that is not published quarantines nothing, and a retried run
nothing twice.

Why not persist always: at 5M rows, building the cache cost as much as the transform, and a Delta
write from the cache was no faster (its per-file statistics dominate), so persisting doubled the
price of checks (``benchmarks/quality_budget.py``).

The ``great_expectations`` validator runs the same suite through GE on the staged or persisted rows
instead of the counting pass and the uniqueness job (slower; the tests hold both to the same
numbers). Either way the Data Docs page is GE's rendering of the results.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from meshlake.platform._conform import port_failure
from meshlake.platform._delta import is_delta_table, latest_commit_info
from meshlake.platform._errors import MeshlakeError
from meshlake.platform._spark import is_connect
from meshlake.platform._staged import StagedWrite, stage
from meshlake.platform.quality._compiled import CompiledRule
from meshlake.platform.quality._counts import (
    UNIQUENESS,
    any_failing,
    duplicate_rows,
    failing_rows,
    key_columns,
    key_present,
)
from meshlake.platform.quality._drift import DriftPlan, profile_of
from meshlake.platform.quality._mask import is_masked, show
from meshlake.platform.quality._profile import Profile
from meshlake.platform.quality._quarantine import masked_column, with_quarantine_limit
from meshlake.platform.quality._quarantine_table import quarantine_location
from meshlake.platform.quality._results import QualityReport, RuleResult
from meshlake.platform.quality._rules import compile_port
from meshlake.platform.quality._sql import as_aggregate, render
from meshlake.platform.quality._verdict import judged, judged_value, shown_value

Validator = Literal["spark", "great_expectations"]
VALIDATORS: tuple[Validator, ...] = ("spark", "great_expectations")
SAMPLE_SIZE = 5


@dataclass
class CheckedPort:
    """A port after its checks: the rows to publish, the rows to quarantine, and the report."""

    port: Any  # PortSpec
    frame: DataFrame
    report: QualityReport
    quarantine: DataFrame | None = None
    persisted: list[DataFrame] = field(default_factory=list)
    staged: StagedWrite | None = None
    """The rows to publish, written but not committed (None: the caller writes ``frame``)."""
    profile: Profile | None = None
    """The distribution profile of the rows to publish, for the commit (None when the commit
    will not hold exactly these rows: an append or a merge into an existing table)."""
    quarantine_staged: StagedWrite | None = None
    """The rows to quarantine, written into the quarantine table and not committed: committed
    with the port (``commit_quarantine``), deleted with it when the product is not published."""

    def release(self) -> None:
        """Free the persisted rows and delete staged files that were not committed."""
        if self.staged is not None:
            self.staged.abort()
        if self.quarantine_staged is not None:
            self.quarantine_staged.abort()
        for frame in self.persisted:
            frame.unpersist()


class QualityEngine:
    """Checks ports of one run; Great Expectations is imported only for Data Docs or its validator."""

    def __init__(
        self,
        spark: SparkSession,
        state_home: Path,
        run_id: str,
        data_docs: bool = True,
        validator: Validator = "spark",
    ) -> None:
        if validator not in VALIDATORS:
            raise ValueError(f"unknown quality validator {validator!r}; use one of {VALIDATORS}")
        self.spark = spark
        self.state_home = state_home
        self.run_id = run_id
        self.data_docs = data_docs
        self.validator = validator

    @property
    def docs_folder(self) -> Path:
        return self.state_home / "quality" / "data_docs"

    def check(self, port: Any, frame: DataFrame, location: str) -> CheckedPort | None:
        """Validate ``frame`` for ``port``; None when the port has no rules (nothing to do).

        A port whose every rule is one meshlake cannot run gets a report of those alone (no
        rows read, ``rows_checked`` 0), so that they show as not evaluated."""
        compiled = compile_port(port)
        rules, skipped = compiled.rules, tuple(compiled.not_evaluated)
        if not rules and not skipped:
            return None
        checked = CheckedPort(port, frame, QualityReport(port.ref, 0, not_evaluated=skipped))
        if not rules:
            return checked
        started = time.perf_counter()
        try:
            self._check(checked, rules, frame, location, started)
        except BaseException:
            checked.release()
            raise
        return checked

    def _check(
        self,
        checked: CheckedPort,
        rules: list[CompiledRule],
        frame: DataFrame,
        location: str,
        started: float,
    ) -> None:
        port = checked.port
        quarantining = [rule for rule in rules if rule.spec.quarantine]
        judged_rules = [rule for rule in rules if not rule.spec.quarantine]
        by_spark = self.validator == "spark"
        one_pass = [rule for rule in judged_rules if rule.row_level] if by_spark else []
        previous_version, previous_profile = self._previous(port, location)
        drift_plan = DriftPlan(port.contract, frame.columns, previous_profile)
        sql_rules = [rule for rule in rules if rule.spec.kind == "sql"]
        # Plain aggregate SQL rules join the pass (not with quarantine rules: they judge the kept
        # rows, which the pass does not know yet).
        folded = {} if quarantining else _folded(sql_rules, frame)
        aggregates = _aggregates(quarantining, one_pass, drift_plan)
        aggregates += [F.expr(sql).alias(name) for name, sql in folded.items()]
        every_unique = [rule for rule in judged_rules if rule.spec.kind in UNIQUENESS]
        unique = every_unique if by_spark else []
        table_keys = _TableKeys(self.spark, port, location, previous_version, every_unique)
        # Without quarantine rules the rows kept are the rows staged, known before the pass.
        beside = unique if not quarantining else []
        counts, duplicates = self._staged_pass(
            checked, frame, location, aggregates, set(folded), beside, table_keys
        )
        if checked.staged is not None and counts is not None and counts["_rejected"]:
            # Rows to quarantine: both tables must come from one computation of the rows.
            checked.staged.abort()
            checked.staged = None
            counts, duplicates = None, None
        if counts is None:
            counts = self._first_pass(checked, frame, aggregates, set(folded))
        full = checked.frame
        rows, rejected = counts["_rows"], counts["_rejected"]
        masked = {prop.name for prop in port.contract.columns if is_masked(prop.classification)}
        kept = full
        if rejected:
            failing = any_failing(quarantining)
            kept = full.filter(~failing)
            checked.quarantine = full.filter(failing).select(
                *[
                    masked_column(full, name) if name in masked else F.col(f"`{name}`")
                    for name in full.columns
                ],
                F.concat_ws(
                    ",",
                    *[F.when(failing_rows(rule), F.lit(rule.spec.name)) for rule in quarantining],
                ).alias("_quarantine_rules"),
                F.lit(self.run_id).alias("_run_id"),
                F.current_timestamp().alias("_quarantined_at"),
            )
        checked.frame = kept
        published = rows - rejected

        def sample(rule: CompiledRule, count: int) -> tuple[str, ...]:
            return _failing_sample(kept, rule, masked, count)

        results: dict[str, RuleResult] = {}
        for rule in quarantining:
            count = counts[rule.spec.name]
            results[rule.spec.name] = with_quarantine_limit(
                judged(rule, count, rows, _failing_sample(full, rule, masked, count), count),
                rows,
                rejected,
            )
        gx_rules = [rule for rule in judged_rules if rule.spec.kind != "sql"]
        outcome = None
        if by_spark:
            for rule in one_pass:
                count = counts[rule.spec.name]
                results[rule.spec.name] = judged(rule, count, published, sample(rule, count))
            for rule in judged_rules:
                if rule.spec.kind == "rowCount":
                    results[rule.spec.name] = judged_value(rule, published)
        elif gx_rules:
            from meshlake.platform.quality._gx_checks import validate

            ge_results, outcome = validate(
                self._gx_context(), str(port.ref), kept, gx_rules, published, sample
            )
            results.update(ge_results)
        if by_spark or table_keys.frame is not None:
            # An append is judged with the rows already in the table (GE sees the new rows only).
            keys, whole = table_keys.judged(kept, published)
            if duplicates is None:
                duplicates = duplicate_rows(keys, every_unique, whole)
            for rule in every_unique:
                count = duplicates[rule.spec.name]
                results[rule.spec.name] = judged(
                    rule, count, whole or 0, _failing_sample(keys, rule, masked, count)
                )
        for rule in sql_rules:
            if rule.spec.name in folded:
                results[rule.spec.name] = judged_value(rule, shown_value(counts[rule.spec.name]))
        unfolded = [rule for rule in sql_rules if rule.spec.name not in folded]
        if unfolded:
            results.update(self._run_sql(kept, unfolded))
        profile, drift = drift_plan.finish(counts, kept, published)
        # The profile describes the commit only when the commit holds exactly these rows.
        if port.write_mode == "overwrite" or previous_version is None:
            checked.profile = profile
        docs = None
        if self.data_docs and gx_rules:
            docs = self._data_docs(port, gx_rules, results, published, outcome)
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
            validator=self.validator,
            not_evaluated=checked.report.not_evaluated,
        )
        if checked.quarantine is not None and not checked.report.blocked:
            checked.quarantine_staged = _stage_quarantine(
                self.spark, checked.quarantine, quarantine_location(location)
            )

    def _previous(self, port: Any, location: str) -> tuple[int | None, Profile | None]:
        """The version about to be replaced and its profile (None, None for a first version)."""
        if not is_delta_table(self.spark, location):
            return None, None
        latest = latest_commit_info(self.spark, location)
        profile = Profile.from_metadata(latest.user_metadata)
        if profile is None:
            profile = profile_of(port.contract, self.spark.read.format("delta").load(location))
        return latest.version, profile

    # -- the one pass over all rows --------------------------------------------------------

    def _staged_pass(
        self,
        checked: CheckedPort,
        frame: DataFrame,
        location: str,
        aggregates: list[Column],
        values: set[str],
        unique: list[CompiledRule],
        table_keys: _TableKeys,
    ) -> tuple[dict[str, Any] | None, dict[str, int] | None]:
        """Stage the rows (all of them, rows to quarantine included) and count ``aggregates`` on
        the staged files, and the ``unique`` rules' duplicates beside them; (None, None) when the
        port's write cannot be staged, before any work.

        The key hashes need nothing from the pass, so their job runs in a second thread while the
        pass runs: at 5M rows on 2 cores, 1.9 s for both against 2.1 s one after the other (the
        scheduling and driver-side work of each overlaps the other's tasks)."""
        port = checked.port
        try:
            staged = stage(self.spark, frame, location, port.write_mode)
        except Exception as exc:
            raise _failed_before_checks(port, exc) from exc
        if staged is None:
            return None, None
        checked.staged = staged
        checked.frame = staged.read()
        if not unique:
            return _counted(checked.frame, aggregates, values), None
        with ThreadPoolExecutor(1, thread_name_prefix="meshlake-keys") as pool:
            keys, rows = table_keys.judged(checked.frame, staged.rows)
            duplicates = pool.submit(duplicate_rows, keys, unique, rows)
            counts = _counted(checked.frame, aggregates, values)
            return counts, duplicates.result()

    def _first_pass(
        self, checked: CheckedPort, frame: DataFrame, aggregates: list[Column], values: set[str]
    ) -> dict[str, Any]:
        """Persist the rows and count ``aggregates`` in the pass that materializes them."""
        port = checked.port
        full = frame.persist(StorageLevel.MEMORY_AND_DISK)
        checked.persisted.append(full)
        checked.frame = full
        try:
            return _counted(full, aggregates, values)
        except Exception as exc:
            raise _failed_before_checks(port, exc) from exc

    # -- Great Expectations ----------------------------------------------------------------

    def _gx_context(self) -> Any:
        from meshlake.platform.quality._gx import context

        return context(self.docs_folder if self.data_docs else None)

    def _data_docs(
        self,
        port: Any,
        rules: list[CompiledRule],
        results: dict[str, RuleResult],
        rows: int,
        outcome: Any,
    ) -> str | None:
        from meshlake.platform.quality._docs import build_page
        from meshlake.platform.quality._gx_checks import outcome_of

        if outcome is None:
            outcome = outcome_of(str(port.ref), rules, results, rows)
        return build_page(self._gx_context(), outcome, self.run_id)

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
                results[rule.spec.name] = judged_value(
                    rule, shown_value(None if row is None else row[0])
                )
        finally:
            self.spark.catalog.dropTempView(view)
        return results


class _TableKeys:
    """The key columns of the rows an append keeps: uniqueness rules (primary key, unique,
    duplicateValues) judge the table as the commit will leave it, its rows at ``version`` (the
    one the checks compare with) and the new ones. Any other write mode replaces or upserts
    rows, and its rules judge the rows staged."""

    def __init__(
        self,
        spark: SparkSession,
        port: Any,
        location: str,
        version: int | None,
        rules: list[CompiledRule],
    ) -> None:
        self.frame: DataFrame | None = None
        self.rows = 0
        if port.write_mode != "append" or version is None or not rules:
            return
        keys = sorted({column for rule in rules for column in key_columns(rule)})
        table = spark.read.format("delta").option("versionAsOf", version).load(location)
        if not set(keys) <= set(table.columns):
            return  # the append cannot commit anyway: its schema is not the table's
        self.frame = table.select(*[F.col(f"`{key}`") for key in keys])
        self.rows = self.frame.count()  # Delta answers from its log's file statistics

    def judged(self, kept: DataFrame, rows: int | None) -> tuple[DataFrame, int | None]:
        """The rows uniqueness rules judge (only their key columns for an append) and how many."""
        if self.frame is None:
            return kept, rows
        new = kept.select(*[F.col(f"`{key}`") for key in self.frame.columns])
        return new.unionByName(self.frame), None if rows is None else rows + self.rows


@dataclass(frozen=True)
class QuarantineCommit:
    """The version of a port's quarantine table that a run committed, and the rows it holds."""

    location: str
    version: int
    rows: int
    skipped: bool = False
    """The run had committed its quarantined rows before (a retry): nothing was added."""


def commit_quarantine(checked: CheckedPort, run_id: str) -> QuarantineCommit | None:
    """Commit the staged quarantined rows of ``checked`` as run ``run_id`` (after its port's
    commit); None when it quarantined nothing.

    The commit carries the run's transaction identifier, as the port's does: a retried run
    commits nothing (``skipped``) and its staged files are deleted, so rows are never
    quarantined twice."""
    staged = checked.quarantine_staged
    if staged is None:
        return None
    commit = staged.commit(run_id=run_id)
    return QuarantineCommit(staged.location, commit.version, commit.rows, commit.skipped)


def _stage_quarantine(spark: SparkSession, rows: DataFrame, location: str) -> StagedWrite:
    """Write the rows to quarantine into ``location`` without a commit (an append, adding the
    columns a new contract version brings)."""
    staged = stage(spark, rows, location, "append", merge_schema=True)
    if staged is None and is_connect(spark):
        raise MeshlakeError(
            f"quarantine rules rejected rows for {location}, and quarantined rows are staged "
            "beside the port, which Spark Connect cannot do (no JVM in this process): run the "
            "zone on local Spark or a standalone cluster (compute: local[*] or spark://host:port)"
        )
    if staged is None:  # only a table with column mapping, which meshlake never creates
        raise MeshlakeError(
            f"the quarantine table {location} cannot be staged (column mapping is on); "
            "delete it, it is rebuilt by the next run that quarantines rows"
        )
    # Quarantined rows are the ones that broke rules, nulls in required columns among them:
    # the table declares no NOT NULL (as Delta's writer would store it), or a later stage fails.
    staged.schema = _nullable(staged.schema)
    return staged


def _nullable(schema: StructType) -> StructType:
    def loosen(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: True if key in _NULLABILITY else loosen(value) for key, value in node.items()
            }
        if isinstance(node, list):
            return [loosen(item) for item in node]
        return node

    return StructType.fromJson(loosen(schema.jsonValue()))


_NULLABILITY = frozenset({"nullable", "containsNull", "valueContainsNull"})


def _aggregates(
    quarantining: list[CompiledRule], one_pass: list[CompiledRule], drift: DriftPlan
) -> list[Column]:
    """The counts of one pass over all rows: ``_rows``; each quarantine rule's rejects;
    ``_rejected``, the rows any of them rejects; each other row-level rule's failures among the
    rows kept; and the kept rows in each bucket of the previous version's profile."""
    rejected = any_failing(quarantining) if quarantining else F.lit(False)
    aggregates = [F.count(F.lit(1)).alias("_rows")]
    aggregates += [
        F.count(F.when(failing_rows(rule), 1)).alias(rule.spec.name) for rule in quarantining
    ]
    aggregates.append(F.count(F.when(rejected, 1)).alias("_rejected"))
    aggregates += [
        F.count(F.when(failing_rows(rule) & ~rejected, 1)).alias(rule.spec.name)
        for rule in one_pass
    ]
    aggregates += [count.alias(name) for name, count in drift.aggregates(~rejected).items()]
    return aggregates


def _failed_before_checks(port: Any, exc: BaseException) -> Exception:
    """Computing the rows failed (a conformance guard, a broken transform): nothing is written."""
    return port_failure(
        port, exc, f"computing output port {port.ref.port!r} failed before its checks"
    )


def _counted(frame: DataFrame, aggregates: list[Column], values: set[str]) -> dict[str, Any]:
    """The pass's counts (ints), and as they come the ``values`` of folded SQL rules."""
    row = frame.agg(*aggregates).collect()[0]
    return {name: value if name in values else int(value) for name, value in row.asDict().items()}


def _folded(rules: list[CompiledRule], frame: DataFrame) -> dict[str, str]:
    """The SQL rules that are plain aggregates, as expressions Spark accepts on ``frame``."""
    folded = {}
    for rule in rules:
        assert rule.query is not None
        sql = as_aggregate(rule.query, rule.column)
        if sql is None:
            continue
        try:
            frame.agg(F.expr(sql)).schema  # noqa: B018 - analysis only, runs no job
        except Exception:
            continue  # left to run as its own query, which reports its own error
        folded[rule.spec.name] = sql
    return folded


def _failing_sample(
    frame: DataFrame, rule: CompiledRule, masked: set[str], count: int
) -> tuple[str, ...]:
    """Up to five of the ``count`` failing values (distinct keys for uniqueness rules), masked as
    needed, sorted. A nullValues rule's failing values are nulls: known without a job."""
    if not count:
        return ()
    if rule.spec.kind == "nullValues":
        return (show(None, False),) * min(count, SAMPLE_SIZE)
    columns = key_columns(rule)
    selected = [F.col(f"`{column}`") for column in columns]
    if rule.row_level:
        failing = frame.filter(failing_rows(rule)).select(*selected)
    elif rule.spec.kind in UNIQUENESS:
        failing = (
            frame.filter(key_present(rule))
            .groupBy(*selected)
            .count()
            .filter(F.col("count") > 1)
            .select(*selected)
        )
    else:
        return ()
    rows = failing.limit(SAMPLE_SIZE).collect()
    # Sorted: which rows come first depends on how the files were split, not on the data.
    if len(columns) == 1:
        return tuple(sorted(show(row[0], columns[0] in masked) for row in rows))
    return tuple(sorted(show(row.asDict(), False, frozenset(masked)) for row in rows))
