"""Publish a conformed DataFrame to its Delta table in exactly one commit.

Overwrite (the default) replaces the table's content and schema; append adds rows; merge upserts on
the contract's primary key. Each is a single Delta transaction: if the job dies before the commit,
readers still see the previous version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, DataFrameWriter, SparkSession


@dataclass(frozen=True)
class Commit:
    """The Delta version a write produced and how many rows the table holds after it."""

    version: int
    rows: int
    operation: str


@dataclass(frozen=True)
class CommitInfo:
    """What Delta recorded about one commit: the fields meshlake reads back."""

    version: int
    operation: str
    parameters: dict[str, str]
    metrics: dict[str, str]
    user_metadata: str | None


def write_delta(
    spark: SparkSession,
    frame: DataFrame,
    location: str,
    mode: str,
    primary_key: list[str],
    user_metadata: str | None = None,
) -> Commit:
    """Commit ``frame``; ``user_metadata`` goes into the commit of an overwrite or append."""
    exists = DeltaTable.isDeltaTable(spark, location)
    if mode == "merge" and exists:
        if not primary_key:
            raise ValueError("writeMode merge needs primaryKey columns in the contract")
        condition = " AND ".join(f"target.`{key}` <=> source.`{key}`" for key in primary_key)
        (
            DeltaTable.forPath(spark, location)
            .alias("target")
            .merge(frame.alias("source"), condition)
            .whenMatchedUpdateAll()
            .whenNotMatchedInsertAll()
            .execute()
        )
    elif mode == "append" and exists:
        _writer(frame, user_metadata).mode("append").save(location)
    else:
        (
            _writer(frame, user_metadata)
            .mode("overwrite")
            # The contract is the truth: a new contract version may change the table's schema.
            .option("overwriteSchema", "true")
            .save(location)
        )
    return last_commit(spark, location)


def _writer(frame: DataFrame, user_metadata: str | None) -> DataFrameWriter:
    writer = frame.write.format("delta")
    return writer if user_metadata is None else writer.option("userMetadata", user_metadata)


def last_commit(spark: SparkSession, location: str) -> Commit:
    info = latest_commit_info(spark, location)
    operation, metrics = info.operation, info.metrics
    if operation in ("WRITE", "CREATE OR REPLACE TABLE AS SELECT") and "numOutputRows" in metrics:
        overwrite = info.parameters.get("mode", "").lower() == "overwrite"
        rows = int(metrics["numOutputRows"]) if overwrite else _count(spark, location)
    else:
        rows = _count(spark, location)
    return Commit(version=info.version, rows=rows, operation=operation)


def latest_commit_info(spark: SparkSession, location: str) -> CommitInfo:
    """The latest commit of the Delta table at ``location``, read from its one log file.

    ``DeltaTable.history(1)`` gives the same through a Spark job (0.17 s against 0.05 s here),
    paid on every publication and again by every check that reads the previous version.
    """
    jvm = spark._jvm
    assert jvm is not None
    delta = jvm.org.apache.spark.sql.delta
    none = jvm.scala.Option.empty()
    log = delta.DeltaLog.forTable(spark._jsparkSession, location)
    version = log.update(False, none, none).version()
    if version < 0:
        raise ValueError(f"{location} is not a Delta table")
    path = delta.util.FileNames.unsafeDeltaFile(log.logPath(), version)
    found = delta.DeltaHistoryManager.getCommitInfoOpt(log.store(), path, log.newDeltaHadoopConf())
    if found.isEmpty():
        raise ValueError(f"version {version} of {location} has no commit info")
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


def _count(spark: SparkSession, location: str) -> int:
    return spark.read.format("delta").load(location).count()
