"""Per-agreement snapshots: the only files a share ever serves.

A shared file is a whole Parquet file, so a raw file of the table could leak a masked column, a
column the agreement does not deliver, or a row outside its scope. Every share is therefore served
from a snapshot written with ``_sql.filtered`` (the one masking and filtering rule, as
``_readable.read`` applies it), even a share that cuts nothing: one path, no case in which a raw
file is handed out.

Layout under the root: ``<agreement>/<port>/<table version>-<terms key>/part-NNNNN.parquet`` and,
for the change data feed, ``<agreement>/<port>/changes-<version>-<terms key>/``. A folder is
written under a temporary name and renamed whole, so a reader never sees half a snapshot; it is
immutable, since a Delta version never changes, and reused until its agreement closes (revoked,
expired, rejected), when the whole ``<agreement>`` folder is deleted.

A table snapshot superseded by the one being served (an older version, or the same version under
other terms) is pruned once no URL to its files can still be valid: each snapshot notes, in
``_served``, the latest expiry of the URLs handed out for it. Change snapshots under the current
terms are kept (a reader may ask for the same versions' changes again); those written under terms
the agreement no longer has are pruned the same way once their URLs expired.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from meshlake.governance._errors import ConflictError
from meshlake.governance.services._sql import TableGrant

FORMAT = 1
"""Part of every terms key: raise it when the masking rule or the layout changes, so no snapshot
written under the old rule is served again."""
MANIFEST = "_snapshot.json"
SERVED = "_served"
CHANGES = "changes-"
"""The name prefix of a change snapshot's folder: ``changes-<version>-<terms key>``."""


@dataclass(frozen=True)
class SnapshotFile:
    relative: str
    """The file's path under the snapshot root (POSIX), as signed into its URL."""
    size: int
    rows: int


@dataclass(frozen=True)
class Snapshot:
    version: int
    files: tuple[SnapshotFile, ...]
    timestamp: int | None = None
    """The commit's time in ms (change snapshots only)."""

    @property
    def rows(self) -> int:
        return sum(item.rows for item in self.files)


def terms_key(grant: TableGrant) -> str:
    """A short digest of what the agreement lets through of a port (columns, masks, row scope)."""
    terms = {
        "format": FORMAT,
        "columns": list(grant.columns),
        "masked": sorted(grant.masked),
        "rows": {
            column: sorted(repr(value) for value in values)
            for column, values in sorted(grant.row_filter.items())
        },
    }
    return hashlib.sha256(json.dumps(terms, sort_keys=True).encode()).hexdigest()[:16]


def nullable_masks(table: pa.Table, masked: frozenset[str]) -> pa.Table:
    """``table`` with its masked columns declared nullable: a masked non-string is all null."""
    fields = [
        field.with_nullable(True) if field.name in masked else field for field in table.schema
    ]
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


def _write_parquet(table: pa.Table, path: Path, masked: frozenset[str]) -> None:
    """``table`` as one Parquet file, row groups of 128k rows (a client fetches and decodes them
    concurrently).

    Masked columns hold unique 64-character hex digests, half of whose bits are redundant: snappy
    cannot shrink them (it has no entropy coder) and they made up 85% of a masked share's bytes.
    zstd at level 1 halves them at little cost, so a recipient fetches and copies far fewer
    bytes; the other columns stay snappy. A dictionary or min/max statistics of digests is work
    without use, so masked columns get neither, and nor does a column whose values are mostly
    distinct (:func:`_repetitive`).
    """
    plain = [name for name in table.column_names if name not in masked]
    pq.write_table(
        table,
        path,
        row_group_size=128 * 1024,
        use_dictionary=[name for name in plain if _repetitive(table[name])],
        compression={name: "snappy" if name in plain else "zstd" for name in table.column_names},
        compression_level={name: 1 for name in table.column_names if name not in plain},
        write_statistics=plain,
    )


_SAMPLE = 8192


def _repetitive(column: pa.ChunkedArray) -> bool:
    """Whether a dictionary is likely to pay for ``column``: at most half of a sample of its
    values distinct. Arrow gives up a dictionary only once it outgrows its page (1 MB), after
    hashing most of a row group of ids or names for nothing; the sample costs a few microseconds.
    """
    sample = column.slice(0, _SAMPLE)
    if len(sample) == 0:
        return True
    try:
        distinct = pc.count_distinct(sample, mode="all").as_py()
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return True  # a kind Arrow cannot count (nested): leave the choice to the writer
    return bool(distinct * 2 <= len(sample))


def _version_of(name: str) -> int | None:
    """The table version of a table snapshot's folder name (``<version>-<terms key>``)."""
    version, _, key = name.partition("-")
    return int(version) if version.isdigit() and key else None


def _served_until(folder: Path) -> int:
    """The latest expiry noted for ``folder``'s URLs; 0 when none is (or it cannot be read)."""
    try:
        return int((folder / SERVED).read_text())
    except (OSError, ValueError):
        return 0


_ROOTS: set[Path] = set()


def drop_everywhere(agreement: str) -> None:
    """Delete ``agreement``'s snapshots under every root this process serves (the hook that
    ``services/_agreements`` calls when an agreement closes)."""
    for root in list(_ROOTS):
        shutil.rmtree(root / agreement, ignore_errors=True)


