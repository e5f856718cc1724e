"""Remove the files that no version of a port's Delta table needs: ``meshlake vacuum``.

Two kinds of file are removed, from each output port's table and its quarantine table
(``<product>/_quarantine/<port>``):

- files of old versions: every version stays readable (time travel) for the contract's
  ``retention`` SLA (``slaProperties``), counted from when a later version removed the file.
  Without one, the table's own ``delta.deletedFileRetentionDuration`` (Delta's default: 7 days)
  applies, as in Delta's ``VACUUM``.
- files that no version ever referenced: written by a stage that was never committed (a run
  killed between its write and its commit). No reader can ever see them, so a long retention
  does not keep them: they go once older than Delta's safety window (the table's
  ``delta.deletedFileRetentionDuration``), the time a writer may take between writing its files
  and committing them. "Never referenced" is read from the log: written after the oldest commit
  still in the log, and named by no commit in it.

A contract whose retention is shorter than Delta's safety window says so on purpose: its
retention then applies to both kinds (Delta's own safety check is set aside for it), but never
below ``MIN_RETENTION``, an hour, which no staged write here takes.

Delta chooses the candidates (``VACUUM ... DRY RUN`` with the safety window: its own rules for
what is data and what the current version and recent removals hold); meshlake keeps those the
retention still needs, read from the log, and deletes the rest through Hadoop's FileSystem API.
One ``RETAIN`` cannot say both rules, and delta-spark 4.4 ignores any ``RETAIN`` but 0 unless
``vacuum.retentionWindowIgnore.enabled`` is off (set, with the safety check, on a session of the
vacuum's own). Nor does meshlake use Delta's deleting vacuum: it adds two commits (``VACUUM
START``/``END``), versions that no run made, which freshness checks would take for a publication.

A quarantine table keeps its rows, not its versions: rows quarantined longer ago than the port
contract's ``retention`` SLA (else ``MESHLAKE_QUARANTINE_RETENTION_DAYS``) are deleted first, in one
Delta commit, and the files that held them go once Delta's safety window has passed (no time travel
is promised on a quarantine table, so it does not keep them for the retention again).

A version whose log entry Delta's log cleanup removed (``delta.logRetentionDuration``, 30 days by
default) cannot be read whatever vacuum keeps: a retention SLA longer than that needs the table
property too.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pyspark.sql import SparkSession

from meshlake.platform._delta import delete_files, delta_log, isolated_session
from meshlake.platform.specs._sla import sla_duration

if TYPE_CHECKING:
    from meshlake.platform._platform import Platform
    from meshlake.platform.specs import ProductSpec

MIN_RETENTION = timedelta(hours=1)
_COMMIT_FILE = re.compile(r"^(\d{20})\.json$")
_VACUUM_CONFS = {
    # meshlake applies its own floor (MIN_RETENTION) and the contract's say.
    "spark.databricks.delta.retentionDurationCheck.enabled": "false",
    # Else Delta 4.4 replaces a RETAIN other than 0 with the table's deletedFileRetentionDuration.
    "spark.databricks.delta.vacuum.retentionWindowIgnore.enabled": "false",
}


@dataclass(frozen=True)
class VacuumResult:
    """What vacuum removed (or, in a dry run, would remove) from one Delta table."""

    table: str
    location: str
    retention: timedelta
    """How long files of old versions are kept."""
    files: tuple[str, ...]
    bytes: int
    dry_run: bool
    rows_retention: timedelta | None = None
    """How long a quarantine table keeps its rows (None: an output port, whose rows stay)."""
    rows: int = 0
    """Quarantined rows deleted (in a dry run, to delete) for being older than that."""


def vacuum_products(
    platform: Platform,
    products: Iterable[str] | None = None,
    dry_run: bool = False,
    progress: Callable[[VacuumResult], None] | None = None,
) -> list[VacuumResult]:
    """Vacuum the output ports (and quarantine tables) of ``products`` (all by default), each
    with its contract's retention; tables not written yet are left out."""
    from meshlake.platform.quality._quarantine_table import (
        quarantine_location,
        quarantine_retention,
    )

    default_days = platform.settings.quarantine_retention_days
    results: list[VacuumResult] = []
    for product in platform.plan(products):
        spark = _classic_session(platform, product)
        for port in product.ports.values():
            location = platform.location(port.ref)
            retention = sla_duration(port.contract, "retention")
            found = [vacuum_table(spark, location, retention, dry_run, str(port.ref))]
            keep_rows = quarantine_retention(port.contract, default_days)
            found.append(
                vacuum_quarantine(
                    spark,
                    quarantine_location(location),
                    keep_rows,
                    dry_run,
                    f"{port.ref} quarantine",
                )
            )
            for result in found:
                if result is None:
                    continue
                results.append(result)
                if progress is not None:
                    progress(result)
    return results


