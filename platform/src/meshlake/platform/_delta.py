"""Publish a conformed DataFrame to its Delta table in exactly one commit, at most once per run.

Overwrite (the default) replaces the table's content and schema; append adds rows; merge upserts on
the contract's primary key. Each is a single Delta transaction: if the job dies before the commit,
readers still see the previous version.

Every commit carries the run: its ``userMetadata`` is a JSON object holding ``meshlake.run_id``
(beside the drift profile, when there is one), and it sets Delta's transaction identifier
(``txn``: appId = run id, version 0). A second write of the same run to the same table is
therefore skipped by Delta itself, and reported as ``Commit.skipped`` with the version of the
run's first commit: a retried run never appends its rows twice.

The version reported is the one this writer committed, from its own transaction (or, for a merge,
found in the log by its run id), never the table's latest, which may be another writer's. A commit
that conflicts with another writer's is retried a bounded number of times where that is safe
(``_staged`` says when); otherwise it fails with a ``ConcurrentWriteError`` naming the table and
the other writer's version.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from delta.exceptions.base import (
    ConcurrentAppendException,
    ConcurrentDeleteDeleteException,
    ConcurrentDeleteReadException,
    ConcurrentTransactionException,
    ConcurrentWriteException,
    DeltaConcurrentModificationException,
    MetadataChangedException,
    ProtocolChangedException,
)
from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession

from meshlake.platform._commit_info import RUN_ID_KEY as RUN_ID_KEY
from meshlake.platform._commit_info import commit_metadata as commit_metadata
from meshlake.platform._commit_info import run_id_of as run_id_of
from meshlake.platform._errors import MeshlakeError
from meshlake.platform._spark import is_connect

log = logging.getLogger(__name__)

DEFAULT_RETRIES = 3
"""How many times a conflicting commit is tried again (after the first attempt)."""
BACKOFF_SECONDS = 0.2

_CONFLICTS = (
    DeltaConcurrentModificationException,
    ConcurrentWriteException,
    MetadataChangedException,
    ProtocolChangedException,
    ConcurrentAppendException,
    ConcurrentDeleteReadException,
    ConcurrentDeleteDeleteException,
    ConcurrentTransactionException,
)
# Session confs a merge reads (it has no writer options); set only on a session of its own.
_USER_METADATA_CONF = "spark.databricks.delta.commitInfo.userMetadata"
_TXN_APP_ID_CONF = "spark.databricks.delta.write.txnAppId"
_TXN_VERSION_CONF = "spark.databricks.delta.write.txnVersion"


@dataclass(frozen=True)
class Commit:
    """The Delta version this write committed and how many rows the table holds at it.

    ``skipped``: this run had already committed to the table, so nothing was added; ``version``
    and ``rows`` are then those of the run's earlier commit."""

    version: int
    rows: int
    operation: str
    skipped: bool = False


@dataclass(frozen=True)
class CommitInfo:
    """What Delta recorded about one commit: the fields meshlake reads back."""

    version: int
    operation: str
    parameters: dict[str, str]
    metrics: dict[str, str]
    user_metadata: str | None

    @property
    def run_id(self) -> str | None:
        """The meshlake run that made this commit (None for a commit meshlake did not make)."""
        return run_id_of(self.user_metadata)


class ConcurrentWriteError(MeshlakeError):
    """Another writer committed to the table and this write could not be committed after it."""

    def __init__(
        self, location: str, read_version: int, other_version: int | None, reason: str
    ) -> None:
        self.location = location
        self.read_version = read_version
        self.other_version = other_version
        other = "another writer" if other_version is None else f"version {other_version}"
        super().__init__(
            f"the Delta table {location} changed while this run wrote it ({other} committed by "
            f"another writer after this write read version {read_version}): {reason}"
        )


