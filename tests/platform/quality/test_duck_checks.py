"""The quality checks on DuckDB (``quality._duck.check_arrow``) against the real Spark checks and
Great Expectations on the same rows: every rule kind counts what GE counts, quarantine splits the
rows as the Spark path does, an append is judged with the table's keys, drift and profiles match,
a SQL rule DuckDB cannot run faithfully is reported as not evaluated."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pytest
from deltalake import CommitProperties, DeltaTable, write_deltalake

from meshlake.platform import PortRef, load_mesh
from meshlake.platform._errors import MaterializationError
from meshlake.platform.quality import QualityReport
from meshlake.platform.quality._duck import DuckCheck, check_arrow
from meshlake.platform.quality._engine import QualityEngine
from meshlake.platform.quality._quarantine_table import quarantine_location
from tests.helpers import MINI_MESH

pytestmark = pytest.mark.integration

THINGS = PortRef("alpha", "things", "things")
HEADER = """apiVersion: v3.1.0
kind: DataContract
id: alpha.things.things
version: 1.0.0
status: active
schema:
  - name: things
"""
# Every rule kind meshlake runs: library metrics (nullValues, missingValues with and without
# null, invalidValues by set and by pattern, duplicateValues, rowCount; rows and percent),
# property constraints (primaryKey, unique, range with exclusive bounds on integers, decimals
# and dates, pattern, length) and SQL rules (folded into the pass, and grouped on their own).
EVERY_KIND = (
    HEADER
    + """    properties:
      - name: thing_id
        logicalType: string
        required: true
        primaryKey: true
        primaryKeyPosition: 1
        quality:
          - metric: invalidValues
            arguments: {pattern: "^T[0-9]{4}$"}
            mustBe: 0
      - name: code
        logicalType: string
        unique: true
        logicalTypeOptions: {pattern: "^[A-Z]{2}-[0-9]+$", minLength: 4, maxLength: 6}
      - name: label
        logicalType: string
        classification: personal
        quality:
          - metric: nullValues
            mustBe: 0
          - metric: missingValues
            arguments: {missingValues: [null, "", "n/a"]}
            mustBeLessThan: 1
          - metric: missingValues
            name: label_blank
            arguments: {missingValues: ["", "-"]}
            unit: percent
            mustBeLessOrEqualTo: 10
      - name: qty
        logicalType: integer
        logicalTypeOptions: {minimum: 0, maximum: 100, exclusiveMinimum: true}
        quality:
          - metric: invalidValues
            arguments: {validValues: [1, 2, 3, 50]}
            unit: percent
            mustBeLessThan: 50
      - name: weight
        logicalType: number
        physicalType: DECIMAL(8,3)
        logicalTypeOptions: {minimum: 1, maximum: 10}
      - name: day
        logicalType: date
        logicalTypeOptions: {minimum: "2024-01-01", maximum: "2024-12-31", exclusiveMaximum: true}
      - name: kind
        logicalType: string
        quality:
          - metric: invalidValues
            arguments: {validValues: [a, b, c, d]}
            mustBe: 0
          - metric: nullValues
            unit: percent
            mustBeLessThan: 20
    quality:
      - metric: rowCount
        mustBeBetween: [3, 100]
      - metric: duplicateValues
        arguments: {properties: [label, kind]}
        unit: percent
        mustBeLessOrEqualTo: 50
      - type: sql
        name: heavy things
        severity: warning
        query: SELECT COUNT(*) FROM ${table} WHERE weight > 9
        mustBe: 0
      - type: sql
        name: most_per_kind
        query: SELECT MAX(n) FROM (SELECT kind, COUNT(*) AS n FROM ${table} GROUP BY kind) AS k
        mustBeLessThan: 3
      - type: sql
        name: qty_of_a
        query: SELECT SUM(qty) FROM ${table} WHERE kind = 'a'
        mustBeLessThan: 5
      - type: sql
        name: total_weight
        query: SELECT SUM(weight) FROM ${table}
        mustBeLessThan: 1000