class Snapshots:
    """The snapshot folders under one root."""

    def __init__(self, root: Path | Callable[[], Path], rows_per_file: int = 512 * 1024) -> None:
        self._root = root
        self.rows_per_file = rows_per_file
        if isinstance(root, Path):
            _ROOTS.add(root)

    @property
    def root(self) -> Path:
        """The root folder; a callable given for it is called on first use (the default folder
        lies in the project's state folder, which a service run outside a project lacks)."""
        if not isinstance(self._root, Path):
            self._root = self._root()
            _ROOTS.add(self._root)
        return self._root

    def folder(self, agreement: str, port: str, name: str) -> Path:
        return self.root / agreement / port / name

    def cached(self, folder: Path) -> Snapshot | None:
        manifest = folder / MANIFEST
        if not manifest.is_file():
            return None
        data = json.loads(manifest.read_text())
        files = tuple(SnapshotFile(**item) for item in data["files"])
        return Snapshot(int(data["version"]), files, data.get("timestamp"))

    def write(
        self,
        folder: Path,
        table: pa.Table,
        version: int,
        timestamp: int | None = None,
        masked: frozenset[str] = frozenset(),
        prepare: Callable[[pa.Table], pa.Table] | None = None,
    ) -> Snapshot:
        """Write ``table`` as ``folder`` (all at once: a temporary folder renamed), unless another
        request wrote it first; either way the snapshot now there.

        ``table`` is cut into files of at most ``rows_per_file`` rows, written concurrently (Arrow
        and DuckDB release the GIL), each first passed through ``prepare`` (the masks and row
        scope, which work row by row, so per file equals whole). A file that ``prepare`` empties
        is left out.
        """
        folder.parent.mkdir(parents=True, exist_ok=True)
        temporary = folder.parent / f".tmp-{uuid.uuid4().hex}"
        temporary.mkdir()
        count = -(-table.num_rows // self.rows_per_file)  # ceil: files as even as they can be
        step = -(-table.num_rows // count) if count else 0

        def part(index: int) -> SnapshotFile | None:
            rows = table.slice(index * step, step)
            if prepare is not None:
                rows = prepare(rows)
            if rows.num_rows == 0:
                return None
            name = f"part-{index:05d}.parquet"
            _write_parquet(rows, temporary / name, masked)
            relative = (folder / name).relative_to(self.root).as_posix()
            return SnapshotFile(relative, (temporary / name).stat().st_size, rows.num_rows)

        workers = max(1, min(count, os.cpu_count() or 1))
        try:
            with ThreadPoolExecutor(workers, thread_name_prefix="meshlake-snapshot") as pool:
                files = [item for item in pool.map(part, range(count)) if item is not None]
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        manifest = {
            "version": version,
            "timestamp": timestamp,
            "files": [item.__dict__ for item in files],
        }
        (temporary / MANIFEST).write_text(json.dumps(manifest))
        try:
            temporary.rename(folder)
        except OSError:
            shutil.rmtree(temporary, ignore_errors=True)  # written meanwhile by another request
        found = self.cached(folder)
        if found is None:
            # The agreement closed (and its folder was deleted) while this snapshot was written.
            raise ConflictError(
                f"snapshot {folder.relative_to(self.root)} could not be kept: its share closed "
                "meanwhile; ask again (a closed share answers 403)"
            )
        return found

    def handed_out(self, folder: Path, expires: int) -> None:
        """Note that URLs to ``folder``'s files valid until ``expires`` (epoch seconds, by the
        service's clock) were handed out; a later expiry replaces an earlier one."""
        if _served_until(folder) >= expires:
            return
        temporary = folder / f".served-{uuid.uuid4().hex}"
        try:
            temporary.write_text(str(expires))
            os.replace(temporary, folder / SERVED)
        except OSError:  # the share closed and its folder went meanwhile: nothing to note
            temporary.unlink(missing_ok=True)

    def prune(self, serving: Path, now: int) -> list[str]:
        """Delete the table snapshots beside ``serving`` that it supersedes (an older version, or
        the same version under other terms) and whose handed-out URLs all expired before ``now``
        (epoch seconds); their names. A snapshot with no note of URLs handed out is kept: it may
        be one that a concurrent request has just written."""
        version = _version_of(serving.name)
        if version is None or not serving.parent.is_dir():
            return []
        pruned = []
        for child in sorted(serving.parent.iterdir()):
            older = _version_of(child.name)
            if child == serving or older is None or older > version:
                continue
            until = _served_until(child)
            if until and until < now:
                shutil.rmtree(child, ignore_errors=True)
                pruned.append(child.name)
        return pruned

    def prune_changes(self, port_folder: Path, key: str, now: int) -> list[str]:
        """Delete the change snapshots in ``port_folder`` written under terms other than ``key``
        (the agreement's terms changed since) whose handed-out URLs all expired before ``now``;
        their names. Those under ``key`` stay: they are the ones served."""
        if not port_folder.is_dir():
            return []
        pruned = []
        for child in sorted(port_folder.iterdir()):
            name = child.name
            if not name.startswith(CHANGES) or name.endswith(f"-{key}"):
                continue
            until = _served_until(child)
            if until and until < now:
                shutil.rmtree(child, ignore_errors=True)
                pruned.append(name)
        return pruned

    def path(self, relative: str) -> Path | None:
        """The file at ``relative`` under the root, if it is there (never outside the root)."""
        target = (self.root / relative).resolve()
        if not target.is_relative_to(self.root.resolve()) or not target.is_file():
            return None
        return target

    def drop(self, agreement: str) -> None:
        shutil.rmtree(self.root / agreement, ignore_errors=True)

    def sweep(self, active: Callable[[str], bool]) -> list[str]:
        """Delete the snapshots of every agreement ``active`` says is closed; their names."""
        if not self.root.is_dir():
            return []
        dropped = []
        for child in sorted(self.root.iterdir()):
            if child.is_dir() and not child.name.startswith(".") and not active(child.name):
                shutil.rmtree(child, ignore_errors=True)
                dropped.append(child.name)
        return dropped