# Tables this process is writing now (a stage or a merge running, or files staged and not yet
# committed or deleted). Files a failed stage finds in the folder may be another of these writers'
# uncommitted files: then the failed stage leaves its own to vacuum rather than risk theirs.
_writing: Counter[str] = Counter()
_writing_lock = threading.Lock()


def table_key(spark: SparkSession, location: str) -> str:
    """One name per table, however its location is spelt (a path, a ``file:`` URI)."""
    return str(delta_log(spark, location).dataPath().toString()).rstrip("/")


def enter_writing(key: str) -> str:
    with _writing_lock:
        _writing[key] += 1
    return key


def leave_writing(key: str) -> None:
    with _writing_lock:
        _writing[key] -= 1
        if _writing[key] <= 0:
            del _writing[key]


def others_writing(key: str) -> bool:
    """Whether a writer other than the caller (itself registered) writes the table now."""
    with _writing_lock:
        return _writing[key] > 1


def new_run_id() -> str:
    return str(uuid.uuid4())


def write_delta(
    spark: SparkSession,
    frame: DataFrame,
    location: str,
    mode: str,
    primary_key: list[str],
    user_metadata: str | None = None,
    *,
    run_id: str | None = None,
    retries: int = DEFAULT_RETRIES,
) -> Commit:
    """Commit ``frame`` for run ``run_id`` (a fresh id when None: no retry can then be recognised).

    Overwrite and append are staged and committed (``_staged``), so a conflicting commit is tried
    again with the same files; a merge is run again (it reads the table anew)."""
    run_id = run_id or new_run_id()
    commit_metadata(run_id, user_metadata)  # refuses metadata that is no JSON object, up front
    earlier = committed_by_run(spark, location, run_id)
    if earlier is not None:
        return earlier
    if is_connect(spark):
        return _connect_write(spark, frame, location, mode, run_id, user_metadata)
    if mode == "merge" and DeltaTable.isDeltaTable(spark, location):
        if not primary_key:
            raise ValueError("writeMode merge needs primaryKey columns in the contract")
        return _merge(spark, frame, location, primary_key, run_id, user_metadata, retries)
    # _staged builds on this module; the import is here to keep the dependency one way.
    from meshlake.platform._staged import stage

    staged = stage(spark, frame, location, mode)
    if staged is None:  # a table with column mapping: Delta's writer, with the same identifiers
        return _write(spark, frame, location, mode, run_id, user_metadata)
    try:
        return staged.commit(user_metadata, run_id=run_id, retries=retries)
    finally:
        staged.abort()  # nothing to do after a commit; removes the files if it did not happen


def _connect_write(
    spark: SparkSession,
    frame: DataFrame,
    location: str,
    mode: str,
    run_id: str,
    user_metadata: str | None,
) -> Commit:
    """A write on Spark Connect (``_delta_connect``): a merge port's first version is an
    overwrite, as on a classic session."""
    from meshlake.platform import _delta_connect

    if mode == "merge" and not _delta_connect.is_delta_table(spark, location):
        mode = "overwrite"
    read_version = _delta_connect.write(spark, frame, location, mode, user_metadata, run_id)
    return _run_commit(spark, location, run_id, read_version)


def is_delta_table(spark: SparkSession, location: str) -> bool:
    """Whether a Delta table is at ``location``, on a classic or a Spark Connect session."""
    if is_connect(spark):
        from meshlake.platform._delta_connect import is_delta_table as remote_is_delta_table

        return remote_is_delta_table(spark, location)
    return bool(DeltaTable.isDeltaTable(spark, location))


def _write(
    spark: SparkSession,
    frame: DataFrame,
    location: str,
    mode: str,
    run_id: str,
    user_metadata: str | None,
) -> Commit:
    read_version = _snapshot(spark, location).version()
    earlier = committed_by_run(spark, location, run_id)
    if earlier is not None:
        return earlier
    writer = (
        frame.write.format("delta")
        .option("userMetadata", commit_metadata(run_id, user_metadata))
        .option("txnAppId", run_id)
        .option("txnVersion", 0)
    )
    if mode == "append":
        writer.mode("append").save(location)
    else:
        # The contract is the truth: a new contract version may change the table's schema.
        writer.mode("overwrite").option("overwriteSchema", "true").save(location)
    return _run_commit(spark, location, run_id, read_version)


