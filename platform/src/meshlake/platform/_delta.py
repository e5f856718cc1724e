"""Publish a conformed DataFrame to its Delta table in exactly one commit.

Overwrite (the default) replaces the table's content and schema; append adds rows; merge upserts on
the contract's primary key. Each is a single Delta transaction: if the job dies before the commit,
readers still see the previous version.
"""

from __future__ import annotations

from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, DataFrameWriter, Row, SparkSession


@dataclass(frozen=True)
class Commit:
    """The Delta version a write produced and how many rows the table holds after it."""

    version: int
    rows: int
    operation: str


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
    entry = DeltaTable.forPath(spark, location).history(1).collect()[0]
    metrics = entry["operationMetrics"] or {}
    operation = entry["operation"]
    if operation in ("WRITE", "CREATE OR REPLACE TABLE AS SELECT") and "numOutputRows" in metrics:
        rows = int(metrics["numOutputRows"]) if _is_overwrite(entry) else _count(spark, location)
    else:
        rows = _count(spark, location)
    return Commit(version=int(entry["version"]), rows=rows, operation=operation)


def _is_overwrite(entry: Row) -> bool:
    parameters = entry["operationParameters"] or {}
    return str(parameters.get("mode", "")).lower() == "overwrite"


def _count(spark: SparkSession, location: str) -> int:
    return spark.read.format("delta").load(location).count()
