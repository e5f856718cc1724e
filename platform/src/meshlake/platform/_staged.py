"""Write a port's Delta files now and decide later whether to commit them.

A checked port's rules must be judged before its Delta commit, and the cheapest rows to judge are
the ones already written: the transform then runs once, with no cache, and the checks read the
files columnar. Delta's DataFrame writer writes and commits in one call, so this module drives the
two halves of Delta's own write command (``WriteIntoDelta``) through the JVM: ``stage`` writes the
data files, with their statistics, into the table folder without committing; ``StagedWrite.commit``
commits exactly the transaction Delta's writer would have, with the run's transaction identifier
and ``userMetadata`` (``_delta``); ``StagedWrite.abort`` deletes the files.

Until the commit, readers see the previous version: uncommitted files are invisible to Delta. A
stage that fails half-way (a conformance guard raising on row N) deletes the files its tasks had
written; a run killed in between leaves files that ``meshlake vacuum`` removes.

Another writer's commit in between makes Delta refuse this commit. It is then committed again, in
a new transaction on the new version, with the same files, while the table's schema is still the
one the files were written for: an append adds the files again, an overwrite removes what the
table holds now. When the schema changed (or a merge port's first version was created meanwhile),
the files do not fit: the commit fails with ``ConcurrentWriteError``, its files are deleted, and
staging again (running the product again) is the caller's job.

This relies on Delta internals pinned with delta-spark (4.4.0); ``tests/platform/test_staged.py``
holds the behaviour. A merge into an existing table and a table with column mapping are not staged:
a merge rewrites files it reads, and column mapping renames the columns inside the files.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from meshlake.platform._delta import (
    DEFAULT_RETRIES,
    Commit,
    backoff,
    commit_metadata,
    conflict_error,
    delete_files,
    earlier_commit,
    enter_writing,
    is_conflict,
    leave_writing,
    new_run_id,
    others_writing,
)
from meshlake.platform._schema import keep_nullability
from meshlake.platform._spark import is_connect

log = logging.getLogger(__name__)

STAGED_MODES = {"overwrite": "Overwrite", "append": "Append"}
KILLED_TASKS_TIMEOUT = 60.0
"""Seconds a failed stage waits for its job's cancelled tasks to stop before removing files."""