def _merge(
    spark: SparkSession,
    frame: DataFrame,
    location: str,
    primary_key: list[str],
    run_id: str,
    user_metadata: str | None,
    retries: int,
) -> Commit:
    """Upsert ``frame`` on ``primary_key``; a conflicting merge is run again (it reads the table
    anew, and the run's transaction identifier makes a merge that did land a no-op)."""
    condition = " AND ".join(f"target.`{key}` <=> source.`{key}`" for key in primary_key)
    confs = {
        _USER_METADATA_CONF: commit_metadata(run_id, user_metadata),
        _TXN_APP_ID_CONF: run_id,
        _TXN_VERSION_CONF: "0",
    }
    for attempt in range(retries + 1):
        read_version = _snapshot(spark, location).version()
        earlier = committed_by_run(spark, location, run_id)
        if earlier is not None:
            return earlier
        session = isolated_session(spark, confs)
        key = enter_writing(table_key(spark, location))
        try:
            (
                DeltaTable.forPath(session, location)
                .alias("target")
                .merge(in_session(frame, session).alias("source"), condition)
                .whenMatchedUpdateAll()
                .whenNotMatchedInsertAll()
                .execute()
            )
        except Exception as exc:
            if not is_conflict(exc):
                raise
            if attempt == retries:
                raise conflict_error(
                    spark, location, read_version, f"gave up after {retries + 1} attempts"
                ) from exc
            log.info("merge into %s conflicted (attempt %d), running it again", location, attempt)
            backoff(attempt)
            continue
        finally:
            leave_writing(key)
        return _run_commit(spark, location, run_id, read_version)
    raise AssertionError("unreachable")  # pragma: no cover


def isolated_session(spark: SparkSession, confs: dict[str, str]) -> SparkSession:
    """A clone of ``spark`` (same configuration, temporary views and cached data) with ``confs``
    set on it alone: Delta's merge takes its ``userMetadata`` and transaction identifier from the
    session's configuration, which would otherwise leak to every write of the shared session."""
    cloned = spark._jsparkSession.cloneSession()
    session = SparkSession(spark.sparkContext, cloned)
    for key, value in confs.items():
        session.conf.set(key, value)
    return session


def in_session(frame: DataFrame, session: SparkSession) -> DataFrame:
    """``frame``'s (analysed) plan as a DataFrame of ``session``."""
    jvm = session._jvm
    assert jvm is not None
    plan = frame._jdf.queryExecution().analyzed()
    return DataFrame(
        jvm.org.apache.spark.sql.classic.Dataset.ofRows(session._jsparkSession, plan), session
    )


