"""Real Spark + Delta + Great Expectations: each rule kind passes on good rows and fails on bad
rows with exact numbers; blocking failures commit nothing; quarantined rows are counted exactly."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from deltalake import DeltaTable

from meshlake.platform import PortRef, load_mesh
from meshlake.platform.quality import QualityError, QualityReport
from meshlake.platform.quality._engine import VALIDATORS, QualityEngine, quarantine_location
from meshlake.platform.quality._profile import Profile
from tests.helpers import engine_platform

pytestmark = pytest.mark.integration

CONTRACT = Path(__file__).parent / "rules_contract.yaml"
THINGS = PortRef("alpha", "things", "things")
SCHEMA = "thing_id STRING, label STRING, weight DECIMAL(8,3), kind STRING"
GOOD = [
    ("T0001", "alpha", Decimal("5.0"), "a"),
    ("T0002", "bravo", Decimal("1.5"), "b"),
    ("T0003", "charlie", Decimal("8.0"), "c"),
    ("T0004", "delta", Decimal("2.0"), "d"),
]
BAD = [
    ("T0001", "alpha", Decimal("5.0"), "a"),
    ("T0002", None, Decimal("0.5"), "b"),  # null label, weight below 1
    ("T0003", "n/a", Decimal("12.0"), "z"),  # missing label, weight above 10, invalid kind
    ("X004", "jane.doe@example.org.uk", Decimal("3.0"), "c"),  # bad id, label too long
    ("T0001", "alpha", Decimal("5.0"), "a"),  # duplicate key (and label+kind)
]
# Null keys, which uniqueness rules ignore, and compound keys whose 64-bit hashes collide
# ((x, null) and (null, x) hash alike): counts must still be exact.
EDGE = [
    ("T0001", None, None, None),
    ("T0001", None, None, None),
    ("T0002", "xyz", Decimal("5.0"), None),
    ("T0003", None, Decimal("5.0"), "xyz"),
    (None, "bravo", Decimal("1.0"), "a"),
    (None, "bravo", Decimal("1.0"), "a"),
]


@pytest.fixture(scope="module")
def by_validator(tmp_path_factory: pytest.TempPathFactory, spark):
    """Reports of both validators on the good, bad and edge rows."""
    from tests.helpers import MINI_MESH

    project = tmp_path_factory.mktemp("rules") / "project"
    shutil.copytree(MINI_MESH, project)
    shutil.copy(CONTRACT, project / "domains/alpha/products/things/contract.yaml")
    port = load_mesh(project).port(THINGS)
    outcome: dict[str, dict[str, QualityReport]] = {}
    for validator in VALIDATORS:
        engine = QualityEngine(spark, project / ".meshlake", "run-1", validator=validator)
        outcome[validator] = {}
        for name, rows in (("good", GOOD), ("bad", BAD), ("edge", EDGE)):
            result = engine.check(port, spark.createDataFrame(rows, SCHEMA), str(project / "t"))
            assert result is not None
            outcome[validator][name] = result.report
            result.release()
    return outcome


@pytest.fixture(scope="module")
def checked(by_validator):
    return by_validator["spark"]


@pytest.mark.parametrize("rows", ["good", "bad", "edge"])
def test_the_spark_pass_counts_exactly_what_great_expectations_counts(by_validator, rows) -> None:
    def found(report: QualityReport) -> dict[str, tuple]:
        return {
            r.rule.name: (r.passed, r.observed, r.unexpected_count, sorted(r.failing_sample))
            for r in report.results
        }

    spark_pass = by_validator["spark"][rows]
    great_expectations = by_validator["great_expectations"][rows]

    assert (spark_pass.validator, great_expectations.validator) == ("spark", "great_expectations")
    assert found(spark_pass) == found(great_expectations)


def test_uniqueness_ignores_null_keys_and_survives_hash_collisions(checked) -> None:
    found = {r.rule.name: r.unexpected_count for r in checked["edge"].results}

    assert found["things_primary_key"] == 2  # the two T0001 rows; the null ids are ignored
    assert found["things_duplicate_values"] == 2  # (bravo, a) twice; (xyz, null) != (null, xyz)


def test_every_rule_passes_on_good_rows(checked) -> None:
    report = checked["good"]

    assert report.rows_checked == 4
    assert [r.rule.name for r in report.results if not r.passed] == []
    assert not report.blocked
    by_name = {r.rule.name: r for r in report.results}
    assert by_name["things_row_count"].observed == 4
    assert by_name["heavy_things"].observed == 0
    assert by_name["label_null_values"].unexpected_count == 0


def test_every_rule_fails_on_bad_rows_with_exact_numbers(checked) -> None:
    report = checked["bad"]
    found = {
        r.rule.name: (r.passed, r.observed, r.unexpected_count, r.failing_sample)
        for r in report.results
    }

    assert found == {
        "thing_id_invalid_values": (False, 1, 1, ("X004",)),
        "label_length": (False, 1, 1, ("j***@***",)),
        "label_null_values": (False, 1, 1, ("null",)),
        "label_missing_values": (False, 2, 2, ("n***", "null")),
        "weight_range": (False, 2, 2, ("0.500", "12.000")),
        "kind_invalid_values": (False, 1, 1, ("z",)),
        "things_primary_key": (False, 2, 2, ("T0001",)),
        "things_row_count": (True, 5, None, ()),
        "things_duplicate_values": (True, 40.0, 2, ("{label=a***, kind=a}",)),
        "heavy_things": (False, 1, None, ()),
    }
    assert report.blocked
    blocking = {r.rule.name for r in report.results if r.blocking}
    assert "heavy_things" not in blocking  # a warning publishes
    assert by_percent(report, "label_missing_values") == 40.0
    assert {r.rule.name: r.expected for r in report.results}["things_row_count"] == (
        "between 3 and 100 rows"
    )


def by_percent(report, name: str) -> float | None:
    return next(r.unexpected_percent for r in report.results if r.rule.name == name)


QUARANTINE_RULES = """
        quality:
          - metric: nullValues
            mustBe: 0
            customProperties:
              - property: quarantine
                value: true