@dataclass
class StagedWrite:
    """Data files written into a Delta table's folder, not yet part of any version."""

    spark: SparkSession
    location: str
    mode: str
    files: tuple[str, ...]
    rows: int | None
    """How many rows the files hold, from Delta's file statistics (None without them)."""
    schema: StructType
    _transaction: Any
    _commit_data: Any
    _save_mode: Any
    requested_mode: str = ""
    """The mode asked for (``mode`` is ``overwrite`` when the table did not exist yet)."""
    _key: str = ""
    done: bool = False
    _released: bool = field(default=False, repr=False)

    def read(self) -> DataFrame:
        """The staged rows, read straight from the staged files (columnar, only what is asked).

        With the schema given, Spark does not run a job to read it from a file's footer."""
        if not self.files:  # zero rows may write no file at all
            return self.spark.createDataFrame([], self.schema)
        return self.spark.read.schema(self.schema).parquet(*self.files)

    def commit(
        self,
        user_metadata: str | None = None,
        *,
        run_id: str | None = None,
        retries: int = DEFAULT_RETRIES,
    ) -> Commit:
        """Commit the staged files as one Delta version of run ``run_id`` (replacing the table for
        an overwrite); the version is the one this transaction committed.

        When the run already committed to the table, nothing is committed: the files are deleted
        and the run's earlier commit is returned as skipped. A conflicting commit is tried again
        up to ``retries`` times where the files still fit (see the module); else, or after the
        last try, ``ConcurrentWriteError``, with the files deleted."""
        if self.done:
            raise RuntimeError(f"the staged write to {self.location} is already finished")
        run_id = run_id or new_run_id()
        metadata = commit_metadata(run_id, user_metadata)
        transaction = self._transaction
        mode = self.mode
        for attempt in range(retries + 1):
            # Reading the run's identifier also makes a concurrent commit of the same run a
            # conflict, so the run commits at most once.
            if transaction.txnVersion(run_id) >= 0:
                self._discard()
                return earlier_commit(self.spark, self.location, run_id)
            actions = [*self._actions(transaction, mode, attempt), self._set_transaction(run_id)]
            # Delta's writer stores every column nullable; the contract's required ones are not.
            keep_nullability(self.spark, transaction, self.schema, mode == "overwrite")
            try:
                committed = transaction.commitIfNeeded(
                    _scala_seq(self.spark, actions),
                    self._operation(mode, metadata),
                    self._commit_data.stringTags(),
                )
            except Exception as exc:
                if not is_conflict(exc):
                    self._after_failure(run_id)
                    raise
                read_version = int(transaction.readVersion())
                if attempt == retries:
                    self._discard()
                    raise conflict_error(
                        self.spark,
                        self.location,
                        read_version,
                        f"gave up after {retries + 1} attempts; the staged files were deleted",
                    ) from exc
                log.info("commit to %s conflicted (attempt %d), retrying", self.location, attempt)
                backoff(attempt)
                retry = self._retry(read_version)
                if retry is None:
                    self._discard()
                    raise conflict_error(
                        self.spark,
                        self.location,
                        read_version,
                        "its schema is no longer the one the staged files were written for, so "
                        "they were deleted; run the product again to stage anew",
                    ) from exc
                transaction, mode = retry
                continue
            self.done = True
            self._release()
            version = int(committed.get())
            rows = self.rows if mode == "overwrite" else None
            if rows is None:
                rows = _count_at(self.spark, self.location, version)
            return Commit(version=version, rows=rows, operation="WRITE")
        raise AssertionError("unreachable")  # pragma: no cover

    def abort(self) -> None:
        """Delete the staged files; the table stays as it was. Safe to call more than once."""
        if self.done:
            return
        self._discard()

    def _discard(self) -> None:
        self.done = True
        try:
            delete_files(self.spark, self.files)
        finally:
            self._release()

    def _release(self) -> None:
        if not self._released:
            self._released = True
            leave_writing(self._key)

    def _after_failure(self, run_id: str) -> None:
        """After a commit that raised: delete the files unless the commit landed after all.

        A commit either wrote its log entry or did not; if the run's transaction identifier is
        not in the table, no version references the files. If that cannot be told, they stay
        (deleting files a version references would corrupt the table; vacuum removes the rest)."""
        self.done = True
        try:
            landed = _log(self.spark, self.location).startTransaction().txnVersion(run_id) >= 0
        except Exception:
            log.warning("could not tell whether the commit to %s landed", self.location)
            self._release()
            return
        if landed:
            self._release()
        else:
            self._discard()

    def _actions(self, transaction: Any, mode: str, attempt: int) -> list[Any]:
        if attempt == 0:
            return _python_list(self._commit_data.actions())
        adds = [action for action in self._added() if action is not None]
        if mode != "overwrite":
            return adds
        current = transaction.filterFiles()  # reads the whole table: a later append conflicts
        return adds + [current.apply(index).remove() for index in range(current.size())]

    def _added(self) -> list[Any]:
        return [
            action
            for action in _python_list(self._commit_data.actions())
            if action.getClass().getSimpleName() == "AddFile"
        ]

    def _retry(self, read_version: int) -> tuple[Any, str] | None:
        """A new transaction on the table as it is now, and the mode to commit the staged files
        in, when they fit its schema; None when they do not."""
        staged = self._transaction
        transaction = _log(self.spark, self.location).startTransaction()
        if transaction.readVersion() < 0:
            return None
        now = transaction.metadata()
        read = staged.snapshot().metadata()  # the txn's metadata() is its new one, when set
        target = staged.newMetadata().get() if staged.newMetadata().isDefined() else None
        wanted = target if target is not None else read
        same_shape = now.schema().equals(wanted.schema()) and now.partitionColumns().equals(
            wanted.partitionColumns()
        )
        if read_version < 0:
            # The table was created meanwhile: commit as asked (an append appends), if a merge
            # port's first version was not asked for (a merge cannot be staged).
            mode = self.requested_mode
            if mode not in STAGED_MODES or not same_shape:
                return None
            return transaction, mode
        if same_shape:
            return transaction, self.mode
        unchanged = now.equals(read)
        if target is not None and unchanged:
            # Nobody changed the metadata: this write's own schema change still applies.
            transaction.updateMetadata(target, False)
            return transaction, self.mode
        return None

    def _set_transaction(self, run_id: str) -> Any:
        jvm = self.spark._jvm
        assert jvm is not None
        now = jvm.java.lang.Long.valueOf(int(time.time() * 1000))
        return jvm.org.apache.spark.sql.delta.actions.SetTransaction.apply(
            run_id, 0, jvm.scala.Some(now)
        )

    def _operation(self, mode: str, metadata: str) -> Any:
        jvm = self.spark._jvm
        assert jvm is not None
        scala = jvm.scala
        none = scala.Option.empty()
        save_mode = getattr(jvm.org.apache.spark.sql.SaveMode, STAGED_MODES[mode])
        return jvm.org.apache.spark.sql.delta.DeltaOperations.Write(
            save_mode,
            scala.Some(_scala_seq(self.spark, [])),
            none,
            scala.Some(metadata),
            none,
            scala.Some(True) if mode == "overwrite" else none,
            none,
            none,
            none,
        )