def vacuum_quarantine(
    spark: SparkSession,
    location: str,
    keep_rows: timedelta,
    dry_run: bool = False,
    table: str | None = None,
) -> VacuumResult | None:
    """Delete the quarantined rows older than ``keep_rows`` (one Delta commit, none when no row
    is that old), then the files no version needs; None when there is no quarantine table."""
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    from meshlake.platform.quality._quarantine_table import QUARANTINED_AT

    if not DeltaTable.isDeltaTable(spark, location):
        return None
    frame = spark.read.format("delta").load(location)
    expired = 0
    if QUARANTINED_AT in frame.columns:
        cutoff = datetime.now(UTC) - keep_rows
        old = F.col(QUARANTINED_AT) < F.lit(cutoff)
        expired = frame.filter(old).count()
        if expired and not dry_run:
            DeltaTable.forPath(spark, location).delete(old)
    result = vacuum_table(spark, location, None, dry_run, table)
    if result is None:
        return None
    return dataclasses.replace(result, rows_retention=keep_rows, rows=expired)


def _classic_session(platform: Platform, product: ProductSpec) -> SparkSession:
    """The session of ``product``'s zone; vacuum lists and deletes files through Spark's JVM,
    which a Spark Connect client does not have."""
    from meshlake.platform._errors import ConfigurationError
    from meshlake.platform._spark import is_connect

    spark = platform.spark(product)
    if is_connect(spark):
        raise ConfigurationError(
            f"{product.ref}: meshlake vacuum cannot run on Spark Connect (zone {product.zone.name} "
            f"computes on {platform.compute(product)}): run it with MESHLAKE_SPARK_MASTER=local[*] "
            "(or the cluster's spark:// URL) where the zone's storage is reachable"
        )
    return spark


def vacuum_table(
    spark: SparkSession,
    location: str,
    retention: timedelta | None = None,
    dry_run: bool = False,
    table: str | None = None,
) -> VacuumResult | None:
    """Remove the files of the Delta table at ``location`` that no version needs (see the
    module); None when there is no Delta table there."""
    jvm = spark._jvm
    assert jvm is not None
    deltas = delta_log(spark, location)
    none = jvm.scala.Option.empty()
    snapshot = deltas.update(False, none, none)
    if snapshot.version() < 0:
        return None
    configs = jvm.org.apache.spark.sql.delta.DeltaConfigs
    window = timedelta(
        milliseconds=int(
            configs.getMilliSeconds(configs.TOMBSTONE_RETENTION().fromMetaData(snapshot.metadata()))
        )
    )
    keep = max(retention if retention is not None else window, MIN_RETENTION)
    safety = max(min(keep, window), MIN_RETENTION)
    now = int(jvm.java.lang.System.currentTimeMillis())
    session = isolated_session(spark, _VACUUM_CONFS)
    candidates = _dry_run(session, location, safety)
    history = _History.read(spark, deltas) if candidates else None
    chosen = []
    for path, (_, modified) in _statuses(spark, candidates).items():
        assert history is not None
        if history.removable(_relative(spark, deltas, path), modified, now - _millis(keep)):
            chosen.append(path)
    files = tuple(sorted(chosen))
    if dry_run:
        size = sum(_sizes(spark, files).values())
    else:
        _, size = delete_files(spark, files)
    return VacuumResult(table or location, location, keep, files, size, dry_run)


