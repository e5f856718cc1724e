"""Real Spark + Delta: every commit carries its run (userMetadata and Delta's transaction identifier),
a retried run adds nothing, a merge upserts on its key, and what is read back from the log matches
what delta-rs reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from deltalake import DeltaTable

from meshlake.platform._delta import (
    RUN_ID_KEY,
    commit_metadata,
    latest_commit_info,
    run_id_of,
    write_delta,
)

pytestmark = pytest.mark.integration

SCHEMA = "id INT, name STRING"
PROFILE = '{"meshlake.profile": {"format": 1, "rows": 2}}'


def _log_entry(location: str, version: int) -> list[dict]:
    path = Path(location) / "_delta_log" / f"{version:020d}.json"
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def _txns(location: str, version: int) -> list[dict]:
    return [action["txn"] for action in _log_entry(location, version) if "txn" in action]


def _rows(location: str) -> list[tuple]:
    table = DeltaTable(location).to_pyarrow_table().to_pylist()
    return sorted((row["id"], row["name"]) for row in table)


def test_the_latest_commit_matches_the_history_delta_rs_reads(tmp_path: Path, spark) -> None:
    location = str(tmp_path / "things")
    rows = spark.createDataFrame([(1, "a"), (2, "b")], SCHEMA)
    first = write_delta(spark, rows, location, "overwrite", [], PROFILE, run_id="r1")
    second = write_delta(spark, rows.limit(1), location, "append", [], run_id="r2")
    third = write_delta(spark, rows, location, "merge", ["id"], run_id="r3")

    assert [(c.version, c.rows, c.operation, c.skipped) for c in (first, second, third)] == [
        (0, 2, "WRITE", False),
        (1, 3, "WRITE", False),
        (2, 3, "MERGE", False),
    ]
    info = latest_commit_info(spark, location)
    expected = DeltaTable(location).history(1)[0]
    assert (info.version, info.operation) == (expected["version"], expected["operation"])
    assert info.parameters == expected["operationParameters"]
    assert info.metrics == expected["operationMetrics"]
    assert info.metrics["numTargetRowsUpdated"] == "3"
    assert info.user_metadata == expected["userMetadata"] == '{"meshlake.run_id":"r3"}'
    assert info.run_id == "r3"


@pytest.mark.parametrize("mode", ["overwrite", "append", "merge"])
def test_every_commit_carries_its_run_id_beside_the_profile_and_a_transaction_identifier(
    tmp_path: Path, spark, mode: str
) -> None:
    location = str(tmp_path / "things")
    write_delta(spark, spark.createDataFrame([(1, "a")], SCHEMA), location, "overwrite", [])
    rows = spark.createDataFrame([(1, "z"), (2, "b")], SCHEMA)

    commit = write_delta(spark, rows, location, mode, ["id"], PROFILE, run_id="run-42")

    assert commit.version == 1 and not commit.skipped
    metadata = json.loads(DeltaTable(location).history(1)[0]["userMetadata"])
    assert metadata == {RUN_ID_KEY: "run-42", "meshlake.profile": {"format": 1, "rows": 2}}
    assert [(txn["appId"], txn["version"]) for txn in _txns(location, 1)] == [("run-42", 0)]


def test_commit_metadata_merges_objects_and_refuses_anything_else() -> None:
    assert json.loads(commit_metadata("r", PROFILE)) == {
        RUN_ID_KEY: "r",
        "meshlake.profile": {"format": 1, "rows": 2},
    }
    assert commit_metadata("r", '{"meshlake.run_id": "other"}') == '{"meshlake.run_id":"r"}'
    assert run_id_of(commit_metadata("r")) == "r"
    assert run_id_of("not json") is None and run_id_of('["r"]') is None and run_id_of(None) is None
    with pytest.raises(ValueError, match="JSON object"):
        commit_metadata("r", '"just a string"')


def test_metadata_that_is_no_json_object_writes_nothing(tmp_path: Path, spark) -> None:
    location = str(tmp_path / "things")
    with pytest.raises(ValueError, match="JSON object"):
        write_delta(spark, spark.createDataFrame([(1, "a")], SCHEMA), location, "append", [], "[1]")
    assert not Path(location).exists()


@pytest.mark.parametrize("mode", ["append", "merge", "overwrite"])
def test_a_retried_run_adds_nothing_and_reports_its_first_commit(
    tmp_path: Path, spark, mode: str
) -> None:
    location = str(tmp_path / "things")
    write_delta(spark, spark.createDataFrame([(1, "a")], SCHEMA), location, "overwrite", [])
    rows = spark.createDataFrame([(2, "b"), (3, "c")], SCHEMA)
    first = write_delta(spark, rows, location, mode, ["id"], run_id="run-1")
    files = set(Path(location).glob("*.parquet"))

    again = write_delta(spark, rows, location, mode, ["id"], run_id="run-1")

    assert (first.version, first.skipped) == (1, False)
    assert (again.version, again.rows, again.operation, again.skipped) == (
        1,
        first.rows,
        first.operation,
        True,
    )
    assert DeltaTable(location).version() == 1
    assert set(Path(location).glob("*.parquet")) == files  # the retry's files were removed
    expected = [(2, "b"), (3, "c")] if mode == "overwrite" else [(1, "a"), (2, "b"), (3, "c")]
    assert _rows(location) == expected


def test_another_run_appends_again(tmp_path: Path, spark) -> None:
    """The negative of the above: only the same run is skipped."""
    location = str(tmp_path / "things")
    rows = spark.createDataFrame([(1, "a")], SCHEMA)
    write_delta(spark, rows, location, "append", [], run_id="run-1")

    second = write_delta(spark, rows, location, "append", [], run_id="run-2")

    assert (second.version, second.rows, second.skipped) == (1, 2, False)
    assert _rows(location) == [(1, "a"), (1, "a")]


def test_a_merge_with_new_and_changed_keys_leaves_one_row_per_key(tmp_path: Path, spark) -> None:
    location = str(tmp_path / "things")
    old = spark.createDataFrame([(1, "a"), (2, "b"), (3, "c")], SCHEMA)
    write_delta(spark, old, location, "merge", ["id"], run_id="r1")  # creates the table
    changes = spark.createDataFrame([(2, "B"), (3, "c"), (4, "d"), (5, "e")], SCHEMA)

    commit = write_delta(spark, changes, location, "merge", ["id"], run_id="r2")

    assert (commit.version, commit.rows, commit.operation) == (1, 5, "MERGE")
    assert _rows(location) == [(1, "a"), (2, "B"), (3, "c"), (4, "d"), (5, "e")]


def test_a_merge_whose_source_repeats_a_matched_key_fails_and_changes_nothing(
    tmp_path: Path, spark
) -> None:
    location = str(tmp_path / "things")
    write_delta(spark, spark.createDataFrame([(1, "a")], SCHEMA), location, "overwrite", [])
    repeated = spark.createDataFrame([(1, "x"), (1, "y")], SCHEMA)

    with pytest.raises(Exception, match=r"(?i)multiple source rows"):
        write_delta(spark, repeated, location, "merge", ["id"], run_id="r")

    assert DeltaTable(location).version() == 0
    assert _rows(location) == [(1, "a")]
    with pytest.raises(ValueError, match="primaryKey"):
        write_delta(spark, repeated, location, "merge", [], run_id="r")


def test_a_merge_leaks_neither_its_metadata_nor_its_identifier_to_other_writes(
    tmp_path: Path, spark
) -> None:
    location = str(tmp_path / "things")
    other = str(tmp_path / "other")
    write_delta(spark, spark.createDataFrame([(1, "a")], SCHEMA), location, "overwrite", [])
    write_delta(
        spark, spark.createDataFrame([(2, "b")], SCHEMA), location, "merge", ["id"], run_id="m"
    )

    spark.createDataFrame([(3, "c")], SCHEMA).write.format("delta").mode("append").save(other)

    for key in (
        "spark.databricks.delta.commitInfo.userMetadata",
        "spark.databricks.delta.write.txnAppId",
        "spark.databricks.delta.write.txnVersion",
    ):
        assert spark.conf.get(key, None) is None
    assert DeltaTable(other).history(1)[0].get("userMetadata") is None
    assert _txns(other, 0) == []
    assert [txn["appId"] for txn in _txns(location, 1)] == ["m"]


def test_a_table_with_column_mapping_is_written_by_delta_s_writer_with_the_same_identifiers(
    tmp_path: Path, spark
) -> None:
    """Such a table cannot be staged (its files name columns by id): the fallback path."""
    location = str(tmp_path / "mapped")
    write_delta(spark, spark.createDataFrame([(1, "a")], SCHEMA), location, "overwrite", [])
    spark.sql(
        f"ALTER TABLE delta.`{location}` SET TBLPROPERTIES ('delta.columnMapping.mode' = 'name', "
        "'delta.minReaderVersion' = '2', 'delta.minWriterVersion' = '5')"
    )
    rows = spark.createDataFrame([(2, "b")], SCHEMA)

    first = write_delta(spark, rows, location, "append", [], PROFILE, run_id="r")
    again = write_delta(spark, rows, location, "append", [], PROFILE, run_id="r")

    assert (first.version, first.rows, first.skipped) == (2, 2, False)
    assert (again.version, again.rows, again.skipped) == (2, 2, True)
    info = latest_commit_info(spark, location)
    assert info.version == 2 and info.run_id == "r"
    assert json.loads(info.user_metadata or "{}")["meshlake.profile"] == {"format": 1, "rows": 2}
    assert spark.read.format("delta").load(location).count() == 2


def test_a_folder_that_is_no_delta_table_is_refused(tmp_path: Path, spark) -> None:
    with pytest.raises(ValueError, match="is not a Delta table"):
        latest_commit_info(spark, str(tmp_path / "nothing"))
