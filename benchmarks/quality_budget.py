"""Quality budget: materialization with the contract's checks against the same without them.

What it measures, on one product of ``MESHLAKE_BENCH_ROWS`` rows (default 5,000,000; set e.g.
200000 for a smoke run) with 12 rules (pattern, primary key, null/missing/invalid values, length,
ranges, row count, a SQL rule):

(a) ``Materializer.materialize`` of the product with its rules (persist, one first pass, Great
    Expectations, the SQL rule, the Delta commit) divided by the same product whose contract has
    no rules (conform + commit). Target <= 1.25.
(b) Great Expectations' validation of the suite on the persisted rows divided by one single-pass
    Spark aggregate computing the same counts (``count_if`` per row-level rule, ``count - count
    distinct`` for the key), on the same persisted rows.

What was done to bring them down: the transform runs once (the conformed frame is persisted and the
first pass both materializes it and counts the quarantine); GE runs on the persisted rows with the
BASIC result format and no partial value list (SUMMARY adds a value-count job per rule, and a
partial list scans the whole frame for a passing rule), failing values are sampled only for rules
that found some; GE is imported once per process and only for ports with rules; Data Docs are left
out of (a) (``data_docs=False``) and measured apart.

    MESHLAKE_BENCH_ROWS=200000 MESHLAKE_BENCH_REPEAT=1 uv run python benchmarks/quality_budget.py
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET = 1.25
ROWS = int(os.environ.get("MESHLAKE_BENCH_ROWS", "5000000"))
REPEAT = int(os.environ.get("MESHLAKE_BENCH_REPEAT", "2"))
FIXTURE = ROOT / "tests" / "fixtures" / "mini_mesh"

PLAIN = """\
apiVersion: v3.1.0
kind: DataContract
id: alpha.things.things
version: 1.0.0
status: active
schema:
  - name: things
    properties:
      - name: thing_id
        logicalType: string
        required: true
{thing_id}
      - name: label
        logicalType: string
{label}
      - name: weight
        logicalType: number
        physicalType: DECIMAL(8,3)
{weight}
      - name: kind
        logicalType: string
        required: true
{kind}
{table}
"""
RULES = {
    "thing_id": """\
        primaryKey: true
        primaryKeyPosition: 1
        logicalTypeOptions:
          pattern: "^T[0-9]{8}$"
        quality:
          - metric: missingValues
            arguments: {missingValues: ["", "n/a"]}
            mustBe: 0""",
    "label": """\
        logicalTypeOptions: {minLength: 3, maxLength: 40}
        quality:
          - metric: nullValues
            unit: percent
            mustBeLessThan: 2
            severity: warning
          - metric: missingValues
            unit: percent
            mustBeLessThan: 2
            severity: warning""",
    "weight": """\
        logicalTypeOptions: {minimum: 0, maximum: 100}
        quality:
          - metric: nullValues
            unit: percent
            mustBeLessThan: 1""",
    "kind": """\
        quality:
          - metric: invalidValues
            arguments: {validValues: [a, b, c, d]}
            mustBe: 0
          - metric: nullValues
            mustBe: 0""",
    "table": """\
    quality:
      - metric: rowCount
        mustBeGreaterThan: 0
      - type: sql
        name: heavy_share
        query: SELECT 100.0 * AVG(CASE WHEN weight > 9 THEN 1 ELSE 0 END) FROM ${table}
        mustBeLessThan: 20""",
}


def _project(base: Path, name: str, with_rules: bool) -> Path:
    project = base / name
    shutil.copytree(FIXTURE, project)
    fields = {key: (text if with_rules else "") for key, text in RULES.items()}
    if not with_rules:
        fields["thing_id"] = "        primaryKey: true\n        primaryKeyPosition: 1"
    contract = PLAIN.format(**fields)
    lines = [line for line in contract.splitlines() if line.strip()]
    (project / "domains/alpha/products/things/contract.yaml").write_text("\n".join(lines) + "\n")
    return project


def _drop(spark, project: Path) -> None:
    from pyspark.sql import functions as F

    folder = project / ".meshlake/lake/lab/_raw/alpha/things_raw"
    rows = spark.range(1, ROWS + 1).select(
        F.format_string("T%08d", "id").alias("thing_id"),
        F.when(F.col("id") % 100 == 0, F.lit(None))
        .otherwise(F.concat(F.lit("thing "), F.col("id").cast("string")))
        .alias("label"),
        F.format_string("%.3f", F.rand(7) * 9 + 1).alias("weight"),
        F.element_at(F.array(*[F.lit(k) for k in "abcd"]), (F.col("id") % 4 + 1).cast("int")).alias(
            "kind"
        ),
    )
    rows.write.mode("overwrite").option("header", True).csv(str(folder))


def main() -> None:
    from meshlake.platform import Settings, load_mesh, spark_session
    from meshlake.platform._materialize import Materializer
    from meshlake.platform.quality._engine import QualityEngine, failing_rows
    from meshlake.platform.quality._rules import compiled_rules

    base = Path(tempfile.mkdtemp(prefix="quality-budget-"))
    spark = spark_session(Settings(home=base / "home", spark_master="local[2]"))
    projects = {"plain": _project(base, "plain", False), "checked": _project(base, "checked", True)}
    for project in projects.values():
        _drop(spark, project)
    materializers = {
        name: Materializer(load_mesh(project), spark, project / ".meshlake", data_docs=False)
        for name, project in projects.items()
    }
    samples: dict[str, list[float]] = {"plain": [], "checked": []}
    reports = None
    for round_ in range(REPEAT + 1):  # alternating; the first pair warms up
        for name in ("plain", "checked"):
            materializer = materializers[name]
            product = materializer.mesh.product("alpha.things")
            started = time.perf_counter()
            ports = materializer.materialize(product)
            if round_:
                samples[name].append(time.perf_counter() - started)
            if name == "checked":
                reports = ports[0].quality
    print(
        "runs (s):",
        {name: [round(value, 1) for value in values] for name, values in samples.items()},
    )
    timings = {name: statistics.median(values) for name, values in samples.items()}
    assert reports is not None
    rules = compiled_rules(materializers["checked"].mesh.port(reports.port))
    print(f"rows {ROWS:,}, rules {len(reports.results)}, failed {reports.summary()['failed']}")
    ratio_a = timings["checked"] / timings["plain"]
    print(
        f"(a) materialize with checks {timings['checked']:.1f}s / without {timings['plain']:.1f}s"
        f" (medians of {REPEAT})"
        f" = {ratio_a:.2f} (target <= {TARGET})"
    )

    location = materializers["checked"].location(reports.port)
    frame = spark.read.format("delta").load(location).persist()
    frame.count()
    engine = QualityEngine(spark, base / "home", "bench", data_docs=False)
    port = materializers["checked"].mesh.port(reports.port)
    ge_rules = [rule for rule in rules if rule.spec.kind != "sql"]
    started = time.perf_counter()
    engine._validate_ge(port, frame, ge_rules, ROWS, set())
    ge_seconds = time.perf_counter() - started

    from pyspark.sql import functions as F

    started = time.perf_counter()
    aggregates = [F.count(F.lit(1))]
    for rule in ge_rules:
        if rule.row_level:
            aggregates.append(F.count(F.when(failing_rows(rule), 1)))
        elif rule.spec.kind in ("primaryKey", "unique", "duplicateValues"):
            columns = rule.kwargs.get("column_list") or [rule.column]
            aggregates.append(F.count(F.lit(1)) - F.count_distinct(*[F.col(c) for c in columns]))
    frame.agg(*aggregates).collect()
    single_seconds = time.perf_counter() - started
    print(
        f"(b) GE validation {ge_seconds:.1f}s / one Spark aggregate {single_seconds:.1f}s"
        f" = {ge_seconds / single_seconds:.2f} ({len(ge_rules)} GE rules)"
    )
    from meshlake.platform.quality._gx import context

    started = time.perf_counter()
    docs_engine = QualityEngine(spark, base / "home", "bench-docs", data_docs=True)
    context(docs_engine.docs_folder)
    docs_engine._validate_ge(port, frame, ge_rules, ROWS, set())
    print(f"GE validation with Data Docs: {time.perf_counter() - started:.1f}s")
    frame.unpersist()
    print("PASS" if ratio_a <= TARGET else "FAIL")
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
