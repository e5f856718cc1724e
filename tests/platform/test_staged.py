"""Real Spark + Delta: a staged write is invisible until its commit, which carries the run and is
made once per run; an abort or a failed stage leaves the table and its folder as they were; a
commit in between is retried with the same files while they fit, and fails clearly when not."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

import pytest
from deltalake import DeltaTable
from pyspark.sql import functions as F

from meshlake.platform import PortRef, load_mesh
from meshlake.platform._delta import ConcurrentWriteError, write_delta
from meshlake.platform._staged import stage
from meshlake.platform.quality._engine import QualityEngine
from tests.helpers import MINI_MESH

pytestmark = pytest.mark.integration

SCHEMA = "id INT, name STRING"


def _files(table: Path) -> set[str]:
    """Every file in the table folder but the log, Hadoop's ``.crc`` checksums included."""
    return {path.name for path in table.iterdir() if path.is_file()} if table.exists() else set()


def _exists(file: str) -> bool:
    return Path(urlparse(file).path).exists()


def _rows(table: Path) -> list[tuple]:
    return sorted(
        (row["id"], row["name"]) for row in DeltaTable(str(table)).to_pyarrow_table().to_pylist()
    )


def _run_of(table: Path, version: int) -> str:
    history = {entry["version"]: entry for entry in DeltaTable(str(table)).history()}
    return json.loads(history[version]["userMetadata"])["meshlake.run_id"]


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

    commit = staged.commit('{"note": "checked"}', run_id="run-1")

    assert (commit.version, commit.rows, commit.operation, commit.skipped) == (1, 1, "WRITE", False)
    assert _rows(table) == [(3, "c")]
    metadata = DeltaTable(str(table)).history(1)[0]["userMetadata"]
    assert json.loads(metadata) == {"note": "checked", "meshlake.run_id": "run-1"}
    with pytest.raises(RuntimeError, match="already finished"):
        staged.commit(run_id="run-1")


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

    assert _files(table) == before  # the checksum files too: deleted through Hadoop's FileSystem
    assert DeltaTable(str(table)).version() == 0
    assert _rows(table) == [(1, "a"), (2, "b")]


def test_a_table_named_by_a_file_uri_is_staged_and_aborted_alike(table: Path, spark) -> None:
    before = _files(table)
    staged = stage(spark, spark.createDataFrame([(3, "c")], SCHEMA), table.as_uri(), "append")
    assert staged is not None and all(file.startswith("file:") for file in staged.files)

    staged.abort()

    assert _files(table) == before


def test_a_second_commit_of_the_same_run_is_skipped_and_its_files_removed(
    table: Path, spark
) -> None:
    first = stage(spark, spark.createDataFrame([(3, "c")], SCHEMA), str(table), "append")
    assert first is not None
    committed = first.commit(run_id="run-1")
    before = _files(table)
    again = stage(spark, spark.createDataFrame([(3, "c")], SCHEMA), str(table), "append")
    assert again is not None

    skipped = again.commit(run_id="run-1")

    assert (committed.version, committed.rows) == (1, 3)
    assert (skipped.version, skipped.rows, skipped.skipped) == (1, 3, True)
    assert DeltaTable(str(table)).version() == 1
    assert _files(table) == before
    assert _rows(table) == [(1, "a"), (2, "b"), (3, "c")]


def test_a_commit_in_between_is_retried_and_each_writer_reports_its_own_version(
    table: Path, spark
) -> None:
    staged = stage(spark, spark.createDataFrame([(3, "c")], SCHEMA), str(table), "overwrite")
    assert staged is not None
    other = write_delta(
        spark, spark.createDataFrame([(5, "e")], SCHEMA), str(table), "append", [], run_id="B"
    )

    commit = staged.commit(run_id="A")

    assert (other.version, commit.version, commit.rows, commit.skipped) == (1, 2, 1, False)
    assert (_run_of(table, 1), _run_of(table, 2)) == ("B", "A")
    assert _rows(table) == [(3, "c")]  # the overwrite replaced what the other writer appended
    assert sorted(DeltaTable(str(table), version=1).to_pyarrow_table()["id"].to_pylist()) == [
        1,
        2,
        5,
    ]