"""
)
SCHEMA = pa.schema(
    [
        ("thing_id", pa.string()),
        ("code", pa.string()),
        ("label", pa.string()),
        ("qty", pa.int32()),
        ("weight", pa.decimal128(8, 3)),
        ("day", pa.date32()),
        ("kind", pa.string()),
    ]
)


def _d(text: str) -> date:
    return date.fromisoformat(text)


ROWS: dict[str, list[tuple[Any, ...]]] = {
    "good": [
        ("T0001", "AB-12", "alpha", 1, Decimal("5.0"), _d("2024-01-05"), "a"),
        ("T0002", "CD-3", "bravo", 2, Decimal("1.5"), _d("2024-03-01"), "b"),
        ("T0003", "EF-456", "charlie", 3, Decimal("8.0"), _d("2024-06-30"), "c"),
        ("T0004", "GH-78", "delta", 50, Decimal("2.0"), _d("2024-12-30"), "d"),
        ("T0005", "IJ-90", "echo", 2, Decimal("3.0"), _d("2024-02-02"), "a"),
    ],
    "bad": [
        ("T0001", "AB-12", "alpha", 1, Decimal("5.0"), _d("2024-01-05"), "a"),
        ("T0002", "ab-1", None, 0, Decimal("0.5"), _d("2023-12-31"), "b"),
        ("T0003", "CD-34567", "n/a", 101, Decimal("12.0"), _d("2024-12-31"), "z"),
        ("X004", "EF-1", "jane.doe@example.org.uk", 2, Decimal("3.0"), _d("2024-05-05"), "c"),
        ("T0001", "AB-12", "alpha", 1, Decimal("5.0"), _d("2024-01-05"), "a"),
        ("T0006", None, "-", 50, None, None, None),
        ("T0007", "AB-12", "", 3, Decimal("9.5"), _d("2024-07-07"), "a"),
        ("T0008", "GH-7", "Zed", 3, Decimal("2.0"), _d("2024-08-08"), "d"),
    ],
    # Null keys, which uniqueness rules ignore, and compound keys with a null part.
    "edge": [
        (None, None, None, None, None, None, None),
        (None, None, None, None, None, None, None),
        ("T0001", "XY-1", None, None, None, None, None),
        ("T0001", "XY-2", None, None, None, None, None),
        ("T0002", "XY-3", "xyz", 1, Decimal("5.0"), None, None),
        ("T0003", "XY-4", None, 1, Decimal("5.0"), None, "xyz"),
        ("T0004", "XY-5", "bravo", 1, Decimal("1.0"), None, "a"),
        ("T0005", "XY-6", "bravo", 1, Decimal("1.0"), None, "a"),
    ],
}


def _table(rows: list[tuple[Any, ...]], schema: pa.Schema = SCHEMA) -> pa.Table:
    return pa.Table.from_pylist([dict(zip(schema.names, row, strict=True)) for row in rows], schema)


def _project(root: Path, contract: str, write_mode: str | None = None) -> Any:
    """A copy of the mini mesh whose things port has ``contract``; its PortSpec."""
    project = root / "project"
    shutil.copytree(MINI_MESH, project)
    (project / "domains/alpha/products/things/contract.yaml").write_text(contract)
    if write_mode is not None:
        descriptor = project / "domains/alpha/products/things/product.yaml"
        output = "    contractId: alpha.things.things\n"
        descriptor.write_text(
            descriptor.read_text().replace(
                output,
                output + "    customProperties:\n      - property: writeMode\n"
                f"        value: {write_mode}\n",
            )
        )
    return load_mesh(project).port(THINGS)


def _duck(port: Any, rows: pa.Table, location: Path, data_docs: bool = False) -> DuckCheck:
    return check_arrow(
        port,
        rows,
        location=str(location),
        run_id="run-1",
        state_home=location.parent / ".meshlake",
        data_docs=data_docs,
    )


def _spark_check(spark, port: Any, rows: pa.Table, location: Path, validator: str = "spark"):
    engine = QualityEngine(
        spark, location.parent / ".meshlake", "run-1", data_docs=False, validator=validator
    )
    return engine.check(port, spark.createDataFrame(rows), str(location))


def _found(report: QualityReport) -> dict[str, tuple[Any, ...]]:
    return {
        r.rule.name: (
            r.passed,
            r.observed,
            r.unexpected_count,
            sorted(r.failing_sample),
            r.quarantined_rows,
            r.quarantine_blocked,
        )
        for r in report.results
    }


# -- every rule kind: DuckDB counts what Great Expectations counts ----------------------------


@pytest.fixture(scope="module")
def every_kind(tmp_path_factory: pytest.TempPathFactory, spark):
    """For each set of rows: the DuckDB report and Great Expectations' (through the Spark
    engine's GE validator) on the same rows."""
    root = tmp_path_factory.mktemp("every-kind")
    port = _project(root, EVERY_KIND)
    location = root / "things"
    outcome = {}
    for name, rows in ROWS.items():
        table = _table(rows)
        checked = _spark_check(spark, port, table, location, "great_expectations")
        assert checked is not None
        checked.release()
        duck = _duck(port, table, location)
        assert duck.report is not None
        outcome[name] = (duck.report, checked.report)
    return outcome