def stage(
    spark: SparkSession,
    frame: DataFrame,
    location: str,
    mode: str,
    *,
    merge_schema: bool = False,
) -> StagedWrite | None:
    """Write ``frame``'s files for a ``mode`` commit to ``location`` (runs the job, commits nothing);
    None, before any work, when such a write cannot be staged.

    As ``write_delta``: an overwrite may change the table's schema (the contract is the truth), and
    any mode creates a missing table by an overwrite. ``merge_schema``: an append may add columns
    (Delta's ``mergeSchema``; a quarantine table follows its port's contract). When writing fails,
    the files its tasks wrote are deleted before the error is raised (see ``_remove_partial_files``).

    Nothing can be staged on Spark Connect (no JVM here to drive Delta's write command): None,
    and the caller checks persisted rows and writes them at the commit (``_delta_connect``).
    """
    if is_connect(spark):
        return None
    jvm = spark._jvm
    assert jvm is not None
    jspark = spark._jsparkSession
    delta = jvm.org.apache.spark.sql.delta
    none = jvm.scala.Option.empty()
    deltas = _log(spark, location)
    transaction = deltas.startTransaction(none, none)
    requested = mode
    if transaction.readVersion() < 0:
        mode = "overwrite"
    if mode not in STAGED_MODES:
        return None
    if str(transaction.metadata().columnMappingMode().name()).lower() != "none":
        return None
    options = {"overwriteSchema": "true"} if mode == "overwrite" else {}
    if merge_schema and mode == "append":
        options["mergeSchema"] = "true"
    save_mode = getattr(jvm.org.apache.spark.sql.SaveMode, STAGED_MODES[mode])
    command = delta.commands.WriteIntoDelta(
        deltas,
        save_mode,
        delta.DeltaOptions(_scala_map(spark, options), jspark.sessionState().conf()),
        _scala_seq(spark, []),
        _scala_map(spark, {}),
        frame._jdf,
        none,
        none,
        False,
    )
    root = str(deltas.dataPath().toString()).rstrip("/")
    key = enter_writing(root)
    tag = f"meshlake-stage-{uuid.uuid4()}"
    started = int(jvm.java.lang.System.currentTimeMillis())
    spark.sparkContext.addJobTag(tag)
    try:
        commit_data = command.writeAndReturnCommitData(transaction, jspark, none, False)
    except BaseException:
        try:
            _remove_partial_files(spark, deltas, int(transaction.readVersion()), started, tag, key)
        except Exception:  # the write's own error is the one to raise
            log.warning("could not remove the files of a failed stage of %s", key, exc_info=True)
        finally:
            leave_writing(key)
        raise
    finally:
        spark.sparkContext.removeJobTag(tag)
    files = []
    rows: int | None = 0
    for action in _python_list(commit_data.actions()):
        if action.getClass().getSimpleName() == "AddFile":
            files.append(f"{root}/{action.path()}")
            rows = _plus_records(rows, action.stats())
    written = transaction.getMetric("numFiles")
    if not written.isDefined() or int(written.get().value()) > len(files):
        # Spark's first task writes a file even when it has no rows (to carry the schema), and
        # Delta leaves that file out of the version: it is removed here, not left to vacuum.
        read_version = int(transaction.readVersion())
        try:
            _remove_partial_files(
                spark, deltas, read_version, started, tag, key, set(files), "part-00000-*"
            )
        except Exception:
            leave_writing(key)
            raise
    return StagedWrite(
        spark,
        location,
        mode,
        tuple(files),
        rows,
        frame.schema,
        transaction,
        commit_data,
        save_mode,
        requested_mode=requested,
        _key=key,
    )


def _remove_partial_files(
    spark: SparkSession,
    deltas: Any,
    read_version: int,
    started: int,
    tag: str,
    key: str,
    keep: set[str] | None = None,
    pattern: str | None = None,
) -> list[str]:
    """Delete the data files a stage's tasks wrote that are not in ``keep`` (its staged files):
    all of them after a failure, the empty ones Delta left out after a success; the paths deleted.

    Delta names each file with a random UUID and keeps no list of a failed job's files, so they
    are found as the files in the table folder that are newer than the stage's start and that no
    version references (no version before the stage can reference a newer file; the versions
    since are read from the log). A file of another writer of the same table in this process may
    look the same: then nothing is deleted here and vacuum removes the files later. Writers in
    other processes are not known here: the orchestration runs one writer per port at a time.
    The job's cancelled tasks are waited for first, so none writes a file after the sweep.

    ``pattern`` (a glob in the table folder) narrows the listing, which costs a remote call per
    file: after a success only the first task's empty file is sought (``part-00000-*``)."""
    _wait_for_tasks(spark, tag)
    if others_writing(key):
        log.warning("files a stage of %s wrote stay (another write of it runs): vacuum", key)
        return []
    jvm = spark._jvm
    assert jvm is not None
    conf = deltas.newDeltaHadoopConf()
    data_path = deltas.dataPath()
    fs = data_path.getFileSystem(conf)
    if not fs.exists(data_path):
        return []
    referenced = _referenced_since(spark, deltas, read_version + 1)
    root = str(data_path.toUri().getPath()).rstrip("/") + "/"
    candidates = []
    for status in _listed(jvm, fs, data_path, pattern):
        if status.getModificationTime() < started:
            continue
        path = str(status.getPath().toString())
        relative = _uri_path(spark, path).removeprefix(root)
        if not _hidden(relative) and relative not in referenced:
            candidates.append(path)
    # The log may have moved on while listing: check again against the versions since.
    referenced |= _referenced_since(spark, deltas, read_version + 1)
    kept = {_uri_path(spark, path) for path in keep or ()}
    orphans = [
        path
        for path in candidates
        if (local := _uri_path(spark, path)) not in kept
        and local.removeprefix(root) not in referenced
    ]
    delete_files(spark, orphans)
    if orphans:
        log.info("removed %d files a stage of %s wrote and no version holds", len(orphans), key)
    return orphans


