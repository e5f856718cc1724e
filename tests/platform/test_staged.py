"""Real Spark + Delta: a staged write is invisible until its commit, an abort leaves the table and
its folder exactly as they were, and a commit in between makes the staged commit fail."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from deltalake import DeltaTable

from meshlake.platform import PortRef, load_mesh
from meshlake.platform._delta import write_delta
from meshlake.platform._staged import stage
from meshlake.platform.quality._engine import QualityEngine
from tests.helpers import MINI_MESH

pytestmark = pytest.mark.integration

SCHEMA = "id INT, name STRING"


def _files(table: Path) -> set[str]:
    return {path.name for path in table.glob("*.parquet")}


def _rows(table: Path) -> list[tuple]:
    return sorted(
        (row["id"], row["name"]) for row in DeltaTable(str(table)).to_pyarrow_table().to_pylist()
    )


@pytest.fixture
def table(tmp_path: Path, spark) -> Path:
    location = tmp_path / "things"
    write_delta(
        spark, spark.createDataFrame([(1, "a"), (2, "b")], SCHEMA), str(location), "overwrite", []
    )
    return location


def test_a_staged_overwrite_is_invisible_until_its_commit(table: Path, spark) -> None:
    staged = stage(spark, spark.createDataFrame([(3, "c")], SCHEMA), str(table), "overwrite")

    assert staged is not None and staged.files
    assert staged.rows == 1  # from the staged files' statistics, before any commit
    assert DeltaTable(str(table)).version() == 0
    assert _rows(table) == [(1, "a"), (2, "b")]
    assert sorted(tuple(row) for row in staged.read().collect()) == [(3, "c")]

    commit = staged.commit('{"note": "checked"}')

    assert (commit.version, commit.rows, commit.operation) == (1, 1, "WRITE")
    assert _rows(table) == [(3, "c")]
    assert DeltaTable(str(table)).history(1)[0]["userMetadata"] == '{"note": "checked"}'
    with pytest.raises(RuntimeError, match="already finished"):
        staged.commit()


def test_an_aborted_staged_write_leaves_the_table_and_its_folder_as_they_were(
    table: Path, spark
) -> None:
    before = _files(table)
    staged = stage(
        spark, spark.createDataFrame([(3, "c"), (4, "d")], SCHEMA), str(table), "overwrite"
    )
    assert staged is not None and _files(table) > before

    staged.abort()
    staged.abort()  # twice is harmless

    assert _files(table) == before
    assert DeltaTable(str(table)).version() == 0
    assert _rows(table) == [(1, "a"), (2, "b")]


def test_a_commit_in_between_makes_the_staged_overwrite_fail(table: Path, spark) -> None:
    staged = stage(spark, spark.createDataFrame([(3, "c")], SCHEMA), str(table), "overwrite")
    assert staged is not None
    write_delta(spark, spark.createDataFrame([(5, "e")], SCHEMA), str(table), "append", [])

    with pytest.raises(Exception, match=r"(?i)concurrent"):
        staged.commit()

    assert DeltaTable(str(table)).version() == 1
    assert _rows(table) == [(1, "a"), (2, "b"), (5, "e")]


def test_append_schema_change_and_merge(table: Path, spark) -> None:
    appended = stage(spark, spark.createDataFrame([(3, "c")], SCHEMA), str(table), "append")
    assert appended is not None and appended.rows == 1
    assert appended.commit().rows == 3
    assert _rows(table) == [(1, "a"), (2, "b"), (3, "c")]

    wider = spark.createDataFrame([(7, "g", 1.5)], SCHEMA + ", weight DOUBLE")
    replaced = stage(spark, wider, str(table), "overwrite")
    assert replaced is not None
    replaced.commit()
    assert DeltaTable(str(table)).schema().to_arrow().names == ["id", "name", "weight"]

    # A merge into an existing table rewrites files it reads: not staged, and nothing is written.
    before = _files(table)
    assert stage(spark, wider, str(table), "merge") is None
    assert _files(table) == before
    # The first version of a merge port is an overwrite, as in write_delta.
    created = stage(spark, wider, str(table.parent / "new"), "merge")
    assert created is not None and created.mode == "overwrite"
    assert created.commit().version == 0


def test_zero_rows_stage_and_commit_an_empty_version(table: Path, spark) -> None:
    staged = stage(spark, spark.createDataFrame([], SCHEMA), str(table), "overwrite")
    assert staged is not None and staged.rows == 0

    commit = staged.commit()

    assert (commit.version, commit.rows) == (1, 0)
    assert _rows(table) == []


THINGS_SCHEMA = "thing_id STRING, label STRING, weight DECIMAL(8,3), kind STRING"
FIVE = Decimal("5.0")


@pytest.fixture
def checks(tmp_path: Path, spark):
    """The things port under the rules contract, and a quality engine to check it."""
    project = tmp_path / "project"
    shutil.copytree(MINI_MESH, project)
    rules = Path(__file__).parent / "quality" / "rules_contract.yaml"
    shutil.copy(rules, project / "domains/alpha/products/things/contract.yaml")
    port = load_mesh(project).port(PortRef("alpha", "things", "things"))
    return port, QualityEngine(spark, project / ".meshlake", "run-1")


def test_a_blocked_port_commits_nothing_and_leaves_no_file_and_a_passing_one_commits(
    checks, tmp_path: Path, spark
) -> None:
    """Through the quality engine: the port is staged, then committed or its files deleted."""
    port, engine = checks
    location = tmp_path / "published"
    bad = spark.createDataFrame(
        [
            ("T0001", "alpha", FIVE, "a"),
            ("T0001", "alpha", FIVE, "z"),
            ("T0003", "gamma", FIVE, "c"),
        ],
        THINGS_SCHEMA,
    )

    blocked = engine.check(port, bad, str(location))

    assert blocked is not None and blocked.staged is not None and blocked.report.blocked
    assert blocked.report.rows_checked == 3
    failed = {r.rule.name: r.unexpected_count for r in blocked.report.results if not r.passed}
    assert failed["things_primary_key"] == 2 and failed["kind_invalid_values"] == 1
    blocked.release()
    assert not DeltaTable.is_deltatable(str(location))
    assert _files(location) == set()

    good = spark.createDataFrame(
        [
            ("T0001", "alpha", FIVE, "a"),
            ("T0002", "bravo", FIVE, "b"),
            ("T0003", "gamma", FIVE, "c"),
        ],
        THINGS_SCHEMA,
    )
    passing = engine.check(port, good, str(location))
    assert passing is not None and passing.staged is not None and not passing.report.blocked
    commit = passing.staged.commit()
    passing.release()  # after the commit, releasing deletes nothing

    assert (commit.version, commit.rows) == (0, 3)
    assert len(DeltaTable(str(location)).to_pyarrow_table()) == 3


def test_an_empty_port_is_counted_from_its_staged_write(checks, tmp_path: Path, spark) -> None:
    port, engine = checks
    empty = spark.createDataFrame([], THINGS_SCHEMA)

    checked = engine.check(port, empty, str(tmp_path / "published"))

    assert checked is not None and checked.staged is not None
    assert checked.report.rows_checked == 0
    failed = [(r.rule.name, r.observed) for r in checked.report.results if not r.passed]
    assert failed == [("things_row_count", 0)]
    checked.release()


def test_without_delta_statistics_the_staged_row_count_is_unknown(table: Path, spark) -> None:
    spark.conf.set("spark.databricks.delta.stats.collect", "false")
    try:
        staged = stage(spark, spark.createDataFrame([(3, "c")], SCHEMA), str(table), "overwrite")
    finally:
        spark.conf.unset("spark.databricks.delta.stats.collect")
    assert staged is not None and staged.files
    assert staged.rows is None
    staged.abort()
