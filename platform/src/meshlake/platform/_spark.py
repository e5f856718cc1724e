"""Spark sessions for the computes landing zones declare, with Delta configured.

A zone's compute is local Spark (``local[*]``), a standalone cluster (``spark://host:port``) or a
Spark Connect server (``sc://host:port``). Starting Spark costs seconds and half a gigabyte, so a
process keeps its sessions and shares them between the products it materializes.

- Classic sessions (local and standalone) drive a SparkContext, and a JVM holds one: asking for
  another master stops the running session first. Products of one zone run together (one Dagster
  run per zone), so a switch happens once per zone, not per product. Every local compute shares
  the one local session (``local[2]`` and ``local[*]`` differ in threads, not in results).
- Spark Connect sessions are clients of a server: one per URL, beside the classic one. pyspark
  routes ``pyspark.sql.functions`` by a process-wide switch (``SPARK_CONNECT_MODE_ENABLED``), so the
  switch follows the session last asked for: a transform builds columns for the session it runs on.

The Delta jars are resolved by Spark's own resolver when the JVM starts and cached; a standalone
cluster's executors fetch them from the driver (``spark.jars``, set from ``spark.jars.packages``).
Where the resolver cannot reach the artifact, the local Maven repository (which it reads first) is
filled with ``mvn dependency:get`` and Spark retries. A Spark Connect server brings its own jars:
it must be started with the Delta package and extension (README, "Compute per zone").
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any, cast

from pyspark.sql import SparkSession

from meshlake.platform._errors import ConfigurationError
from meshlake.platform._settings import Settings
from meshlake.platform._storage import spark_storage_conf

log = logging.getLogger(__name__)

LOCAL = "local[*]"
DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
_CONNECT_MODE = "SPARK_CONNECT_MODE_ENABLED"
CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a Spark Connect server to accept a connection."""

_lock = threading.Lock()
_session: SparkSession | None = None
_remote: dict[str, Any] = {}  # pyspark.sql.connect.session.SparkSession by URL
_connect_mode_set = False


def delta_artifact() -> str:
    """The Maven coordinate of the Delta jar matching the installed pyspark and delta-spark."""
    spark_minor = ".".join(version("pyspark").split(".")[:2])
    return f"io.delta:delta-spark_{spark_minor}_2.13:{version('delta-spark')}"


def compute_of(settings: Settings, master: str | None = None) -> str:
    """The compute a session for ``master`` runs on: MESHLAKE_SPARK_MASTER overrides every zone."""
    return settings.spark_master or master or LOCAL


def is_connect_url(compute: str) -> bool:
    return compute.startswith("sc://")