def _listed(jvm: Any, fs: Any, folder: Any, pattern: str | None) -> Iterator[Any]:
    if pattern is not None:
        yield from fs.globStatus(jvm.org.apache.hadoop.fs.Path(folder, pattern)) or ()
        return
    found = fs.listFiles(folder, True)
    while found.hasNext():
        yield found.next()


def _referenced_since(spark: SparkSession, deltas: Any, start: int) -> set[str]:
    """The data files (paths relative to the table, decoded) that versions from ``start`` on add."""
    jvm = spark._jvm
    assert jvm is not None
    none = jvm.scala.Option.empty()
    latest = int(deltas.update(False, none, none).version())
    start = max(start, 0)
    if latest < start:
        return set()
    referenced: set[str] = set()
    changes = deltas.getChanges(start, none, True)
    while changes.hasNext():
        pair = changes.next()
        for action in _python_list(pair._2()):
            if action.getClass().getSimpleName() in ("AddFile", "RemoveFile"):
                referenced.add(str(jvm.java.net.URI(action.path()).getPath()))
    return referenced


def _uri_path(spark: SparkSession, path: str) -> str:
    """The decoded path part of a file's URI (``file:/t/a b.parquet`` -> ``/t/a b.parquet``)."""
    jvm = spark._jvm
    assert jvm is not None
    return str(jvm.org.apache.hadoop.fs.Path(path).toUri().getPath())


def _hidden(relative: str) -> bool:
    """Delta's rule: a path part starting with ``_`` or ``.`` is not data (the log, checksums),
    except a partition folder ``name=value``."""
    parts = relative.split("/")
    return any(part.startswith((".", "_")) and "=" not in part for part in parts)


def _wait_for_tasks(spark: SparkSession, tag: str) -> None:
    """Wait until the jobs tagged ``tag`` have no running task (a failed job's other tasks are
    cancelled, but may still be closing a file)."""
    tracker = spark.sparkContext._jsc.sc().statusTracker()
    deadline = time.monotonic() + KILLED_TASKS_TIMEOUT
    while time.monotonic() < deadline:
        active = 0
        for job_id in tracker.getJobIdsForTag(tag):
            job = tracker.getJobInfo(job_id)
            if job.isEmpty():
                continue
            for stage_id in job.get().stageIds():
                info = tracker.getStageInfo(stage_id)
                if info.isDefined():
                    active += int(info.get().numActiveTasks())
        if not active:
            return
        time.sleep(0.1)
    log.warning("tasks of a failed stage (%s) still run after %ss", tag, KILLED_TASKS_TIMEOUT)


def _count_at(spark: SparkSession, location: str, version: int) -> int:
    return spark.read.format("delta").option("versionAsOf", version).load(location).count()


def _log(spark: SparkSession, location: str) -> Any:
    jvm = spark._jvm
    assert jvm is not None
    return jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, location)


def _plus_records(rows: int | None, stats: str | None) -> int | None:
    """``rows`` plus a file's ``numRecords`` statistic; None once a file has none."""
    if rows is None or not stats:
        return None
    records = json.loads(stats).get("numRecords")
    return None if records is None else rows + int(records)


def _python_list(seq: Any) -> list[Any]:
    return [seq.apply(index) for index in range(seq.size())]


def _scala_seq(spark: SparkSession, items: list[Any]) -> Any:
    jvm = spark._jvm
    assert jvm is not None
    return jvm.org.apache.spark.api.python.PythonUtils.toSeq(items)


def _scala_map(spark: SparkSession, items: dict[str, str]) -> Any:
    jvm = spark._jvm
    assert jvm is not None
    return jvm.org.apache.spark.api.python.PythonUtils.toScalaMap(items)
