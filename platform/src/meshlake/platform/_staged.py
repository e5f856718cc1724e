"""Write a port's Delta files now and decide later whether to commit them.

A checked port's rules must be judged before its Delta commit, and the cheapest rows to judge are
the ones already written: the transform then runs once, with no cache, and the checks read the
files columnar. Delta's DataFrame writer writes and commits in one call, so this module drives the
two halves of Delta's own write command (``WriteIntoDelta``) through the JVM: ``stage`` writes the data files, with
their statistics, into the table folder without committing; ``StagedWrite.commit`` commits exactly
the transaction Delta's writer would have; ``StagedWrite.abort`` deletes the files.

Until the commit, readers see the previous version: uncommitted files are invisible to Delta, and a
run killed in between leaves only files that ``VACUUM`` removes. A writer that commits to the table
meanwhile makes the commit fail as a concurrent modification, as it would for a plain write.

This relies on Delta internals pinned with delta-spark (4.4.0); ``tests/platform/test_staged.py``
holds the behaviour. A merge into an existing table and a table with column mapping are not staged:
a merge rewrites files it reads, and column mapping renames the columns inside the files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from meshlake.platform._delta import Commit, last_commit

STAGED_MODES = {"overwrite": "Overwrite", "append": "Append"}


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
    done: bool = False

    def read(self) -> DataFrame:
        """The staged rows, read straight from the staged files (columnar, only what is asked).

        With the schema given, Spark does not run a job to read it from a file's footer."""
        if not self.files:  # zero rows may write no file at all
            return self.spark.createDataFrame([], self.schema)
        return self.spark.read.schema(self.schema).parquet(*self.files)

    def commit(self, user_metadata: str | None = None) -> Commit:
        """Commit the staged files as one Delta version (replacing the table for an overwrite)."""
        if self.done:
            raise RuntimeError(f"the staged write to {self.location} is already finished")
        jvm = self.spark._jvm
        assert jvm is not None
        scala = jvm.scala
        none = scala.Option.empty()
        overwrite = self.mode == "overwrite"
        operation = jvm.org.apache.spark.sql.delta.DeltaOperations.Write(
            self._save_mode,
            scala.Some(_scala_seq(self.spark, [])),
            none,
            none if user_metadata is None else scala.Some(user_metadata),
            none,
            scala.Some(True) if overwrite else none,
            none,
            none,
            none,
        )
        # Done even if the commit raises: whether it landed is then unknown, and deleting files a
        # version might reference would corrupt the table (unreferenced ones VACUUM removes).
        self.done = True
        self._transaction.commitIfNeeded(
            self._commit_data.actions(), operation, self._commit_data.stringTags()
        )
        return last_commit(self.spark, self.location)

    def abort(self) -> None:
        """Delete the staged files; the table stays as it was. Safe to call more than once."""
        if self.done:
            return
        self.done = True
        for file in self.files:
            _local(file).unlink(missing_ok=True)


def stage(spark: SparkSession, frame: DataFrame, location: str, mode: str) -> StagedWrite | None:
    """Write ``frame``'s files for a ``mode`` commit to ``location`` (runs the job, commits nothing);
    None, before any work, when such a write cannot be staged.

    As ``write_delta``: an overwrite may change the table's schema (the contract is the truth), and
    any mode creates a missing table by an overwrite.
    """
    jvm = spark._jvm
    assert jvm is not None
    jspark = spark._jsparkSession
    delta = jvm.org.apache.spark.sql.delta
    none = jvm.scala.Option.empty()
    log = delta.DeltaLog.forTable(jspark, location)
    transaction = log.startTransaction(none, none)
    if transaction.readVersion() < 0:
        mode = "overwrite"
    if mode not in STAGED_MODES:
        return None
    if str(transaction.metadata().columnMappingMode().name()).lower() != "none":
        return None
    options = {"overwriteSchema": "true"} if mode == "overwrite" else {}
    save_mode = getattr(jvm.org.apache.spark.sql.SaveMode, STAGED_MODES[mode])
    command = delta.commands.WriteIntoDelta(
        log,
        save_mode,
        delta.DeltaOptions(_scala_map(spark, options), jspark.sessionState().conf()),
        _scala_seq(spark, []),
        _scala_map(spark, {}),
        frame._jdf,
        none,
        none,
        False,
    )
    commit_data = command.writeAndReturnCommitData(transaction, jspark, none, False)
    root = str(log.dataPath().toString()).rstrip("/")
    actions = commit_data.actions()
    files = []
    rows: int | None = 0
    for index in range(actions.size()):
        action = actions.apply(index)
        if action.getClass().getSimpleName() == "AddFile":
            files.append(f"{root}/{action.path()}")
            rows = _plus_records(rows, action.stats())
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
    )


def _plus_records(rows: int | None, stats: str | None) -> int | None:
    """``rows`` plus a file's ``numRecords`` statistic; None once a file has none."""
    if rows is None or not stats:
        return None
    records = json.loads(stats).get("numRecords")
    return None if records is None else rows + int(records)


def _local(file: str) -> Path:
    parsed = urlparse(file)
    if parsed.scheme not in ("", "file"):
        raise ValueError(f"cannot delete staged file {file}: only local tables are supported")
    return Path(unquote(parsed.path))


def _scala_seq(spark: SparkSession, items: list[Any]) -> Any:
    jvm = spark._jvm
    assert jvm is not None
    return jvm.org.apache.spark.api.python.PythonUtils.toSeq(items)


def _scala_map(spark: SparkSession, items: dict[str, str]) -> Any:
    jvm = spark._jvm
    assert jvm is not None
    return jvm.org.apache.spark.api.python.PythonUtils.toScalaMap(items)