def is_connect(spark: SparkSession) -> bool:
    """Whether ``spark`` is a Spark Connect client: no JVM in this process, DataFrame API only."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def spark_session(settings: Settings, master: str | None = None) -> SparkSession:
    """A session on ``master`` (a zone's compute; MESHLAKE_SPARK_MASTER wins), started on first
    need. A classic session on another master is stopped first (see the module)."""
    chosen = compute_of(settings, master)
    with _lock:
        if is_connect_url(chosen):
            return _connect(settings, chosen)
        return _classic(settings, chosen)


def stop_spark() -> None:
    """Stop the process's sessions (tests and the CLI call this on exit)."""
    global _session
    with _lock:
        if _session is not None:
            _session.stop()
            _session = None
        for url, remote in list(_remote.items()):
            try:
                remote.stop()
            except Exception:  # the server may be gone already; the client is closed either way
                log.debug("closing the Spark Connect session of %s failed", url, exc_info=True)
        _remote.clear()
        _connect_mode(False)


def _classic(settings: Settings, master: str) -> SparkSession:
    global _session
    _connect_mode(False)
    if _session is not None and _session.sparkContext._jsc is not None:
        running = str(_session.sparkContext.master)
        if running == master or (_is_local(running) and _is_local(master)):
            return _session
        log.info("stopping Spark on %s to start it on %s", running, master)
        _session.stop()
        _session = None
    try:
        _session = _start(settings, master)
    except Exception as first:
        if not _fill_local_maven_repository():
            raise ConfigurationError(
                f"Spark could not start on {master} with Delta ({delta_artifact()}): "
                f"{_first_line(first)}. Check that Java 17+ is installed, that Maven Central is "
                f"reachable and, for a cluster, that its master answers at {master}; Spark's own "
                f"output is in {settings.state_home() / 'logs' / 'spark.log'}."
            ) from first
        _session = _start(settings, master)
    return _session


def _is_local(master: str) -> bool:
    return master == "local" or master.startswith("local[")


def _connect(settings: Settings, url: str) -> SparkSession:
    """The Spark Connect session of ``url``, checked to reach a server that has Delta."""
    from pyspark.sql.connect.session import SparkSession as RemoteSession

    session = _remote.get(url)
    if session is not None and not session.is_stopped:
        _connect_mode(True)
        return cast(SparkSession, session)
    _check_reachable(url)
    # The same DataFrame API as a classic session, typed as one (pyspark does the same).
    session = RemoteSession.builder.remote(url).create()
    try:
        extensions = session.conf.get("spark.sql.extensions", "") or ""
        for key, value in _session_conf(settings).items():
            session.conf.set(key, value)
    except Exception as exc:
        session.stop()
        raise ConfigurationError(
            f"no Spark Connect server answers at {url} ({_first_line(exc)}): start one there "
            "(spark-submit --class org.apache.spark.sql.connect.service.SparkConnectServer with "
            f"--packages {delta_artifact()}; README, Compute per zone) or fix the zone's compute"
        ) from exc
    if DELTA_EXTENSION not in extensions:
        session.stop()
        raise ConfigurationError(
            f"the Spark Connect server at {url} has no Delta: start it with --packages "
            f"{delta_artifact()} --conf spark.sql.extensions={DELTA_EXTENSION} --conf "
            f"spark.sql.catalog.spark_catalog={DELTA_CATALOG} (README, Compute per zone)"
        )
    _remote[url] = session
    _connect_mode(True)
    return cast(SparkSession, session)


def _check_reachable(url: str) -> None:
    """Fail fast on a server that is not there: the Connect client retries for minutes."""
    address = url.removeprefix("sc://").split("/", 1)[0].split(";", 1)[0]
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT):
            return
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"no Spark Connect server answers at {url} ({exc}): start one there (spark-submit "
            "--class org.apache.spark.sql.connect.service.SparkConnectServer with --packages "
            f"{delta_artifact()}; README, Compute per zone) or fix the zone's compute"
        ) from exc


def _connect_mode(on: bool) -> None:
    """Point pyspark's function routing at Connect (on) or at the classic JVM session (off).

    Only a switch this module turned on is turned off: a process started in Connect mode (the
    ``SPARK_REMOTE`` environment of pyspark) stays so."""
    global _connect_mode_set
    if on and _CONNECT_MODE not in os.environ:
        os.environ[_CONNECT_MODE] = "1"
        _connect_mode_set = True
    elif not on and _connect_mode_set:
        os.environ.pop(_CONNECT_MODE, None)
        _connect_mode_set = False


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _session_conf(settings: Settings) -> dict[str, str]:
    """SQL settings every session gets, classic or Connect (a Connect server takes only these:
    its static settings are the server's own)."""
    partitions = str(settings.spark_shuffle_partitions)
    return {
        "spark.sql.shuffle.partitions": partitions,
        "spark.sql.session.timeZone": "UTC",
        # Delta rebuilds table state with 50 partitions by default: far too many for one machine.
        "spark.databricks.delta.snapshotPartitions": partitions,
        # Delta's vacuum lists a table's folders in this many tasks (Spark's default: 10,000),
        # which made one vacuum of a one-file table take half a minute here.
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": partitions,
        # Keep new tables at Delta's default protocol so delta-rs and DuckDB read them.
        "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
    }


def _extra_conf(settings: Settings) -> dict[str, str]:
    """Further Spark settings of a classic session, by concern (storage credentials and the
    like): one call per concern here, each returning its settings."""
    # Object-store connectors (s3a ...) only when a zone's storage root needs one; they extend
    # spark.jars.packages, so they come after the Delta package.
    return spark_storage_conf(settings, delta_artifact())


def _start(settings: Settings, master: str) -> SparkSession:
    home = settings.state_home()
    conf = {
        "spark.jars.packages": delta_artifact(),
        "spark.sql.extensions": DELTA_EXTENSION,
        "spark.sql.catalog.spark_catalog": DELTA_CATALOG,
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.warehouse.dir": str(home / "spark-warehouse"),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={home / 'derby'}",
        # The quality checks persist a port's rows for one materialization when its quarantine
        # rules reject some (the rows then go to two tables). Compressing that cache cost as much
        # again as computing the rows (measured with benchmarks/quality_budget.py); memory is the
        # cheaper resource for so short a life.
        "spark.sql.inMemoryColumnarStorage.compressed": "false",
        **_session_conf(settings),
        **_extra_conf(settings),
    }
    builder = SparkSession.builder.master(master).appName("meshlake")
    for key, value in conf.items():
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