@pytest.mark.parametrize("rows", ["good", "bad", "edge"])
def test_duckdb_counts_exactly_what_great_expectations_counts(every_kind, rows) -> None:
    duck, great_expectations = every_kind[rows]

    assert (duck.validator, great_expectations.validator) == ("duckdb", "great_expectations")
    assert duck.rows_checked == great_expectations.rows_checked == len(ROWS[rows])
    assert _found(duck) == _found(great_expectations)
    assert duck.blocked == great_expectations.blocked


def test_every_rule_kind_is_counted_and_fails_on_the_bad_rows(every_kind) -> None:
    good, bad = every_kind["good"][0], every_kind["bad"][0]
    kinds = {r.rule.kind for r in bad.results}

    assert kinds == {
        "invalidValues",
        "unique",
        "pattern",
        "length",
        "nullValues",
        "missingValues",
        "range",
        "primaryKey",
        "rowCount",
        "duplicateValues",
        "sql",
    }
    assert [r.rule.name for r in good.results if not r.passed] == []
    found = {r.rule.name: (r.passed, r.observed, r.failing_sample) for r in bad.results}
    assert found["code_unique"] == (False, 3, ("AB-12",))
    assert found["code_pattern"] == (False, 1, ("ab-1",))
    assert found["code_length"] == (False, 1, ("CD-34567",))
    assert found["label_missing_values"] == (False, 3, ("***", "n***", "null"))
    assert found["label_blank"] == (False, 25.0, ("***", "***"))  # "" and "-", masked
    assert found["qty_range"] == (False, 2, ("0", "101"))
    assert found["weight_range"] == (False, 2, ("0.500", "12.000"))
    assert found["day_range"] == (False, 2, ("2023-12-31", "2024-12-31"))
    assert found["kind_null_values"] == (True, 12.5, ("null",))
    assert found["things_primary_key"] == (False, 2, ("T0001",))
    assert found["most_per_kind"] == (False, 3, ())
    assert found["qty_of_a"] == (False, 5, ())
    edge = {r.rule.name: r.unexpected_count for r in every_kind["edge"][0].results}
    assert edge["things_primary_key"] == 2  # the two T0001 rows; null ids are ignored
    assert edge["things_duplicate_values"] == 2  # (bravo, a) twice; (xyz, null) != (null, xyz)


def test_a_port_without_rules_is_not_checked(tmp_path: Path) -> None:
    contract = HEADER + "    properties:\n      - name: thing_id\n        logicalType: string\n"
    port = _project(tmp_path, contract)
    rows = _table([("T0001",)], pa.schema([("thing_id", pa.string())]))

    checked = _duck(port, rows, tmp_path / "things")

    assert checked.report is None
    assert checked.publish is rows
    assert (checked.quarantined, checked.profile) == (None, None)


