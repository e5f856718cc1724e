"""The one Spark session of a process, with Delta configured.

Starting Spark costs seconds and half a gigabyte, so a process gets one session, shared by every
product it materializes (and, later, every Dagster asset in a run). The Delta jars are resolved by
Spark's own resolver on first use and cached; where that resolver cannot reach the artifact, the
local Maven repository (which it reads first) is filled with ``mvn dependency:get`` and Spark retries.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

from pyspark.sql import SparkSession

from meshlake.platform._errors import ConfigurationError
from meshlake.platform._settings import Settings
from meshlake.platform._storage import spark_storage_conf

log = logging.getLogger(__name__)

_lock = threading.Lock()
_session: SparkSession | None = None


def delta_artifact() -> str:
    """The Maven coordinate of the Delta jar matching the installed pyspark and delta-spark."""
    spark_minor = ".".join(version("pyspark").split(".")[:2])
    return f"io.delta:delta-spark_{spark_minor}_2.13:{version('delta-spark')}"


def spark_session(settings: Settings, master: str | None = None) -> SparkSession:
    """The process's Spark session, started on first call (``master`` only matters then)."""
    global _session
    with _lock:
        if _session is not None and _session.sparkContext._jsc is not None:
            return _session
        chosen = settings.spark_master or master or "local[*]"
        try:
            _session = _start(settings, chosen)
        except Exception as first:
            if not _fill_local_maven_repository():
                raise ConfigurationError(
                    f"Spark could not start with Delta ({delta_artifact()}): {first}. "
                    "Check that Java 17+ is installed and that Maven Central is reachable; "
                    f"Spark's own output is in {settings.state_home() / 'logs' / 'spark.log'}."
                ) from first
            _session = _start(settings, chosen)
        return _session


def stop_spark() -> None:
    """Stop the process's session (tests and the CLI call this on exit)."""
    global _session
    with _lock:
        if _session is not None:
            _session.stop()
            _session = None


def _start(settings: Settings, master: str) -> SparkSession:
    home = settings.state_home()
    builder = (
        SparkSession.builder.master(master)
        .appName("meshlake")
        .config("spark.jars.packages", delta_artifact())
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config(
            "spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog"
        )
        .config("spark.driver.memory", settings.spark_driver_memory)
        .config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", str(home / "spark-warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={home / 'derby'}")
        # Delta rebuilds table state with 50 partitions by default: far too many for one machine.
        .config("spark.databricks.delta.snapshotPartitions", str(settings.spark_shuffle_partitions))
        # Delta's vacuum lists a table's folders in this many tasks (Spark's default: 10,000),
        # which made one vacuum of a one-file table take half a minute here.
        .config(
            "spark.sql.sources.parallelPartitionDiscovery.parallelism",
            str(settings.spark_shuffle_partitions),
        )
        # Keep new tables at Delta's default protocol so delta-rs and DuckDB read them.
        .config("spark.databricks.delta.properties.defaults.enableDeletionVectors", "false")
        # The quality checks persist a port's rows for one materialization when its quarantine
        # rules reject some (the rows then go to two tables). Compressing that cache cost as much again as computing the rows (measured with
        # benchmarks/quality_budget.py); memory is the cheaper resource for so short a life.
        .config("spark.sql.inMemoryColumnarStorage.compressed", "false")
    )
    # Object-store connectors (s3a ...) only when a zone's storage root needs one.
    for key, value in spark_storage_conf(settings, delta_artifact()).items():
        builder = builder.config(key, value)
    with _jvm_output_to(home / "logs" / "spark.log"):
        session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


@contextmanager
def _jvm_output_to(log_file: Path) -> Iterator[None]:
    """Send the JVM's own output (jar resolution, log4j) to a log file instead of the terminal.

    The JVM inherits the process's stderr when it is launched, so stderr is pointed at the log file
    for the launch only; Python's own stderr is restored right after.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    with log_file.open("ab") as handle:
        os.dup2(handle.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _fill_local_maven_repository() -> bool:
    """Fetch the Delta jar into ~/.m2 with Maven, which Spark's resolver reads first."""
    mvn = shutil.which("mvn")
    if mvn is None:
        return False
    log.warning("Spark could not resolve %s; fetching it with mvn", delta_artifact())
    result = subprocess.run(
        [mvn, "-q", "dependency:get", f"-Dartifact={delta_artifact()}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode == 0
