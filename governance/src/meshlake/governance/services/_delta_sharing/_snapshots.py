"""Per-agreement snapshots: the only files a share ever serves.

A shared file is a whole Parquet file, so a raw file of the table could leak a masked column, a
column the agreement does not deliver, or a row outside its scope. Every share is therefore served
from a snapshot written with ``_readable.read`` (the one masking and filtering rule), even a share
that cuts nothing: one path, no case in which a raw file is handed out.

Layout under the root: ``<agreement>/<port>/<table version>-<terms key>/part-NNNNN.parquet`` and,
for the change data feed, ``<agreement>/<port>/changes-<version>-<terms key>/``. A folder is
written under a temporary name and renamed whole, so a reader never sees half a snapshot; it is
immutable, since a Delta version never changes, and reused until its agreement closes (revoked,
expired, rejected), when the whole ``<agreement>`` folder is deleted.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from meshlake.governance._errors import ConflictError
from meshlake.governance.services._sql import TableGrant

FORMAT = 1
"""Part of every terms key: raise it when the masking rule or the layout changes, so no snapshot
written under the old rule is served again."""
MANIFEST = "_snapshot.json"


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
    """``table`` as one Parquet file (snappy, row groups of 128k rows, so a client fetches and
    decodes them concurrently).

    Masked columns hold unique hex digests: a dictionary for them is built only to be dropped,
    so only the other columns are dictionary-encoded. (zstd would shrink the digests by half and
    speed a remote read, but triples the time to build a snapshot; see the benchmark's notes.)
    """
    plain = [name for name in table.column_names if name not in masked]
    pq.write_table(table, path, row_group_size=128 * 1024, use_dictionary=plain)


_ROOTS: set[Path] = set()


def drop_everywhere(agreement: str) -> None:
    """Delete ``agreement``'s snapshots under every root this process serves (the hook that
    ``services/_agreements`` calls when an agreement closes)."""
    for root in list(_ROOTS):
        shutil.rmtree(root / agreement, ignore_errors=True)


class Snapshots:
    """The snapshot folders under one root."""

    def __init__(self, root: Path | Callable[[], Path], rows_per_file: int = 1_000_000) -> None:
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
    ) -> Snapshot:
        """Write ``table`` as ``folder`` (all at once: a temporary folder renamed), unless another
        request wrote it first; either way the snapshot now there."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        temporary = folder.parent / f".tmp-{uuid.uuid4().hex}"
        temporary.mkdir()
        files = []
        for index, start in enumerate(range(0, table.num_rows, self.rows_per_file)):
            part = table.slice(start, self.rows_per_file)
            name = f"part-{index:05d}.parquet"
            _write_parquet(part, temporary / name, masked)
            relative = (folder / name).relative_to(self.root).as_posix()
            files.append(SnapshotFile(relative, (temporary / name).stat().st_size, part.num_rows))
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
