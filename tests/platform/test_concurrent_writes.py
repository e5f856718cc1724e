"""Real Spark + Delta, two writers of one table at once (two threads, one Spark session): each
commits its own version, reports that version (never the other's), and the table holds exactly
the rows both wrote."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from deltalake import DeltaTable

from meshlake.platform._delta import Commit, write_delta

pytestmark = pytest.mark.integration

SCHEMA = "id INT, name STRING"


def _together(*writers: Callable[[], Commit]) -> list[Commit]:
    """Run ``writers`` in threads that start their writes at the same moment."""
    barrier = threading.Barrier(len(writers))
    results: list[Commit | BaseException | None] = [None] * len(writers)

    def run(index: int, writer: Callable[[], Commit]) -> None:
        barrier.wait()
        try:
            results[index] = writer()
        except BaseException as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=item) for item in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [result for result in results if isinstance(result, Commit)]


def _history(location: str) -> dict[int, str]:
    """Each version's run id."""
    return {
        entry["version"]: json.loads(entry["userMetadata"])["meshlake.run_id"]
        for entry in DeltaTable(location).history()
    }


def _rows(location: str, version: int | None = None) -> list[tuple]:
    table = DeltaTable(location, version=version).to_pyarrow_table().to_pylist()
    return sorted((row["id"], row["name"]) for row in table)


@pytest.fixture
def location(tmp_path: Path, spark) -> str:
    where = str(tmp_path / "things")
    write_delta(
        spark, spark.createDataFrame([(1, "a")], SCHEMA), where, "overwrite", [], run_id="0"
    )
    return where


@pytest.mark.parametrize("mode", ["append", "overwrite", "merge"])
def test_two_writers_at_once_each_commit_and_report_their_own_version(
    location: str, spark, mode: str
) -> None:
    first = spark.createDataFrame([(2, "b"), (3, "c")], SCHEMA)
    second = spark.createDataFrame([(4, "d")], SCHEMA)

    a, b = _together(
        lambda: write_delta(spark, first, location, mode, ["id"], run_id="A"),
        lambda: write_delta(spark, second, location, mode, ["id"], run_id="B"),
    )

    assert sorted([a.version, b.version]) == [1, 2]
    assert not a.skipped and not b.skipped
    history = _history(location)
    assert (history[a.version], history[b.version]) == ("A", "B")
    # Each writer's row count is the table's at its own version.
    assert a.rows == len(_rows(location, a.version))
    assert b.rows == len(_rows(location, b.version))
    if mode == "overwrite":
        assert _rows(location, a.version) == [(2, "b"), (3, "c")]
        assert _rows(location, b.version) == [(4, "d")]
        last = max((a, b), key=lambda commit: commit.version)
        assert _rows(location) == _rows(location, last.version)
    else:
        assert _rows(location) == [(1, "a"), (2, "b"), (3, "c"), (4, "d")]


def test_two_writers_of_one_run_commit_once(location: str, spark) -> None:
    """The negative: the same run writing twice at once adds its rows once."""
    rows = spark.createDataFrame([(2, "b")], SCHEMA)

    a, b = _together(
        lambda: write_delta(spark, rows, location, "append", [], run_id="A"),
        lambda: write_delta(spark, rows, location, "append", [], run_id="A"),
    )

    assert a.version == b.version == 1
    assert sorted([a.skipped, b.skipped]) == [False, True]
    assert DeltaTable(location).version() == 1
    assert _rows(location) == [(1, "a"), (2, "b")]