def is_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` is Delta's refusal of a commit because another writer committed first."""
    return isinstance(exc, _CONFLICTS)


def backoff(attempt: int) -> None:
    time.sleep(BACKOFF_SECONDS * (2**attempt) * (0.5 + random.random()))


def conflict_error(
    spark: SparkSession, location: str, read_version: int, reason: str
) -> ConcurrentWriteError:
    """The error for a commit another writer beat, naming that writer's latest version."""
    try:
        latest = int(_snapshot(spark, location).version())
    except Exception:  # the error must not hide the conflict
        latest = -1
    other = latest if latest > read_version else None
    return ConcurrentWriteError(location, read_version, other, reason)


def committed_by_run(spark: SparkSession, location: str, run_id: str) -> Commit | None:
    """The commit ``run_id`` already made to the table (skipped), when its transaction identifier
    is there; None when the run has not committed to it. Cheap: no Spark job once the table's
    state is known, so a retried run can skip its write before running it."""
    if is_connect(spark):
        from meshlake.platform._delta_connect import run_committed

        if not run_committed(spark, location, run_id):
            return None
        return earlier_commit(spark, location, run_id)
    transaction = delta_log(spark, location).startTransaction()
    if transaction.readVersion() < 0 or transaction.txnVersion(run_id) < 0:
        return None
    return earlier_commit(spark, location, run_id)


def earlier_commit(spark: SparkSession, location: str, run_id: str) -> Commit:
    """The commit ``run_id`` made to the table before, as a skipped ``Commit``."""
    info = find_run_commit(spark, location, run_id)
    if info is None:
        raise MeshlakeError(
            f"run {run_id} already committed to the Delta table {location} (its transaction "
            "identifier is in the table), but no commit in the log names it: the log entry was "
            "cleaned up; start a new run"
        )
    commit = _commit_of(spark, location, info)
    return Commit(commit.version, commit.rows, commit.operation, skipped=True)


def _run_commit(spark: SparkSession, location: str, run_id: str, read_version: int) -> Commit:
    info = find_run_commit(spark, location, run_id, newer_than=read_version)
    if info is None:
        # Delta skipped the write: the same run committed in between.
        return earlier_commit(spark, location, run_id)
    return _commit_of(spark, location, info)


def _commit_of(spark: SparkSession, location: str, info: CommitInfo) -> Commit:
    return Commit(
        version=info.version, rows=rows_at(spark, location, info), operation=info.operation
    )


def rows_at(spark: SparkSession, location: str, info: CommitInfo, known: int | None = None) -> int:
    """The table's rows at ``info``'s version: ``known`` or an overwrite's output rows when
    they say it, else a count at that version (never at the latest, maybe another writer's)."""
    overwrite = info.parameters.get("mode", "").lower() == "overwrite"
    if overwrite and known is not None:
        return known
    if overwrite and info.operation == "WRITE" and "numOutputRows" in info.metrics:
        return int(info.metrics["numOutputRows"])
    return count_at(spark, location, info.version)


def count_at(spark: SparkSession, location: str, version: int) -> int:
    return spark.read.format("delta").option("versionAsOf", version).load(location).count()


def find_run_commit(
    spark: SparkSession, location: str, run_id: str, newer_than: int = -1
) -> CommitInfo | None:
    """The newest commit after version ``newer_than`` whose ``userMetadata`` names ``run_id``."""
    for info in commit_infos(spark, location, newer_than):
        if info.run_id == run_id:
            return info
    return None


def commit_infos(spark: SparkSession, location: str, newer_than: int = -1) -> Iterable[CommitInfo]:
    """The commits after ``newer_than``, newest first, read one log file at a time (a run's own
    commit is among the last few, so the search stops early)."""
    if is_connect(spark):
        yield from _connect_commit_infos(spark, location, newer_than)
        return
    deltas = delta_log(spark, location)
    latest = int(_update(spark, deltas).version())
    for version in range(latest, max(newer_than, -1), -1):
        info = _commit_info(spark, deltas, version)
        if info is None:  # cleaned up by Delta's log retention: older ones are gone too
            return
        yield info


def latest_commit_info(spark: SparkSession, location: str) -> CommitInfo:
    """The latest commit of the Delta table at ``location``, read from its one log file.

    ``DeltaTable.history(1)`` gives the same through a Spark job (0.17 s against 0.05 s here),
    paid on every publication and again by every check that reads the previous version.
    """
    if is_connect(spark):
        for newest in _connect_commit_infos(spark, location):
            return newest
        raise ValueError(f"{location} is not a Delta table")
    deltas = delta_log(spark, location)
    version = int(_update(spark, deltas).version())
    if version < 0:
        raise ValueError(f"{location} is not a Delta table")
    info = _commit_info(spark, deltas, version)
    if info is None:
        raise ValueError(f"version {version} of {location} has no commit info")
    return info


def commit_info(spark: SparkSession, location: str, version: int) -> CommitInfo:
    """What Delta recorded about ``version`` of the table at ``location``."""
    if is_connect(spark):
        for found in _connect_commit_infos(spark, location, version - 1):
            if found.version == version:
                return found
        raise ValueError(f"version {version} of {location} has no commit info")
    info = _commit_info(spark, delta_log(spark, location), version)
    if info is None:
        raise ValueError(f"version {version} of {location} has no commit info")
    return info


def _connect_commit_infos(
    spark: SparkSession, location: str, newer_than: int = -1
) -> list[CommitInfo]:
    from meshlake.platform._delta_connect import commit_info_rows, is_delta_table

    if not is_delta_table(spark, location):
        return []
    return [
        CommitInfo(version, operation, parameters, metrics, user_metadata)
        for version, operation, parameters, metrics, user_metadata in commit_info_rows(
            spark, location, newer_than
        )
    ]


def _commit_info(spark: SparkSession, deltas: Any, version: int) -> CommitInfo | None:
    jvm = spark._jvm
    assert jvm is not None
    delta = jvm.org.apache.spark.sql.delta
    path = delta.util.FileNames.unsafeDeltaFile(deltas.logPath(), version)
    try:
        found = delta.DeltaHistoryManager.getCommitInfoOpt(
            deltas.store(), path, deltas.newDeltaHadoopConf()
        )
    except Exception:  # the log file is gone (log retention)
        return None
    if found.isEmpty():
        return None
    info = found.get()
    metrics = info.operationMetrics()
    user_metadata = info.userMetadata()
    return CommitInfo(
        version=int(version),
        operation=str(info.operation()),
        # The log keeps each parameter JSON-encoded ('"Overwrite"'); history() decodes them.
        parameters={
            key: _decoded(value) for key, value in _python_map(spark, info.operationParameters())
        },
        metrics=dict(_python_map(spark, metrics.get())) if metrics.isDefined() else {},
        user_metadata=str(user_metadata.get()) if user_metadata.isDefined() else None,
    )


def delta_log(spark: SparkSession, location: str) -> Any:
    """Delta's (cached) ``DeltaLog`` of the table at ``location``."""
    jvm = spark._jvm
    assert jvm is not None
    return jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, location)


def _snapshot(spark: SparkSession, location: str) -> Any:
    return _update(spark, delta_log(spark, location))


def _update(spark: SparkSession, deltas: Any) -> Any:
    jvm = spark._jvm
    assert jvm is not None
    none = jvm.scala.Option.empty()
    return deltas.update(False, none, none)


def delete_files(spark: SparkSession, paths: Iterable[str]) -> tuple[int, int]:
    """Delete ``paths`` through Hadoop's FileSystem API (``file:``, ``s3a:``, ``abfss:``... alike;
    on a local disk this also removes Hadoop's ``.crc`` checksum beside each file).

    Returns how many files were deleted and their bytes; a file already gone is not counted."""
    jvm = spark._jvm
    assert jvm is not None
    conf = spark._jsc.hadoopConfiguration()
    deleted = size = 0
    for text in paths:
        path = jvm.org.apache.hadoop.fs.Path(text)
        fs = path.getFileSystem(conf)
        try:
            length = int(fs.getFileStatus(path).getLen())
        except Exception:  # FileNotFoundException: already gone
            continue
        if fs.delete(path, False):
            deleted += 1
            size += length
    return deleted, size


def _python_map(spark: SparkSession, scala_map: Any) -> list[tuple[str, str]]:
    jvm = spark._jvm
    assert jvm is not None
    java_map = jvm.scala.jdk.javaapi.CollectionConverters.asJava(scala_map)
    return [(str(key), str(value)) for key, value in java_map.items()]


def _decoded(value: str) -> str:
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return decoded if isinstance(decoded, str) else value
