"""Write a port's Parquet files into its Delta table folder now; commit them with delta-rs later.

The same promise as the Spark path's ``_staged``: files not referenced by any version are invisible
to every Delta reader, so nothing is readable before ``commit``; ``abort`` deletes them. The commit
is one Delta version carrying the run's transaction identifier (app id = run id) and the run id in
``userMetadata`` (``_delta.commit_metadata``), so governance finds the run in the log and a retried
run commits nothing twice. New tables get Delta's defaults, as Spark writes them: protocol (1, 2),
no deletion vectors, no column mapping.

Another writer's commit in between is delta-rs's to resolve (it retries an append; an overwrite
that conflicts fails and the files are deleted).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable, Schema
from deltalake import Field as DeltaField
from deltalake.exceptions import TableNotFoundError
from deltalake.transaction import (
    AddAction,
    CommitProperties,
    Transaction,
    create_table_with_add_actions,
)

from meshlake.platform._commit_info import RUN_ID_KEY, commit_metadata
from meshlake.platform._storage import filesystem, join, storage_options

log = logging.getLogger(__name__)


ROWS_PER_FILE = 1_000_000
MIN_ROWS_PER_FILE = 100_000
WRITERS = max(1, min(4, os.cpu_count() or 1))
"""Files written at once: pyarrow writes one Parquet file on one thread."""


@dataclass(frozen=True)
class DuckCommit:
    """The version a commit made (or the run's earlier one, ``skipped``) and its table's rows."""

    version: int
    rows: int
    skipped: bool = False
    operation: str = "WRITE"


@dataclass
class StagedFiles:
    """Parquet files in a Delta table's folder, not yet part of any version."""

    location: str
    mode: str
    files: tuple[str, ...]
    actions: list[AddAction]
    schema: pa.Schema
    rows: int
    merge_schema: bool = False
    """An append may add columns to the table (a quarantine table follows its port's contract)."""
    done: bool = field(default=False)

    def commit(self, user_metadata: str | None = None, *, run_id: str) -> DuckCommit:
        """One Delta version of run ``run_id`` with the staged files (replacing the table's rows
        for an overwrite); nothing when the run already committed to the table (``skipped``)."""
        if self.done:
            raise RuntimeError(f"the staged write to {self.location} is already finished")
        properties = CommitProperties(
            custom_metadata={"userMetadata": commit_metadata(run_id, user_metadata)},
            app_transactions=[Transaction(run_id, 0)],
        )
        table = _table(self.location)
        try:
            if table is None:
                create_table_with_add_actions(
                    self.location,
                    Schema.from_arrow(self.schema),
                    self.actions,
                    mode="error",
                    commit_properties=properties,
                    storage_options=storage_options(self.location),
                )
            elif table.transaction_version(run_id) is not None:
                self.abort()
                return earlier_commit(table, run_id)
            else:
                if self.mode == "append":
                    self._fit_schema(table)
                table.create_write_transaction(
                    list(self.actions),
                    self.mode,
                    self.schema,
                    commit_properties=properties,
                )
        except BaseException:
            self._after_failure(run_id)
            raise
        self.done = True
        committed = _table(self.location)
        assert committed is not None  # just committed
        rows = self.rows if self.mode == "overwrite" or table is None else table_rows(committed)
        return DuckCommit(committed.version(), rows)

    def _fit_schema(self, table: DeltaTable) -> None:
        """An append's columns must be the table's: delta-rs would commit files with a column the
        table does not have and readers would never see it. With ``merge_schema`` the new columns
        are added first (a commit of its own, no data); else the append is refused, as Spark's."""
        have = {name.lower() for name in table.schema().to_arrow().names}
        new = [field for field in self.schema if field.name.lower() not in have]
        if not new:
            return
        names = ", ".join(field.name for field in new)
        if not self.merge_schema:
            raise ValueError(
                f"the table at {self.location} has no column {names}: an append cannot change "
                "its schema (overwrite it, or add the column to the table first)"
            )
        table.alter.add_columns([DeltaField.from_arrow(field.with_nullable(True)) for field in new])

    def abort(self) -> None:
        """Delete the staged files; the table stays as it was. Safe to call more than once."""
        if self.done:
            return
        self.done = True
        _delete(self.location, self.files)

    def _after_failure(self, run_id: str) -> None:
        """Delete the files unless the commit landed after all (its transaction id is in the log)."""
        table = _table(self.location)
        try:
            landed = table is not None and table.transaction_version(run_id) is not None
        except Exception:
            log.warning("could not tell whether the commit to %s landed", self.location)
            self.done = True
            return
        if landed:
            self.done = True
        else:
            self.abort()


def stage(rows: pa.Table, location: str, mode: str, *, merge_schema: bool = False) -> StagedFiles:
    """Write ``rows`` (already in the contract's schema) as Parquet files into ``location`` for a
    ``mode`` commit ("overwrite" or "append"); a missing table is created by the commit.
    ``merge_schema``: an append may add columns to the table."""
    if mode not in ("overwrite", "append"):
        raise ValueError(f"a {mode} write is not staged by the DuckDB engine")
    fs, folder = filesystem(location)
    fs.create_dir(folder, recursive=True)
    parts = _parts(rows.num_rows)
    names = [f"part-{index:05d}-{uuid.uuid4()}-c000.snappy.parquet" for index in range(len(parts))]
    files = tuple(join(folder, name) for name in names)

    def write(index: int) -> AddAction:
        part = rows.slice(*parts[index])
        pq.write_table(part, files[index], compression="snappy", filesystem=fs)
        return AddAction(
            names[index],
            fs.get_file_info(files[index]).size or 0,
            {},
            int(time.time() * 1000),
            True,
            json.dumps(_stats(part), separators=(",", ":")),
        )

    try:
        # pyarrow encodes one file on one thread and lets go of the GIL: a file per core.
        with ThreadPoolExecutor(min(len(parts), WRITERS)) as pool:
            actions = list(pool.map(write, range(len(parts))))
    except BaseException:
        _delete(location, files)
        raise
    return StagedFiles(location, mode, files, actions, rows.schema, rows.num_rows, merge_schema)


def _parts(rows: int) -> list[tuple[int, int]]:
    """(offset, length) of each file: one per writer for a large result, none above
    ``ROWS_PER_FILE``, no file below ``MIN_ROWS_PER_FILE`` (an empty result still gets one)."""
    count = max(-(-rows // ROWS_PER_FILE), min(WRITERS, rows // MIN_ROWS_PER_FILE), 1)
    size = max(-(-rows // count), 1)
    return [(start, min(size, rows - start)) for start in range(0, rows, size)] or [(0, 0)]


def _stats(rows: pa.Table) -> dict[str, object]:
    """Delta file statistics: the row count (governance counts rows from it) and null counts."""
    return {
        "numRecords": rows.num_rows,
        "nullCount": {name: rows.column(name).null_count for name in rows.column_names},
    }


def table_rows(table: DeltaTable) -> int:
    """Rows of the table's current version, from its add actions' statistics."""
    actions = table.get_add_actions(flatten=True)
    column = actions.column("num_records")
    return sum(int(value) for value in column.to_pylist() if value is not None)


def earlier_commit(table: DeltaTable, run_id: str) -> DuckCommit:
    """The version run ``run_id`` committed before (a retried run commits nothing anew)."""
    for entry in table.history():
        metadata = entry.get("userMetadata")
        try:
            found = json.loads(metadata).get(RUN_ID_KEY) if metadata else None
        except (ValueError, AttributeError):
            found = None
        if found == run_id:
            version = int(entry["version"])
            return DuckCommit(
                version,
                table_rows(
                    DeltaTable(
                        table.table_uri,
                        version=version,
                        storage_options=storage_options(table.table_uri),
                    )
                ),
                True,
            )
    raise RuntimeError(f"run {run_id} committed to {table.table_uri}, but no commit names it")


def _table(location: str) -> DeltaTable | None:
    try:
        return DeltaTable(location, storage_options=storage_options(location))
    except TableNotFoundError:
        return None


def _delete(location: str, files: tuple[str, ...]) -> None:
    """Delete staged files (paths on ``location``'s filesystem); a missing one is fine."""
    fs, _ = filesystem(location)
    for file in files:
        with contextlib.suppress(FileNotFoundError):
            fs.delete_file(file)
