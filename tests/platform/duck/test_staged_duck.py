"""Staging and committing with delta-rs (the DuckDB engine's writes), no Spark needed."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from meshlake.platform._duck._staged import commit_metadata, stage

pytestmark = pytest.mark.unit


def _parquet(folder: Path) -> set[str]:
    return {file.name for file in folder.glob("*.parquet")}


def test_commit_metadata_is_the_spark_paths() -> None:
    from meshlake.platform._delta import commit_metadata as spark_metadata

    profile = json.dumps({"meshlake.profile": {"rows": 3}})
    assert commit_metadata("run-1", profile) == spark_metadata("run-1", profile)
    assert commit_metadata("run-1") == spark_metadata("run-1")


def test_nothing_is_readable_before_the_commit_and_abort_deletes_the_files(tmp_path: Path) -> None:
    folder = tmp_path / "table"
    staged = stage(pa.table({"a": [1, 2]}), str(folder), "overwrite")

    assert len(_parquet(folder)) == 1
    assert not (folder / "_delta_log").exists()
    staged.abort()
    staged.abort()  # twice is fine
    assert _parquet(folder) == set()


def test_an_overwrite_may_change_the_schema_an_append_may_not(tmp_path: Path) -> None:
    folder = tmp_path / "table"
    stage(pa.table({"a": [1, 2], "b": ["x", "y"]}), str(folder), "overwrite").commit(run_id="r1")
    changed = stage(pa.table({"a": [3], "c": [1.5]}), str(folder), "overwrite").commit(run_id="r2")
    assert (changed.version, changed.rows) == (1, 1)
    assert DeltaTable(str(folder)).schema().to_arrow().names == ["a", "c"]
    before = _parquet(folder)

    refused = stage(pa.table({"a": [4], "d": [True]}), str(folder), "append")
    with pytest.raises(ValueError, match="has no column d: an append cannot change its schema"):
        refused.commit(run_id="r3")

    assert _parquet(folder) == before  # the refused append's files are gone
    assert DeltaTable(str(folder)).version() == 1


def test_an_append_with_merge_schema_adds_the_columns(tmp_path: Path) -> None:
    folder = tmp_path / "quarantine"
    stage(pa.table({"a": [1]}), str(folder), "append").commit(run_id="r1")
    added = stage(
        pa.table({"a": [2], "b": ["new"]}), str(folder), "append", merge_schema=True
    ).commit(run_id="r2")

    table = DeltaTable(str(folder))
    assert added.rows == 2
    assert sorted(table.to_pyarrow_table().to_pylist(), key=lambda row: row["a"]) == [
        {"a": 1, "b": None},
        {"a": 2, "b": "new"},
    ]
    protocol = table.protocol()
    assert (protocol.min_reader_version, protocol.min_writer_version) == (1, 2)
    assert json.loads(table.history(1)[0]["userMetadata"]) == {"meshlake.run_id": "r2"}


def test_inputs_are_read_at_the_version_asked_for_with_plain_utc_timestamps(
    tmp_path: Path,
) -> None:
    from meshlake.platform._duck._read import read_delta

    folder = str(tmp_path / "input")
    moment = pa.array([1_700_000_000_000_000], pa.timestamp("us", tz="UTC"))
    stage(pa.table({"a": [1], "t": moment}), folder, "overwrite").commit(run_id="r1")
    stage(pa.table({"a": [2], "t": moment}), folder, "overwrite").commit(run_id="r2")

    first = read_delta(folder, 0, "input port 'x'")
    latest = read_delta(folder, None, "input port 'x'")

    assert first.column("a").to_pylist() == [1]
    assert latest.column("a").to_pylist() == [2]
    assert first.schema.field("t").type == pa.timestamp("us")  # UTC, as DuckDB computes it
    assert first.column("t").cast(pa.int64()).to_pylist() == [1_700_000_000_000_000]
    with pytest.raises(Exception, match=r"input port 'x' at version 7, which has no Delta table"):
        read_delta(folder, 7, "input port 'x'")


def test_a_large_result_is_written_as_one_file_per_writer_and_reads_back_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from meshlake.platform._duck import _staged

    monkeypatch.setattr(_staged, "WRITERS", 3)
    rows = 3 * _staged.MIN_ROWS_PER_FILE + 7
    table = pa.table({"id": pa.array(range(rows), pa.int64())})
    folder = tmp_path / "table"

    done = stage(table, str(folder), "overwrite").commit(run_id="r1")

    assert (done.version, done.rows) == (0, rows)
    assert len(_parquet(folder)) == 3
    read = DeltaTable(str(folder)).to_pyarrow_table()
    assert sorted(read.column("id").to_pylist()) == list(range(rows))
    stats = DeltaTable(str(folder)).get_add_actions(flatten=True).column("num_records")
    assert sorted(stats.to_pylist()) == [100_001, 100_003, 100_003]


def test_a_failed_file_write_leaves_no_staged_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from meshlake.platform._duck import _staged

    written = []
    write_table = _staged.pq.write_table

    def second_fails(part: pa.Table, path: str, **options: object) -> None:
        written.append(path)
        if len(written) == 2:
            raise OSError("disk full")
        write_table(part, path, **options)

    monkeypatch.setattr(_staged.pq, "write_table", second_fails)
    monkeypatch.setattr(_staged, "WRITERS", 2)
    rows = 2 * _staged.MIN_ROWS_PER_FILE
    folder = tmp_path / "table"

    with pytest.raises(OSError, match="disk full"):
        stage(pa.table({"id": pa.array(range(rows), pa.int64())}), str(folder), "overwrite")

    assert len(written) == 2
    assert _parquet(folder) == set()
