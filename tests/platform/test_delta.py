"""Real Spark + Delta: the latest commit read straight from the log says what delta-rs reads in the
table's history, for each write mode, and each publication reports its version and row count."""

from __future__ import annotations

from pathlib import Path

import pytest
from deltalake import DeltaTable

from meshlake.platform._delta import latest_commit_info, write_delta

pytestmark = pytest.mark.integration

SCHEMA = "id INT, name STRING"


def test_the_latest_commit_matches_the_history_delta_rs_reads(tmp_path: Path, spark) -> None:
    location = str(tmp_path / "things")
    rows = spark.createDataFrame([(1, "a"), (2, "b")], SCHEMA)
    first = write_delta(spark, rows, location, "overwrite", [], user_metadata='{"n": 1}')
    second = write_delta(spark, rows.limit(1), location, "append", [])
    third = write_delta(spark, rows, location, "merge", ["id"])

    assert [(c.version, c.rows, c.operation) for c in (first, second, third)] == [
        (0, 2, "WRITE"),
        (1, 3, "WRITE"),
        (2, 3, "MERGE"),
    ]
    info = latest_commit_info(spark, location)
    expected = DeltaTable(location).history(1)[0]
    assert (info.version, info.operation) == (expected["version"], expected["operation"])
    assert info.parameters == expected["operationParameters"]
    assert info.metrics == expected["operationMetrics"]
    assert info.metrics["numTargetRowsUpdated"] == "3"
    assert info.user_metadata is None


def test_the_user_metadata_and_mode_of_an_overwrite_are_read_back(tmp_path: Path, spark) -> None:
    location = str(tmp_path / "things")
    write_delta(
        spark, spark.createDataFrame([(1, "a")], SCHEMA), location, "overwrite", [], '{"n": 1}'
    )

    info = latest_commit_info(spark, location)

    assert (info.version, info.user_metadata) == (0, '{"n": 1}')
    assert info.parameters["mode"] == "Overwrite"
    assert info.metrics["numOutputRows"] == "1"


def test_a_folder_that_is_no_delta_table_is_refused(tmp_path: Path, spark) -> None:
    with pytest.raises(ValueError, match="is not a Delta table"):
        latest_commit_info(spark, str(tmp_path / "nothing"))