def test_without_retries_a_commit_in_between_fails_naming_the_other_version(
    table: Path, spark
) -> None:
    staged = stage(spark, spark.createDataFrame([(3, "c")], SCHEMA), str(table), "overwrite")
    assert staged is not None and all(_exists(file) for file in staged.files)
    write_delta(spark, spark.createDataFrame([(5, "e")], SCHEMA), str(table), "append", [])

    with pytest.raises(ConcurrentWriteError, match=r"version 1 committed by another writer") as e:
        staged.commit(run_id="A", retries=0)

    assert str(table) in str(e.value) and "read version 0" in str(e.value)
    assert (e.value.read_version, e.value.other_version) == (0, 1)
    assert DeltaTable(str(table)).version() == 1
    assert _rows(table) == [(1, "a"), (2, "b"), (5, "e")]
    assert not any(_exists(file) for file in staged.files)


def test_a_schema_changed_in_between_fails_the_commit_and_asks_to_stage_again(
    table: Path, spark
) -> None:
    staged = stage(spark, spark.createDataFrame([(3, "c")], SCHEMA), str(table), "append")
    assert staged is not None
    wider = spark.createDataFrame([(7, "g", 1.5)], SCHEMA + ", weight DOUBLE")
    write_delta(spark, wider, str(table), "overwrite", [])

    with pytest.raises(ConcurrentWriteError, match="run the product again"):
        staged.commit(run_id="A")

    assert DeltaTable(str(table)).version() == 1
    assert not any(_exists(file) for file in staged.files)


def test_an_overwrite_that_changes_the_schema_is_retried_with_its_schema(
    table: Path, spark
) -> None:
    wider = spark.createDataFrame([(7, "g", 1.5)], SCHEMA + ", weight DOUBLE")
    staged = stage(spark, wider, str(table), "overwrite")
    assert staged is not None
    write_delta(spark, spark.createDataFrame([(5, "e")], SCHEMA), str(table), "append", [])

    commit = staged.commit(run_id="A")

    assert (commit.version, commit.rows) == (2, 1)
    assert DeltaTable(str(table)).schema().to_arrow().names == ["id", "name", "weight"]
    assert DeltaTable(str(table)).to_pyarrow_table().to_pylist() == [
        {"id": 7, "name": "g", "weight": 1.5}
    ]


def test_a_stage_that_fails_half_way_leaves_no_file_behind(
    table: Path, spark, caplog: pytest.LogCaptureFixture
) -> None:
    """A guard raising on one row fails the job after other tasks wrote their files."""
    caplog.set_level(logging.INFO, logger="meshlake.platform._staged")
    orphan = table / "part-00000-old-orphan.snappy.parquet"
    orphan.write_bytes(b"older than the stage: not this stage's to delete")
    os.utime(orphan, (time.time() - 3600, time.time() - 3600))
    before = _files(table)
    rows = spark.range(0, 40_000, numPartitions=4).select(
        F.col("id").cast("int").alias("id"),
        F.when(F.col("id") == 35_000, F.raise_error(F.lit("guard: row 35000")))
        .otherwise(F.lit("x"))
        .alias("name"),
    )

    with pytest.raises(Exception, match="guard: row 35000"):
        stage(spark, rows, str(table), "append")

    assert "no version holds" in caplog.text  # the other tasks' files were there, and removed
    assert _files(table) == before
    assert DeltaTable(str(table)).version() == 0
    assert _rows(table) == [(1, "a"), (2, "b")]


def test_a_failed_stage_leaves_files_alone_while_another_write_of_the_table_runs(
    table: Path, spark
) -> None:
    """Its files and the other writer's uncommitted ones look alike: vacuum removes the rest."""
    pending = stage(spark, spark.createDataFrame([(3, "c")], SCHEMA), str(table), "append")
    assert pending is not None
    rows = spark.range(0, 10, numPartitions=2).select(
        F.col("id").cast("int").alias("id"),
        F.when(F.col("id") == 9, F.raise_error(F.lit("guard"))).otherwise(F.lit("x")).alias("name"),
    )
    with pytest.raises(Exception, match="guard"):
        stage(spark, rows, str(table), "append")

    assert all(_exists(file) for file in pending.files)
    assert pending.commit(run_id="A").version == 1
    assert _rows(table) == [(1, "a"), (2, "b"), (3, "c")]


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