"""
KIND_RULE = """
        quality:
          - metric: invalidValues
            arguments:
              validValues: [a, b, c, d]
            mustBe: 0
"""


@pytest.fixture
def platform(mini_project: Path, spark):
    contract = mini_project / "domains/alpha/products/things/contract.yaml"
    text = contract.read_text()
    text = text.replace(
        "      - name: label\n        logicalType: string\n",
        "      - name: label\n        logicalType: string\n        classification: personal\n"
        + QUARANTINE_RULES.lstrip("\n"),
    )
    contract.write_text(text.rstrip("\n") + "\n" + KIND_RULE.lstrip("\n"))
    platform = engine_platform(mini_project)
    platform.ingest(scale=1.0)
    return platform


def _raw(platform) -> Path:
    return Path(platform.state_home) / "lake/lab/_raw/alpha/things_raw/part-00000.csv"


def _add_raw_rows(platform, rows: list[str]) -> None:
    drop = _raw(platform)
    drop.write_text(drop.read_text() + "".join(row + "\n" for row in rows))


def test_quarantine_takes_exactly_the_failing_rows_and_publishes_the_rest(platform, spark) -> None:
    _add_raw_rows(platform, ["T9998,,5.0,a", "T9999,,6.0,b"])

    result = platform.materialize(["alpha.things"])[0]

    assert result.status == "published", result.error
    port = result.ports[0]
    assert port.rows == 100
    # The staged write that found rows to quarantine was deleted: only committed files remain.
    on_disk = {path.name for path in Path(port.location).glob("*.parquet")}
    assert on_disk == {uri.rsplit("/", 1)[-1] for uri in DeltaTable(port.location).file_uris()}
    report = port.quality
    assert report is not None
    assert (report.rows_checked, report.quarantined_rows) == (102, 2)
    rule = next(r for r in report.results if r.rule.name == "label_null_values")
    assert (rule.passed, rule.blocking, rule.quarantined_rows) == (False, False, 2)
    assert report.quarantine_location == quarantine_location(port.location)
    assert report.quarantine_location.endswith("/alpha/things/_quarantine/things")
    quarantined = DeltaTable(report.quarantine_location).to_pyarrow_table().to_pylist()
    assert sorted(row["thing_id"] for row in quarantined) == ["T9998", "T9999"]
    assert {row["_quarantine_rules"] for row in quarantined} == {"label_null_values"}
    assert {row["_run_id"] for row in quarantined} == {result.run_id}
    assert all(row["_quarantined_at"] is not None for row in quarantined)
    assert report.summary()["quarantined_rows"] == 2
    assert report.data_docs is not None and report.data_docs.startswith("file://")
    page = Path(unquote(urlparse(report.data_docs).path))
    assert page.is_file()
    assert "{" not in page.name and page.name.endswith(".html")
    assert (report.drift, report.previous_version) == ((), None)  # a first version has no drift

    again = platform.materialize(["alpha.things"])[0].ports[0].quality
    assert again is not None and again.previous_version == 0
    assert {d.column: d.drifted for d in again.drift} == {"weight": False, "kind": False}


def test_each_commit_carries_the_profile_drift_reads_next_time(platform, spark) -> None:
    first = platform.materialize(["alpha.things"])[0].ports[0]
    profile = Profile.from_metadata(DeltaTable(first.location).history(1)[0]["userMetadata"])
    assert profile is not None and profile.rows == 100
    kinds = {name: column.kind for name, column in profile.columns.items()}
    assert kinds == {"weight": "numeric", "kind": "categorical", "label": "many_values"}
    assert profile.columns["kind"].categories == ["a", "b", "c", "d"]
    assert abs(sum(profile.columns["weight"].shares.values()) - 1) < 1e-9

    # A commit made outside meshlake carries no profile: drift then profiles the table itself.
    table = spark.read.format("delta").load(first.location)
    table.limit(5).write.format("delta").mode("append").save(first.location)
    again = platform.materialize(["alpha.things"])[0].ports[0].quality

    assert again is not None and again.previous_version == 1
    assert {d.column: d.drifted for d in again.drift} == {"weight": False, "kind": False}


def test_blocking_failure_keeps_the_previous_version_and_skips_downstream(platform) -> None:
    first = platform.materialize(["alpha.things"])[0]
    assert first.status == "published"
    location = first.ports[0].location
    _add_raw_rows(platform, ["T9997,,5.0,a", "T9998,ok,5.0,zz"])

    results = platform.materialize()

    assert [(r.product, r.status) for r in results] == [
        ("alpha.things", "failed"),
        ("alpha.summary", "skipped"),
    ]
    assert "kind_invalid_values" in (results[0].error or "")
    assert DeltaTable(location).version() == 0
    assert not Path(quarantine_location(location)).exists()  # nothing quarantined either
    with pytest.raises(QualityError) as caught:
        platform.materialize_product("alpha.things")
    blocking = [r for report in caught.value.reports for r in report.results if r.blocking]
    assert [(r.rule.name, r.unexpected_count, r.failing_sample) for r in blocking] == [
        ("kind_invalid_values", 1, ("zz",))
    ]
