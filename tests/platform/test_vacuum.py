"""Real Spark + Delta: vacuum removes the files of versions older than the contract's retention and
the files no version ever referenced, keeps every file a version within the retention needs, and
does it for each port's table and quarantine table, through the CLI too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
from deltalake import DeltaTable

from meshlake.platform import PortRef, Settings
from meshlake.platform._delta import write_delta
from meshlake.platform._platform import Platform
from meshlake.platform._vacuum import MIN_RETENTION, vacuum_products, vacuum_table
from meshlake.platform.quality._engine import quarantine_location

pytestmark = pytest.mark.integration

SCHEMA = "id INT, name STRING"
DAY = 24 * 3600


def _age(path: Path, days: float) -> None:
    then = time.time() - days * DAY
    os.utime(path, (then, then))


def _local(uri: str) -> Path:
    return Path(urlparse(uri).path)


def _orphan(table: Path, name: str, days: float) -> Path:
    """A data file no version references (a stage that was never committed), ``days`` old."""
    source = next(table.glob("part-*.parquet"))
    orphan = table / f"part-00000-{name}-c000.snappy.parquet"
    shutil.copy(source, orphan)
    _age(orphan, days)
    return orphan


def _remove_all_as_if_at(spark, location: str, days_ago: float) -> None:
    """Commit the removal of every current file, dated ``days_ago`` (Delta keeps a removed file
    for the retention counted from its removal)."""
    jvm = spark._jvm
    deltas = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, location)
    transaction = deltas.startTransaction()
    current = transaction.filterFiles()
    when = int((time.time() - days_ago * DAY) * 1000)
    removes = [current.apply(i).removeWithTimestamp(when, True) for i in range(current.size())]
    # Delta's classes come with Spark's package loader, not the JVM's application one.
    loader = deltas.getClass().getClassLoader()
    name = "org.apache.spark.sql.delta.DeltaOperations$ManualUpdate$"
    manual = jvm.java.lang.Class.forName(name, True, loader).getField("MODULE$").get(None)
    transaction.commit(jvm.org.apache.spark.api.python.PythonUtils.toSeq(removes), manual)


def _make_old(spark, table: Path) -> Path:
    """Version 0 (its log entry 60 days old), version 1 removing version 0's file 30 days ago
    (written 40 days ago), version 2 appending the current file. Returns version 0's file."""
    location = str(table)
    write_delta(spark, spark.createDataFrame([(1, "a")], SCHEMA), location, "overwrite", [])
    (first,) = [_local(uri) for uri in DeltaTable(location).file_uris()]
    _remove_all_as_if_at(spark, location, days_ago=30)
    write_delta(spark, spark.createDataFrame([(2, "b")], SCHEMA), location, "append", [])
    _age(first, 40)
    _age(table / "_delta_log" / f"{0:020d}.json", 60)
    return first


@pytest.fixture
def aged(tmp_path: Path, spark) -> dict[str, Path]:
    table = tmp_path / "things"
    first = _make_old(spark, table)
    return {
        "table": table,
        "old version": first,
        "orphan": _orphan(table, "never-committed", days=10),
        "young orphan": _orphan(table, "young", days=3),
    }


def _names(result) -> set[str]:
    return {_local(path).name for path in result.files}


def test_without_a_retention_delta_s_seven_days_apply(aged: dict[str, Path], spark) -> None:
    table = aged["table"]
    sizes = aged["old version"].stat().st_size + aged["orphan"].stat().st_size

    dry = vacuum_table(spark, str(table), None, dry_run=True)

    assert dry is not None and dry.dry_run and dry.retention == timedelta(days=7)
    assert _names(dry) == {aged["old version"].name, aged["orphan"].name}
    assert dry.bytes == sizes
    assert aged["old version"].exists() and aged["orphan"].exists()  # a dry run removes nothing

    done = vacuum_table(spark, str(table), None)

    assert done is not None and _names(done) == _names(dry) and done.bytes == sizes
    assert not aged["old version"].exists() and not aged["orphan"].exists()
    assert not (table / f".{aged['old version'].name}.crc").exists()
    assert aged["young orphan"].exists()
    current = [_local(uri) for uri in DeltaTable(str(table)).file_uris()]
    assert all(path.exists() for path in current)
    assert DeltaTable(str(table)).to_pyarrow_table().to_pylist() == [{"id": 2, "name": "b"}]
    assert DeltaTable(str(table)).version() == 2  # vacuum adds no version


def test_a_long_retention_keeps_old_versions_readable_but_not_orphans(
    aged: dict[str, Path], spark
) -> None:
    table = aged["table"]

    result = vacuum_table(spark, str(table), timedelta(days=7 * 365))

    assert result is not None and _names(result) == {aged["orphan"].name}
    assert aged["old version"].exists() and aged["young orphan"].exists()
    old = DeltaTable(str(table), version=0).to_pyarrow_table().to_pylist()
    assert old == [{"id": 1, "name": "a"}]


