"""The sharing server's work behind the protocol's endpoints: versions, snapshots, change files,
signed URLs and the NDJSON lines that describe them.

Routes stay HTTP only; everything a response says is decided here.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from meshlake.governance._errors import ForbiddenError, NotFoundError
from meshlake.governance.db._tables import Agreement
from meshlake.governance.services import _audit
from meshlake.governance.services._agreements import advance
from meshlake.governance.services._delta_sharing import _delta
from meshlake.governance.services._delta_sharing._errors import SharingRequestError
from meshlake.governance.services._delta_sharing._shares import SharedTable
from meshlake.governance.services._delta_sharing._signing import UrlSigner
from meshlake.governance.services._delta_sharing._snapshots import (
    CHANGES,
    Snapshot,
    Snapshots,
    nullable_masks,
    terms_key,
)
from meshlake.governance.services._delta_sharing._verdicts import ActiveAgreements
from meshlake.governance.services._readable import scan
from meshlake.governance.services._sql import filtered

FILES_PATH = "/delta-sharing/files"


@dataclass
class SharingServer:
    """The snapshots and the URL signer of one running service (``app.state.delta_sharing``)."""

    snapshots: Snapshots
    signer: UrlSigner
    active: ActiveAgreements = field(default_factory=ActiveAgreements)

    # -- versions ----------------------------------------------------------------------------

    def version(
        self, shared: SharedTable, version: int | None = None, timestamp: str | None = None
    ) -> int:
        """The version a read is at: the published one, or one asked for, never past it."""
        port = shared.port
        if version is not None and timestamp is not None:
            raise SharingRequestError("version, timestamp: give one of them, not both")
        if timestamp is not None:
            return _delta.version_at(port, timestamp, "timestamp")
        if version is None:
            return port.version
        if version < 0 or version > port.version:
            raise SharingRequestError(
                f"version: {version} is not a published version of {shared.name}; the "
                f"published version is {port.version}"
            )
        return version

    def refuse_history(self, starting: int | None, ending: int | None) -> None:
        """A query's streaming fields are refused: a share has no per-version add and remove
        files (it is served from masked snapshots), so history is read as its change feed."""
        if starting is None and ending is None:
            return
        raise SharingRequestError(
            "startingVersion, endingVersion: this server does not stream a table's history "
            "through query; read a version with 'version', or the changes between versions with "
            "GET .../changes?startingVersion=N&endingVersion=M (the change data feed)"
        )

    def starting_version(self, shared: SharedTable, starting_timestamp: str | None) -> int:
        if starting_timestamp is None:
            return shared.port.version
        return _delta.version_from(shared.port, starting_timestamp, "startingTimestamp")

    # -- lines -------------------------------------------------------------------------------

    def protocol_line(self) -> dict[str, Any]:
        return {"protocol": {"minReaderVersion": 1}}

    def metadata_line(self, shared: SharedTable, version: int) -> dict[str, Any]:
        table_id = uuid.uuid5(uuid.NAMESPACE_URL, f"meshlake:{shared.share}:{shared.port.port}")
        return {
            "metaData": {
                "id": str(table_id),
                "name": shared.name,
                "format": {"provider": "parquet"},
                "schemaString": _delta.schema_string(shared.port, version),
                "partitionColumns": [],
                "configuration": _delta.configuration(shared.port),
            }
        }

    def file_lines(
        self,
        shared: SharedTable,
        version: int,
        base_url: str,
        now: datetime,
        *,
        limit_hint: int | None = None,
        with_version: bool = False,
        before_build: Callable[[], object] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The ``file`` lines of the snapshot at ``version``: enough files for ``limit_hint``
        rows, or all. The snapshots this one supersedes are pruned once their URLs expired."""
        snapshot = self.table_snapshot(shared, version, before_build)
        folder = self._table_folder(shared, version)
        self.snapshots.handed_out(folder, int(now.timestamp()) + self.signer.ttl_seconds)
        self.snapshots.prune(folder, int(now.timestamp()))
        rows = 0
        for item in snapshot.files:
            if limit_hint is not None and rows >= limit_hint:
                break
            rows += item.rows
            url, expires = self.signer.sign(base_url + FILES_PATH, item.relative, now)
            line: dict[str, Any] = {
                "url": url,
                "id": _file_id(item.relative),
                "partitionValues": {},
                "size": item.size,
                "stats": json.dumps({"numRecords": item.rows}),
                "expirationTimestamp": expires,
            }
            if with_version:
                line["version"] = version
            yield {"file": line}

    def change_lines(
        self,
        shared: SharedTable,
        start: int,
        end: int,
        base_url: str,
        now: datetime,
    ) -> Iterator[dict[str, Any]]:
        """One ``cdf`` line per version with changes the share lets through. Change snapshots
        written under the agreement's earlier terms are pruned once their URLs expired."""
        snapshots = self.change_snapshots(shared, start, end)
        key = terms_key(shared.port.grant)
        expiry = int(now.timestamp()) + self.signer.ttl_seconds
        for version in range(start, end + 1):
            self.snapshots.handed_out(self._changes_folder(shared, version, key), expiry)
        port_folder = self.snapshots.folder(shared.share, shared.port.port, "")
        self.snapshots.prune_changes(port_folder, key, int(now.timestamp()))
        for snapshot in snapshots:
            for item in snapshot.files:
                url, expires = self.signer.sign(base_url + FILES_PATH, item.relative, now)
                yield {
                    "cdf": {
                        "url": url,
                        "id": _file_id(item.relative),
                        "partitionValues": {},
                        "size": item.size,
                        "timestamp": snapshot.timestamp,
                        "version": snapshot.version,
                        "expirationTimestamp": expires,
                    }
                }

    # -- snapshots ---------------------------------------------------------------------------

    def table_snapshot(
        self, shared: SharedTable, version: int, before_build: Callable[[], object] | None = None
    ) -> Snapshot:
        """The share's snapshot of the port at ``version``: built once, then reused;
        ``before_build`` runs first when it has to be built (the sweep of closed shares)."""
        port = shared.port
        folder = self._table_folder(shared, version)
        found = self.snapshots.cached(folder)
        if found is not None:
            return found
        if before_build is not None:
            before_build()
        grant = port.grant

        def prepare(rows: pa.Table) -> pa.Table:
            return nullable_masks(filtered(rows, grant), grant.masked)

        # The raw columns are read once; masks and row scope are applied file by file, in
        # parallel, by the one rule ``_readable.read`` applies.
        raw = scan(port, version)
        return self.snapshots.write(folder, raw, version, masked=grant.masked, prepare=prepare)

    def _table_folder(self, shared: SharedTable, version: int) -> Path:
        port = shared.port
        return self.snapshots.folder(shared.share, port.port, f"{version}-{terms_key(port.grant)}")

    def _changes_folder(self, shared: SharedTable, version: int, key: str) -> Path:
        return self.snapshots.folder(shared.share, shared.port.port, f"{CHANGES}{version}-{key}")

    def change_snapshots(self, shared: SharedTable, start: int, end: int) -> list[Snapshot]:
        """Per version from ``start`` to ``end``, the masked and filtered change rows; each
        version's are written once (an empty folder for a version with none)."""
        port = shared.port
        if _delta.configuration(port).get("enableChangeDataFeed") != "true":
            raise SharingRequestError(
                f"table {shared.name} has no change data feed ({_delta.CDF_SETTING} is not "
                "true on the table); read it with a query instead"
            )
        if start < 0 or end > port.version or start > end:
            raise SharingRequestError(
                f"startingVersion, endingVersion: {start} to {end} is not a range of published "
                f"versions of {shared.name} (0 to {port.version})"
            )
        key, masked = terms_key(port.grant), port.grant.masked
        folders = {
            version: self._changes_folder(shared, version, key) for version in range(start, end + 1)
        }
        done = {version: self.snapshots.cached(folder) for version, folder in folders.items()}
        missing = [version for version, snapshot in done.items() if snapshot is None]
        if missing:
            times = _delta.commit_times(port)
            rows = _delta.changes(port, min(missing), max(missing))
            for version in missing:
                table = rows.get(version)
                # A version with no row the share lets through is kept as an empty snapshot.
                written = pa.table({}) if table is None else nullable_masks(table, masked)
                done[version] = self.snapshots.write(
                    folders[version], written, version, times.get(version), masked
                )
        return [snapshot for _, snapshot in sorted(done.items()) if snapshot is not None]

    # -- audit -----------------------------------------------------------------------------------

    def record_read(
        self,
        session: Session,
        reader: str,
        shared: SharedTable,
        action: str,
        versions: tuple[int, int],
        lines: list[dict[str, Any]],
    ) -> None:
        """Audit one read of a share (a query or a change feed): who, which port, which
        versions, how many files and rows were handed out."""
        actions = [next(iter(line.values())) for line in lines]
        rows = sum(json.loads(item["stats"])["numRecords"] for item in actions if "stats" in item)
        _audit.record(
            session,
            principal=reader,
            action=f"sharing.{action}",
            target=shared.port.port,
            after={
                "share": shared.share,
                "table": f"{shared.schema}.{shared.name}",
                "versions": list(versions),
                "files": len(actions),
                **({"rows": rows} if action == "query" else {}),
            },
        )

    # -- files -------------------------------------------------------------------------------

    def file(
        self,
        session: Session,
        relative: str,
        expires: int,
        signature: str,
        now: datetime,
        today: date,
    ) -> Path:
        """The snapshot file a signed URL names, if the URL holds and its agreement is active."""
        self.signer.check(relative, expires, signature, now)
        name = relative.split("/", 1)[0]
        agreement = session.scalar(select(Agreement).where(Agreement.name == name))
        if agreement is not None:
            advance(session, agreement, today)
        if agreement is None or agreement.state != "active":
            self.active.forget(name)
            self.snapshots.drop(name)
            state = agreement.state if agreement is not None else "gone"
            raise ForbiddenError(
                f"file URL: agreement {name} is {state}, so its shared files are no longer served"
            )
        path = self.snapshots.path(relative)
        if path is None:
            raise NotFoundError(
                "file URL: the file is no longer there; query the table again for fresh URLs"
            )
        self.active.remember(name, agreement.ends_on)
        return path

    def known_file(self, relative: str, expires: int, signature: str, now: datetime) -> Path | None:
        """The file a signed URL names when its agreement was found active moments ago (no
        database work); None when that is not known, and :meth:`file` must decide. The
        signature and expiry are checked here all the same."""
        self.signer.check(relative, expires, signature, now)
        if not self.active.holds(relative.split("/", 1)[0], now.date()):
            return None
        return self.snapshots.path(relative)

    def sweep(self, session: Session, today: date) -> list[str]:
        """Delete the snapshots of agreements that are no longer active (a backstop to the hook
        that deletes them when an agreement closes)."""

        def active(name: str) -> bool:
            agreement = session.scalar(select(Agreement).where(Agreement.name == name))
            if agreement is None:
                return False
            advance(session, agreement, today)
            return agreement.state == "active"

        return self.snapshots.sweep(active)


def _file_id(relative: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"meshlake:{relative}").hex