def test_the_checks_import_neither_spark_nor_great_expectations() -> None:
    code = (
        "import sys; import meshlake.platform.quality._duck; "
        "print(sorted(m for m in ('pyspark', 'great_expectations', 'delta') if m in sys.modules))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert found.strip() == "[]"


def test_data_docs_render_the_duckdb_results(tmp_path: Path) -> None:
    port = _project(tmp_path, EVERY_KIND)

    report = _duck(port, _table(ROWS["bad"]), tmp_path / "things", data_docs=True).report

    assert report is not None and report.data_docs is not None
    page = Path(unquote(urlparse(report.data_docs).path))
    assert page.is_file() and page.name.endswith(".html")
    shown = " ".join(re.sub(r"<[^>]+>", " ", page.read_text()).split())
    assert "values must be unique. 3 unexpected values found. 37.5% of 8 total rows." in shown
    assert "Sampled Unexpected Values AB-12" in shown
    assert _duck(port, _table(ROWS["bad"]), tmp_path / "things").report.data_docs is None  # type: ignore[union-attr]


# -- SQL rules DuckDB cannot run faithfully -----------------------------------------------------

UNTRANSPILABLE = (
    HEADER
    + """    properties:
      - name: thing_id
        logicalType: string
      - name: label
        logicalType: string
      - name: weight
        logicalType: number
        physicalType: DECIMAL(8,3)
    quality:
      - type: sql
        name: mean_weight
        query: SELECT AVG(weight) FROM ${table}
        mustBeLessThan: 10
      - type: sql
        name: sounds_like_alpha
        query: SELECT COUNT(*) FROM ${table} WHERE soundex(label) = 'A410'
        mustBe: 0
      - type: sql
        name: no_blank_labels
        query: SELECT COUNT(*) FROM ${table} WHERE label = ''
        mustBe: 0
"""
)


def test_a_sql_rule_duckdb_cannot_run_faithfully_is_not_evaluated(tmp_path: Path) -> None:
    port = _project(tmp_path, UNTRANSPILABLE)
    schema = pa.schema(
        [("thing_id", pa.string()), ("label", pa.string()), ("weight", pa.decimal128(8, 3))]
    )
    rows = _table([("T0001", "alpha", Decimal("1.5")), ("T0002", "", Decimal("2"))], schema)

    report = _duck(port, rows, tmp_path / "things").report

    assert report is not None
    assert [(r.rule.name, r.passed, r.observed) for r in report.results] == [
        ("no_blank_labels", False, 1)
    ]
    mean, skipped = report.not_evaluated
    assert (skipped.name, skipped.kind) == ("sounds_like_alpha", "sql")
    assert "SOUNDEX() has no DuckDB form" in skipped.reason
    assert "engine: spark" in skipped.reason
    assert skipped.source.startswith("contract.yaml:")
    # Spark averages decimals exactly, DuckDB as a DOUBLE: the values would differ.
    assert mean.name == "mean_weight"
    assert "an average of decimals is exact on Spark but a DOUBLE on DuckDB" in mean.reason
    assert report.summary()["not_evaluated"] == ["mean_weight", "sounds_like_alpha"]


JAVA_PATTERN = (
    HEADER
    + """    properties:
      - name: thing_id
        logicalType: string
        logicalTypeOptions: {pattern: "^(?=T)T[0-9]+$"}
      - name: label
        logicalType: string
        quality:
          - metric: nullValues
            mustBe: 0
"""
)


def test_a_pattern_duckdb_cannot_compile_is_not_evaluated(tmp_path: Path) -> None:
    port = _project(tmp_path, JAVA_PATTERN)
    schema = pa.schema([("thing_id", pa.string()), ("label", pa.string())])
    rows = _table([("T0001", None), ("X2", "b")], schema)

    report = _duck(port, rows, tmp_path / "things").report

    assert report is not None
    assert [(r.rule.name, r.unexpected_count) for r in report.results] == [("label_null_values", 1)]
    [skipped] = report.not_evaluated
    assert (skipped.name, skipped.kind) == ("thing_id_pattern", "pattern")
    assert "RE2" in skipped.reason and "(?=T)" in skipped.reason


def test_a_quarantine_pattern_duckdb_cannot_compile_stops_the_checks(tmp_path: Path) -> None:
    contract = JAVA_PATTERN.replace(
        '        logicalTypeOptions: {pattern: "^(?=T)T[0-9]+$"}\n',
        "        quality:\n          - metric: invalidValues\n"
        '            arguments: {pattern: "^(?=T)T[0-9]+$"}\n            mustBe: 0\n'
        "            customProperties:\n              - {property: quarantine, value: true}\n",
    )
    port = _project(tmp_path, contract)
    schema = pa.schema([("thing_id", pa.string()), ("label", pa.string())])

    with pytest.raises(MaterializationError) as caught:
        _duck(port, _table([("T0001", "a")], schema), tmp_path / "things")

    assert "quarantine rule thing_id_invalid_values" in str(caught.value)
    assert "engine: spark" in str(caught.value)


# -- quarantine: the rows split as the Spark path splits them ----------------------------------

QUARANTINE = (
    HEADER
    + """    properties:
      - name: thing_id
        logicalType: string
        required: true
        primaryKey: true
      - name: label
        logicalType: string
        classification: personal
        quality:
          - metric: nullValues
            mustBe: 0
            customProperties:
              - {property: quarantine, value: true}
      - name: weight
        logicalType: number
        physicalType: DECIMAL(8,3)
        classification: confidential
        logicalTypeOptions: {minimum: 1, maximum: 10}
      - name: kind
        logicalType: string
        quality:
          - metric: invalidValues
            arguments: {validValues: [a, b, c, d]}
            mustBe: 0
            customProperties:
              - {property: quarantine, value: true}
              - {property: quarantineMaxPercent, value: 60}
    quality:
      - metric: rowCount
        mustBeGreaterThan: 0
"""
)
QUARANTINE_SCHEMA = pa.schema(
    [
        ("thing_id", pa.string()),
        ("label", pa.string()),
        ("weight", pa.decimal128(8, 3)),
        ("kind", pa.string()),
    ]
)
QUARANTINE_ROWS = [
    ("T0001", "alpha", Decimal("5.0"), "a"),
    ("T0002", None, Decimal("0.5"), "b"),  # quarantined: null label (its weight not judged)
    ("T0003", "jane@example.org", Decimal("12.0"), "z"),  # quarantined: kind (and weight)
    ("T0004", None, Decimal("2.0"), "q"),  # quarantined by both rules
    ("T0005", "x", Decimal("3.0"), "c"),
    ("T0006", "echo", Decimal("3.0"), "d"),
]


def test_quarantine_splits_the_rows_as_the_spark_path_does(tmp_path: Path, spark) -> None:
    port = _project(tmp_path, QUARANTINE)
    location = tmp_path / "things"
    rows = _table(QUARANTINE_ROWS, QUARANTINE_SCHEMA)

    spark_checked = _spark_check(spark, port, rows, location)
    assert spark_checked is not None
    try:
        spark_kept = sorted(tuple(row) for row in spark_checked.frame.collect())
        assert spark_checked.quarantine is not None
        spark_quarantined = spark_checked.quarantine.drop("_quarantined_at")
        spark_columns = spark_quarantined.columns
        spark_rows = sorted(tuple(row) for row in spark_quarantined.collect())
    finally:
        spark_checked.release()
    duck = _duck(port, rows, location)

    assert duck.report is not None
    assert _found(duck.report) == _found(spark_checked.report)
    assert (duck.report.rows_checked, duck.report.quarantined_rows) == (6, 3)
    assert duck.report.quarantine_location == quarantine_location(str(location))
    assert sorted(tuple(row.values()) for row in duck.publish.to_pylist()) == spark_kept
    assert duck.publish.schema == rows.schema
    found = {r.rule.name: (r.unexpected_count, r.passed) for r in duck.report.results}
    assert found["weight_range"] == (0, True)  # judged on the kept rows only
    assert found["label_null_values"] == (2, False)
    assert found["kind_invalid_values"] == (2, False)
    assert not duck.report.blocked
    assert duck.quarantined is not None
    assert duck.quarantined.column_names == [*spark_columns, "_quarantined_at"]
    quarantined = duck.quarantined.drop_columns(["_quarantined_at"])
    assert sorted(tuple(row.values()) for row in quarantined.to_pylist()) == spark_rows
    assert ("T0004", "null", "***", "q") not in spark_rows  # nulls stay null, not "null"
    assert {row["_quarantine_rules"] for row in quarantined.to_pylist()} == {
        "label_null_values",
        "kind_invalid_values",
        "label_null_values,kind_invalid_values",
    }
    assert duck.quarantined.schema.field("_quarantined_at").type == pa.timestamp("us", tz="UTC")
    assert all(field.nullable for field in duck.quarantined.schema)


def test_a_quarantine_past_its_limit_blocks_and_quarantines_nothing(tmp_path: Path, spark) -> None:
    port = _project(tmp_path, QUARANTINE)
    location = tmp_path / "things"
    rows = _table(
        [("T0001", "a", Decimal("2.0"), "z"), ("T0002", "b", Decimal("2.0"), "y")],
        QUARANTINE_SCHEMA,
    )

    spark_checked = _spark_check(spark, port, rows, location)
    assert spark_checked is not None
    spark_checked.release()
    duck = _duck(port, rows, location)

    assert duck.report is not None and duck.report.blocked
    assert _found(duck.report) == _found(spark_checked.report)
    blocked = {r.rule.name: r.quarantine_blocked for r in duck.report.results}
    assert "more than its quarantineMaxPercent 60" in (blocked["kind_invalid_values"] or "")
    assert duck.quarantined is None


# -- an append is judged with the table's keys -------------------------------------------------

KEYED = HEADER + (
    "    properties:\n      - name: thing_id\n        logicalType: string\n"
    "        required: true\n        primaryKey: true\n      - name: label\n        logicalType: string\n"
)
KEYED_SCHEMA = pa.schema([("thing_id", pa.string()), ("label", pa.string())])


@pytest.mark.parametrize("mode", ["append", "overwrite"])
def test_an_append_is_judged_with_the_keys_already_in_the_table(
    tmp_path: Path, spark, mode: str
) -> None:
    port = _project(tmp_path, KEYED, write_mode=mode)
    location = tmp_path / "things"
    existing = [("T0001", "one"), ("T0002", "two"), ("T0003", "three")]
    write_deltalake(str(location), _table(existing, KEYED_SCHEMA))
    rows = _table([("T0003", "again"), ("T0004", "four")], KEYED_SCHEMA)

    spark_checked = _spark_check(spark, port, rows, location)
    assert spark_checked is not None
    spark_checked.release()
    duck = _duck(port, rows, location)

    assert duck.report is not None
    assert _found(duck.report) == _found(spark_checked.report)
    [key] = duck.report.results
    if mode == "append":
        assert (key.passed, key.unexpected_count, key.failing_sample) == (False, 2, ("T0003",))
        assert key.unexpected_percent == 40.0  # 2 of the 5 rows the table will hold
        assert duck.profile is None  # the commit will hold more rows than these
    else:
        assert (key.passed, key.unexpected_count) == (True, 0)
        assert duck.profile is not None
    assert duck.report.previous_version == 0


# -- drift against the previous version's profile ----------------------------------------------

DRIFTING = HEADER + (
    "    properties:\n      - name: thing_id\n        logicalType: string\n"
    "        required: true\n        primaryKey: true\n      - name: weight\n        logicalType: number\n"
    "      - name: kind\n        logicalType: string\n"
)
DRIFT_SCHEMA = pa.schema(
    [("thing_id", pa.string()), ("weight", pa.float64()), ("kind", pa.string())]
)


def _drifting(count: int, shift: float, kinds: str) -> pa.Table:
    rows = [
        (f"T{i:04d}", None if i % 17 == 0 else shift + (i * 7919) % 100 / 10, kinds[i % len(kinds)])
        for i in range(count)
    ]
    return _table(rows, DRIFT_SCHEMA)


def test_drift_and_profiles_match_the_spark_checks(tmp_path: Path, spark) -> None:
    port = _project(tmp_path, DRIFTING)
    location = tmp_path / "things"
    first = _drifting(300, 0.0, "aabbc")

    # Elsewhere: Spark's Delta log cache would not see the table delta-rs writes next.
    spark_first = _spark_check(spark, port, first, tmp_path / "fresh")
    assert spark_first is not None
    spark_first.release()
    duck_first = _duck(port, first, location)

    assert duck_first.profile is not None
    assert duck_first.profile == spark_first.profile  # quantile edges, categories, shares
    assert duck_first.report is not None and duck_first.report.drift == ()
    write_deltalake(
        str(location),
        first,
        commit_properties=CommitProperties(
            custom_metadata={"userMetadata": duck_first.profile.to_metadata()}
        ),
    )
    moved = _drifting(200, 3.0, "abccd")

    spark_moved = _spark_check(spark, port, moved, location)
    assert spark_moved is not None
    spark_moved.release()
    duck_moved = _duck(port, moved, location)

    assert duck_moved.report is not None
    assert duck_moved.report.previous_version == 0
    assert duck_moved.report.drift == spark_moved.report.drift
    assert {d.column: d.drifted for d in duck_moved.report.drift} == {
        "weight": True,
        "kind": True,
    }
    assert duck_moved.profile == spark_moved.profile

    # A commit without a profile (made outside meshlake): both profile the table read back.
    write_deltalake(str(location), _drifting(50, 1.0, "ab"), mode="append")
    assert DeltaTable(str(location)).history(1)[0].get("userMetadata") is None
    spark_again = _spark_check(spark, port, moved, location)
    assert spark_again is not None
    spark_again.release()
    duck_again = _duck(port, moved, location)

    assert duck_again.report is not None and duck_again.report.previous_version == 1
    assert duck_again.report.drift == spark_again.report.drift
    assert len(duck_again.report.drift) == 2
