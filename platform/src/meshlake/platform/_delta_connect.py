"""Delta commits and log reads on a Spark Connect session, through SQL and the DataFrame writer.

A Connect client has no JVM, so the staged write (``_staged``) and the log reads of ``_delta``,
which drive Delta's Scala classes, cannot run there. Here the same promises are kept with what a
Connect server offers: the DataFrame writer commits a port in one call, with the run's
``userMetadata`` and transaction identifier (Delta itself skips a second write of the run), and
``DESCRIBE HISTORY`` reads the commits back.

Delta's writer stores every column nullable. A port's contract makes its required columns NOT
NULL, and governance checks the log for that, so a new table (or one whose schema changes) is
first declared with the contract's schema (``CREATE OR REPLACE TABLE``) and then written into
without replacing the schema: two commits where the staged write makes one. The catalog publishes
only the second (the one carrying the run), so readers through governance never see the first.
Rules are checked on the persisted rows before anything is written (``quality._engine``).
"""

from __future__ import annotations

import json
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from meshlake.platform._commit_info import commit_metadata, run_id_of
from meshlake.platform._errors import MeshlakeError

_HISTORY_COLUMNS = "version, operation, operationParameters, operationMetrics, userMetadata"


def table_name(location: str) -> str:
    """``location`` as a path-based Delta table name for SQL."""
    return "delta.`" + location.replace("`", "``") + "`"


def is_delta_table(spark: SparkSession, location: str) -> bool:
    """Whether a Delta table is at ``location`` (a missing folder is none)."""
    try:
        spark.sql(f"DESCRIBE HISTORY {table_name(location)} LIMIT 1").collect()
    except Exception:  # Delta's DELTA_MISSING_DELTA_TABLE, or a path that does not exist
        return False
    return True


def history(spark: SparkSession, location: str, newer_than: int = -1) -> list[dict[str, Any]]:
    """The commits after version ``newer_than``, newest first, as Delta's history rows."""
    frame = spark.sql(f"DESCRIBE HISTORY {table_name(location)}")
    rows = frame.where(f"version > {int(newer_than)}").selectExpr(*_HISTORY_COLUMNS.split(", "))
    return [row.asDict() for row in rows.orderBy("version", ascending=False).collect()]


def write(
    spark: SparkSession,
    frame: DataFrame,
    location: str,
    mode: str,
    user_metadata: str | None,
    run_id: str,
) -> int:
    """Commit ``frame`` to ``location`` as run ``run_id``; the version before the write (-1 for a
    new table), from which the caller finds the run's commit."""
    if mode not in ("overwrite", "append"):
        raise MeshlakeError(
            f"writeMode {mode} into the existing Delta table {location} is not supported on Spark "
            "Connect (a merge reads and rewrites files through Delta's JVM classes); run the zone "
            "on local Spark or a standalone cluster (compute: local[*] or spark://host:port)"
        )
    latest = history(spark, location)[:1] if is_delta_table(spark, location) else []
    read_version = int(latest[0]["version"]) if latest else -1
    wanted = frame.schema
    if read_version < 0 or (mode == "overwrite" and not _same_columns(spark, location, wanted)):
        # Declare the contract's schema (NOT NULL included): the writer below keeps it.
        spark.sql(
            f"CREATE OR REPLACE TABLE {table_name(location)} ({_ddl(wanted)}) USING delta"
        ).collect()
    (
        frame.write.format("delta")
        .option("userMetadata", commit_metadata(run_id, user_metadata))
        .option("txnAppId", run_id)
        .option("txnVersion", 0)
        .mode(mode)
        .save(location)
    )
    return read_version


def commit_info_rows(
    spark: SparkSession, location: str, newer_than: int = -1
) -> list[tuple[int, str, dict[str, str], dict[str, str], str | None]]:
    """(version, operation, parameters, metrics, userMetadata) of the commits after
    ``newer_than``, newest first."""
    return [
        (
            int(row["version"]),
            str(row["operation"]),
            # A map value may be null (CREATE TABLE's description, say): left out, as absent.
            {
                key: _decoded(value)
                for key, value in (row["operationParameters"] or {}).items()
                if value is not None
            },
            {
                key: value
                for key, value in (row["operationMetrics"] or {}).items()
                if value is not None
            },
            row["userMetadata"],
        )
        for row in history(spark, location, newer_than)
    ]


def run_committed(spark: SparkSession, location: str, run_id: str) -> bool:
    """Whether a commit of run ``run_id`` is in the table's history."""
    if not is_delta_table(spark, location):
        return False
    return any(run_id_of(row["userMetadata"]) == run_id for row in history(spark, location))


def _same_columns(spark: SparkSession, location: str, wanted: StructType) -> bool:
    stored = spark.read.format("delta").load(location).schema
    return _columns(stored) == _columns(wanted)


def _columns(schema: StructType) -> list[tuple[str, str, bool]]:
    return [(field.name, field.dataType.simpleString(), field.nullable) for field in schema]


def _ddl(schema: StructType) -> str:
    return ", ".join(
        f"`{field.name.replace('`', '``')}` {field.dataType.simpleString()}"
        + ("" if field.nullable else " NOT NULL")
        for field in schema
    )


def _decoded(value: str) -> str:
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return decoded if isinstance(decoded, str) else value