def test_a_file_older_than_the_log_is_kept_by_a_long_retention(
    aged: dict[str, Path], spark
) -> None:
    """The negative: a version whose log entry is gone may have held it."""
    ancient = _orphan(aged["table"], "older-than-the-log", days=90)

    result = vacuum_table(spark, str(aged["table"]), timedelta(days=7 * 365))

    assert result is not None and ancient.name not in _names(result)
    assert ancient.exists()


def test_a_contract_shorter_than_delta_s_window_says_so(aged: dict[str, Path], spark) -> None:
    table = aged["table"]

    result = vacuum_table(spark, str(table), timedelta(days=2))

    assert result is not None and result.retention == timedelta(days=2)
    assert _names(result) == {
        aged["old version"].name,
        aged["orphan"].name,
        aged["young orphan"].name,
    }
    assert DeltaTable(str(table)).to_pyarrow_table().to_pylist() == [{"id": 2, "name": "b"}]


def test_never_below_an_hour_and_nothing_without_a_table(tmp_path: Path, spark) -> None:
    table = tmp_path / "fresh"
    write_delta(spark, spark.createDataFrame([(1, "a")], SCHEMA), str(table), "overwrite", [])
    write_delta(spark, spark.createDataFrame([(2, "b")], SCHEMA), str(table), "overwrite", [])
    minutes_old = _orphan(table, "minutes-old", days=10 / (24 * 60))

    result = vacuum_table(spark, str(table), timedelta(minutes=1))

    assert result is not None and result.retention == MIN_RETENTION
    assert result.files == () and result.bytes == 0
    assert minutes_old.exists()
    assert DeltaTable(str(table), version=0).to_pyarrow_table().num_rows == 1
    assert vacuum_table(spark, str(tmp_path / "nothing"), None) is None


RETENTION = """slaProperties:
  - property: retention
    value: 7
    unit: y
"""


@pytest.fixture
def project(mini_project: Path, tmp_path: Path, spark) -> tuple[Path, Path]:
    """The mini mesh (things: a 7-year retention) with the things port's table and quarantine
    table written, each with a 10-day-old orphan; returns the project and its state home."""
    contract = mini_project / "domains/alpha/products/things/contract.yaml"
    contract.write_text(contract.read_text() + RETENTION)
    home = tmp_path / "home"
    platform = Platform(Settings(project=mini_project, home=home))
    location = platform.location(PortRef("alpha", "things", "things"))
    for where in (location, quarantine_location(location)):
        write_delta(spark, spark.createDataFrame([(1, "a")], SCHEMA), where, "overwrite", [])
        write_delta(spark, spark.createDataFrame([(2, "b")], SCHEMA), where, "overwrite", [])
        _age(Path(where) / "_delta_log" / f"{0:020d}.json", 60)
        _orphan(Path(where), "never-committed", days=10)
    return mini_project, home


def test_vacuum_products_covers_ports_and_quarantine_tables_with_their_retention(
    project: tuple[Path, Path], spark
) -> None:
    root, home = project
    platform = Platform(Settings(project=root, home=home))
    seen = []

    results = vacuum_products(platform, ["alpha.things"], progress=seen.append)

    assert [result.table for result in results] == [
        "alpha.things.things",
        "alpha.things.things quarantine",
    ]
    assert seen == results
    port, quarantine = results
    assert port.retention == timedelta(days=7 * 365)
    # A quarantine table keeps rows for the retention (vacuum deletes older ones), not versions:
    # its old files go after Delta's window.
    assert quarantine.rows_retention == timedelta(days=7 * 365)
    assert quarantine.retention == timedelta(days=7)
    for result in results:
        assert _names(result) == {"part-00000-never-committed-c000.snappy.parquet"}
        assert result.bytes > 0 and not result.dry_run
        # Version 0 stays readable for the retention.
        assert DeltaTable(result.location, version=0).to_pyarrow_table().num_rows == 1
    assert vacuum_products(platform, ["alpha.summary"]) == []  # not written yet


def test_the_vacuum_command_prints_files_and_bytes_per_table(project: tuple[Path, Path]) -> None:
    root, home = project
    executable = Path(sys.executable).with_name("meshlake")
    env = {
        **os.environ,
        "MESHLAKE_PROJECT": str(root),
        "MESHLAKE_HOME": str(home),
        "MESHLAKE_SPARK_MASTER": "local[1]",
        "COLUMNS": "200",
    }

    run = subprocess.run(
        [str(executable), "vacuum", "alpha.things", "--dry-run"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )

    assert run.returncode == 0, run.stderr
    assert "vacuum (dry run)" in run.stdout
    assert "alpha.things.things quarantine" in run.stdout
    assert "would remove 2 files" in run.stdout
    assert "part-00000-never-committed-c000.snappy.parquet" in run.stdout
    orphans = list(home.rglob("part-00000-never-committed-c000.snappy.parquet"))
    assert len(orphans) == 2  # a dry run removes nothing