def _dry_run(session: SparkSession, location: str, retention: timedelta) -> set[str]:
    """The files Delta's vacuum would delete with ``retention``."""
    hours = math.ceil(retention / timedelta(hours=1))
    quoted = location.replace("`", "``")
    rows = session.sql(f"VACUUM delta.`{quoted}` FULL RETAIN {hours} HOURS DRY RUN").collect()
    return {str(row["path"]) for row in rows}


@dataclass(frozen=True)
class _History:
    """What the commits still in the log say about the table's files."""

    removed: dict[str, int]
    """Each file a commit removed (path relative to the table): when, latest removal first."""
    added: frozenset[str]
    oldest_commit: int
    """When the oldest commit still in the log was written (its log file's time)."""

    @classmethod
    def read(cls, spark: SparkSession, deltas: Any) -> _History:
        jvm = spark._jvm
        assert jvm is not None
        log_path = deltas.logPath()
        fs = log_path.getFileSystem(deltas.newDeltaHadoopConf())
        written = {
            int(match.group(1)): int(status.getModificationTime())
            for status in fs.listStatus(log_path)
            if (match := _COMMIT_FILE.match(str(status.getPath().getName())))
        }
        removed: dict[str, int] = {}
        added: set[str] = set()
        changes = deltas.getChanges(min(written), jvm.scala.Option.empty(), False)
        while changes.hasNext():
            change = changes.next()
            version, actions = int(change._1()), change._2()
            for index in range(actions.size()):
                action = actions.apply(index)
                kind = action.getClass().getSimpleName()
                if kind not in ("AddFile", "RemoveFile"):
                    continue
                path = str(jvm.java.net.URI(action.path()).getPath())
                if kind == "AddFile":
                    added.add(path)
                    continue
                stamp = action.deletionTimestamp()
                when = int(stamp.get()) if stamp.isDefined() else written.get(version, 0)
                removed[path] = max(removed.get(path, 0), when)
        return cls(removed, frozenset(added), min(written.values()))

    def removable(self, path: str, modified: int, before: int) -> bool:
        """Whether a file Delta's safety window lets go may go under a retention that keeps
        every version newer than ``before`` (a time): a file a version held goes once its
        removal is older than that; a file no commit in the log names goes if it was written
        after the oldest commit (so no version ever held it), else once it is older than that."""
        if path in self.removed:
            return self.removed[path] < before
        if path in self.added:  # still in the table: Delta would not offer it
            return False
        return modified > self.oldest_commit or modified < before


def _relative(spark: SparkSession, deltas: Any, path: str) -> str:
    jvm = spark._jvm
    assert jvm is not None
    root = str(deltas.dataPath().toUri().getPath()).rstrip("/") + "/"
    return str(jvm.org.apache.hadoop.fs.Path(path).toUri().getPath()).removeprefix(root)


def _millis(duration: timedelta) -> int:
    return int(duration / timedelta(milliseconds=1))


def _sizes(spark: SparkSession, paths: Iterable[str]) -> dict[str, int]:
    return {path: size for path, (size, _) in _statuses(spark, paths).items()}


def _statuses(spark: SparkSession, paths: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Size and modification time of each of ``paths`` that exists."""
    jvm = spark._jvm
    assert jvm is not None
    conf = spark._jsc.hadoopConfiguration()
    found = {}
    for text in paths:
        path = jvm.org.apache.hadoop.fs.Path(text)
        try:
            status = path.getFileSystem(conf).getFileStatus(path)
        except Exception:  # FileNotFoundException: gone meanwhile
            continue
        found[text] = (int(status.getLen()), int(status.getModificationTime()))
    return found
