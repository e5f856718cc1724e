"""``check_arrow``: one port's rules run by DuckDB on its Arrow rows before the commit.

The same checks as the Spark engine (``quality/_engine.py``), in the same order of work:

- one aggregate pass over all rows counts the rows, each quarantine rule's rejects, the rows
  any of them rejects, the failing rows of every other row-level rule among the rows kept, the
  kept rows in each drift bucket and the value of each SQL rule that is a plain aggregate;
- uniqueness rules group the kept rows by key (with the table's keys, for an append);
- the other SQL rules run on the kept rows, transpiled to DuckDB, or are not evaluated;
- failing samples, the fresh profile, and GE's Data Docs page rendered from the results.

Quarantine rules are judged on all rows, every other rule on the rows to be published, with the
same verdicts (``_verdict.py``) and quarantine limits (``_quarantine.py``). The rows are
already in memory as Arrow, so the rows kept are a filter of them: no second computation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from meshlake.platform._errors import MaterializationError
from meshlake.platform.quality._compiled import CompiledRule
from meshlake.platform.quality._drift import DriftPlan
from meshlake.platform.quality._duck._drift import bucket_counts, finish
from meshlake.platform.quality._duck._keys import (
    duplicate_keys,
    duplicate_rows,
    existing_keys,
    judged_view,
)
from meshlake.platform.quality._duck._predicates import (
    UNIQUENESS,
    any_failing,
    failing,
    key_columns,
    pattern_problem,
)
from meshlake.platform.quality._duck._previous import previous
from meshlake.platform.quality._duck._quarantine import quarantined_rows
from meshlake.platform.quality._duck._sql import (
    duckdb_aggregate,
    duckdb_query,
    not_evaluated,
)
from meshlake.platform.quality._duck._sqltext import first_row, name, text
from meshlake.platform.quality._mask import is_masked, show
from meshlake.platform.quality._profile import Profile
from meshlake.platform.quality._quarantine import with_quarantine_limit
from meshlake.platform.quality._quarantine_table import quarantine_location
from meshlake.platform.quality._results import NotEvaluated, QualityReport, RuleResult
from meshlake.platform.quality._rules import compile_port
from meshlake.platform.quality._verdict import judged, judged_value, shown_value

SAMPLE_SIZE = 5
VALIDATOR = "duckdb"
ROWS_VIEW = "__meshlake_rows__"
KEPT_VIEW = "__meshlake_kept__"


@dataclass
class DuckCheck:
    """A port after its checks: what to publish, what to quarantine, the report and profile."""

    report: QualityReport | None
    """None when the port has no rules (nothing was checked)."""
    publish: pa.Table
    """The rows to publish: the rows checked, less the quarantined ones."""
    quarantined: pa.Table | None = None
    """The rows quarantine rules set aside, with the columns the Spark quarantine rows carry
    (classified columns masked as text, ``_quarantine_rules``, ``_run_id``, ``_quarantined_at``);
    None when none were, or when the checks block publication."""
    profile: Profile | None = None
    """The distribution profile of ``publish`` for the commit (None when the commit will not
    hold exactly these rows: an append or a merge into an existing table)."""


def check_arrow(
    port: Any,
    rows: pa.Table,
    *,
    location: str,
    run_id: str,
    state_home: Path,
    data_docs: bool,
) -> DuckCheck:
    """Check ``rows`` for ``port`` (a ``PortSpec``) about to be published at ``location``.

    A port whose every rule is one meshlake cannot run gets a report of those alone (no rows
    read, ``rows_checked`` 0), so that they show as not evaluated."""
    compiled = compile_port(port)
    rules, skipped = compiled.rules, tuple(compiled.not_evaluated)
    if not rules and not skipped:
        return DuckCheck(None, rows)
    if not rules:
        report = QualityReport(port.ref, 0, not_evaluated=skipped, validator=VALIDATOR)
        return DuckCheck(report, rows)
    started = time.perf_counter()
    con = duckdb.connect()
    try:
        checks = _Checks(port, rows, location, run_id, con)
        return checks.run(rules, skipped, state_home if data_docs else None, started)
    except duckdb.Error as exc:
        raise MaterializationError(
            str(port.ref.product_ref),
            f"the DuckDB checks of output port {port.ref.port!r} failed, previous version "
            f"kept: {str(exc).splitlines()[0]}",
        ) from exc
    finally:
        con.close()


class _Checks:
    def __init__(
        self,
        port: Any,
        rows: pa.Table,
        location: str,
        run_id: str,
        con: duckdb.DuckDBPyConnection,
    ) -> None:
        self.port = port
        self.rows = rows
        self.location = location
        self.run_id = run_id
        self.con = con
        con.register(ROWS_VIEW, rows)
        described = con.execute(f"DESCRIBE {ROWS_VIEW}").fetchall()
        self.types = {str(row[0]): str(row[1]) for row in described}
        contract = port.contract
        self.masked = {prop.name for prop in contract.columns if is_masked(prop.classification)}

    def run(
        self,
        rules: list[CompiledRule],
        skipped: tuple[NotEvaluated, ...],
        docs_home: Path | None,
        started: float,
    ) -> DuckCheck:
        port, types = self.port, self.types
        unevaluated: list[NotEvaluated] = []
        for rule in list(rules):
            problem = pattern_problem(self.con, rule)
            if problem is None:
                continue
            if rule.spec.quarantine:  # publishing the rows it would set aside is no answer
                raise MaterializationError(
                    str(port.ref.product_ref),
                    f"quarantine rule {rule.spec.name} ({rule.spec.source}): {problem}; "
                    "run the product with engine: spark",
                )
            unevaluated.append(not_evaluated(rule, problem))
            rules = [kept for kept in rules if kept is not rule]
        quarantining = [rule for rule in rules if rule.spec.quarantine]
        judged_rules = [rule for rule in rules if not rule.spec.quarantine]
        one_pass = [rule for rule in judged_rules if rule.row_level]
        unique = [rule for rule in judged_rules if rule.spec.kind in UNIQUENESS]
        sql_rules = [rule for rule in rules if rule.spec.kind == "sql"]
        previous_version, previous_profile = previous(port, self.location, self.con)
        plan = DriftPlan(port.contract, self.rows.column_names, previous_profile)
        rejected = any_failing(quarantining, types)
        kept = f"(NOT {rejected})"
        # Plain aggregate SQL rules join the pass (not with quarantine rules: they judge the
        # kept rows, which the pass does not know yet), as on Spark.
        folded = {} if quarantining else self._folded(sql_rules)
        aggregates = [("_rows", "count(*)")]
        aggregates += [
            (rule.spec.name, f"count(*) FILTER (WHERE {failing(rule, types)})")
            for rule in quarantining
        ]
        aggregates.append(("_rejected", f"count(*) FILTER (WHERE {rejected})"))
        aggregates += [
            (rule.spec.name, f"count(*) FILTER (WHERE {failing(rule, types)} AND {kept})")
            for rule in one_pass
        ]
        aggregates += list(bucket_counts(plan, kept).items())
        aggregates += list(folded.items())
        counts = self._counted(aggregates, set(folded))
        total, rejects = int(counts["_rows"]), int(counts["_rejected"])
        published = total - rejects

        publish, quarantined, kept_view = self.rows, None, ROWS_VIEW
        if rejects:
            publish, quarantined = self._split(rejected, quarantining)
            self.con.register(KEPT_VIEW, publish)
            kept_view = KEPT_VIEW

        results: dict[str, RuleResult] = {}
        for rule in quarantining:
            count = int(counts[rule.spec.name])
            sample = self._sample(ROWS_VIEW, rule, count)
            results[rule.spec.name] = with_quarantine_limit(
                judged(rule, count, total, sample, count), total, rejects
            )
        for rule in one_pass:
            count = int(counts[rule.spec.name])
            results[rule.spec.name] = judged(
                rule, count, published, self._sample(kept_view, rule, count)
            )
        for rule in judged_rules:
            if rule.spec.kind == "rowCount":
                results[rule.spec.name] = judged_value(rule, published)
        if unique:
            existing = existing_keys(port, self.location, previous_version, unique)
            view, already = judged_view(self.con, kept_view, existing)
            for rule in unique:
                count = duplicate_rows(self.con, view, rule)
                results[rule.spec.name] = judged(
                    rule, count, published + already, self._key_sample(view, rule, count)
                )
        for rule in sql_rules:
            if rule.spec.name in folded:
                results[rule.spec.name] = judged_value(rule, shown_value(counts[rule.spec.name]))
            else:
                outcome = self._run_sql(rule, kept_view)
                if isinstance(outcome, NotEvaluated):
                    unevaluated.append(outcome)
                else:
                    results[rule.spec.name] = outcome
        profile, drift = finish(plan, counts, self.con, kept_view, published)
        docs = None
        gx_rules = [
            rule for rule in judged_rules if rule.spec.kind != "sql" and rule.spec.name in results
        ]
        if docs_home is not None and gx_rules:
            docs = _data_docs(port, gx_rules, results, published, docs_home, self.run_id)
        report = QualityReport(
            port=port.ref,
            rows_checked=total,
            results=tuple(results[rule.spec.name] for rule in rules if rule.spec.name in results),
            quarantine_location=quarantine_location(self.location) if quarantining else None,
            quarantined_rows=rejects,
            data_docs=docs,
            seconds=time.perf_counter() - started,
            drift=drift,
            previous_version=previous_version,
            validator=VALIDATOR,
            not_evaluated=(*skipped, *unevaluated),
        )
        # The profile describes the commit only when the commit holds exactly these rows.
        fits = port.write_mode == "overwrite" or previous_version is None
        return DuckCheck(
            report=report,
            publish=publish,
            quarantined=None if report.blocked else quarantined,
            profile=profile if fits else None,
        )

    # -- the one pass ----------------------------------------------------------------------

    def _counted(self, aggregates: list[tuple[str, str]], values: set[str]) -> dict[str, Any]:
        """The pass's counts (ints), and as they come the ``values`` of folded SQL rules."""
        columns = ", ".join(f"{sql} AS c{i}" for i, (_, sql) in enumerate(aggregates))
        row = first_row(self.con, f"SELECT {columns} FROM {ROWS_VIEW}")
        assert row is not None
        return {
            key: value if key in values else int(value)
            for (key, _), value in zip(aggregates, row, strict=True)
        }

    def _folded(self, rules: list[CompiledRule]) -> dict[str, str]:
        """The SQL rules that are plain aggregates, as expressions DuckDB accepts on the rows."""
        folded = {}
        for rule in rules:
            sql = duckdb_aggregate(rule, self.types)
            if sql is None:
                continue
            try:
                self.con.execute(f"SELECT {sql} FROM {ROWS_VIEW} LIMIT 0").fetchall()  # binds only
            except duckdb.Error:
                continue  # left to run as its own query, which reports its own error
            folded[rule.spec.name] = sql
        return folded

    def _split(self, rejected: str, quarantining: list[CompiledRule]) -> tuple[pa.Table, pa.Table]:
        """The rows to publish and the rows to quarantine (with the rules each broke).

        DuckDB keeps the order of the rows it scans (``preserve_insertion_order``), so the
        flags line up with ``rows``."""
        broken = ", ".join(
            f"CASE WHEN {failing(rule, self.types)} THEN {text(rule.spec.name)} END"
            for rule in quarantining
        )
        flags = self.con.sql(
            f"SELECT {rejected} AS rejected, concat_ws(',', {broken}) AS broken FROM {ROWS_VIEW}"
        ).to_arrow_table()
        mask = flags.column("rejected")
        publish = self.rows.filter(pc.invert(mask))
        quarantined = quarantined_rows(
            self.con, self.rows, mask, flags.column("broken"), self.masked, self.run_id
        )
        return publish, quarantined

    # -- SQL rules -------------------------------------------------------------------------

    def _run_sql(self, rule: CompiledRule, view: str) -> RuleResult | NotEvaluated:
        query, reason = duckdb_query(rule, view, self.types)
        if query is None:
            assert reason is not None
            return not_evaluated(rule, reason)
        try:
            row = first_row(self.con, query)
        except duckdb.Error as exc:
            return not_evaluated(rule, f"DuckDB could not run it ({str(exc).splitlines()[0]})")
        return judged_value(rule, shown_value(None if row is None else row[0]))

    # -- failing samples -------------------------------------------------------------------

    def _sample(self, view: str, rule: CompiledRule, count: int) -> tuple[str, ...]:
        """Up to five of the ``count`` failing values, masked as needed, sorted. A nullValues
        rule's failing values are nulls: known without a query."""
        if not count:
            return ()
        if rule.spec.kind == "nullValues":
            return (show(None, False),) * min(count, SAMPLE_SIZE)
        assert rule.column is not None
        found = self.con.execute(
            f"SELECT {name(rule.column)} FROM {view} "
            f"WHERE {failing(rule, self.types)} LIMIT {SAMPLE_SIZE}"
        ).fetchall()
        masked = rule.column in self.masked
        return tuple(sorted(show(_plain(row[0]), masked) for row in found))

    def _key_sample(self, view: str, rule: CompiledRule, count: int) -> tuple[str, ...]:
        """Up to five keys that appear more than once, shown as the Spark checks show them."""
        if not count:
            return ()
        columns = key_columns(rule)
        keys = duplicate_keys(self.con, view, rule, SAMPLE_SIZE)
        if len(columns) == 1:
            return tuple(sorted(show(_plain(key[0]), columns[0] in self.masked) for key in keys))
        masked = frozenset(self.masked)
        return tuple(
            sorted(
                show({c: _plain(v) for c, v in zip(columns, key, strict=True)}, False, masked)
                for key in keys
            )
        )


def _plain(value: Any) -> Any:
    """A value as Spark hands it to Python: timestamps naive, in UTC."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _data_docs(
    port: Any,
    rules: list[CompiledRule],
    results: dict[str, RuleResult],
    rows: int,
    state_home: Path,
    run_id: str,
) -> str | None:
    """GE's Data Docs page of the results, rendered from the results themselves (GE needs no
    batch for that): the same page the Spark checks render. GE is imported only here."""
    from meshlake.platform.quality._docs import build_page
    from meshlake.platform.quality._gx import context
    from meshlake.platform.quality._gx_checks import outcome_of

    outcome = outcome_of(str(port.ref), rules, results, rows)
    outcome.meta["validator"] = VALIDATOR
    return build_page(context(state_home / "quality" / "data_docs"), outcome, run_id)
