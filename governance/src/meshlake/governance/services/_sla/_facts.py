"""The facts an SLA is measured on, read from a Delta log with delta-rs and cached by version.

A Delta version never changes once committed, so everything read at a version (its commits,
rows, which older versions are still readable) stays true until the next commit. ``LogFacts``
keeps those facts per (location, version): to re-evaluate a port it lists the log for the latest
version number (one listing, no file read), and reads the log again only when that number moved.
Ten agreements on one port, or one port evaluated every minute, then cost one listing each.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow.fs as pafs
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError, TableNotFoundError
from deltalake.fs import DeltaStorageHandler

from meshlake.governance.services._delta_log import row_count
from meshlake.platform import storage_options as options_for

_COMMIT_FILE = re.compile(r"(?:^|/)(\d{20})\.json$")
MAINTENANCE = frozenset(
    {
        "OPTIMIZE",
        "VACUUM START",
        "VACUUM END",
        "SET TBLPROPERTIES",
        "UNSET TBLPROPERTIES",
        "UPGRADE PROTOCOL",
        "ADD CONSTRAINT",
        "DROP CONSTRAINT",
        "FSCK",
        "REORG",
        "ANALYZE",
    }
)
"""Commit operations that bring no new data: they do not make a table fresh."""


@dataclass(frozen=True)
class Commit:
    version: int
    at: datetime
    operation: str


@dataclass(frozen=True)
class TableFacts:
    """One version of a table as its log tells it; shared by every evaluation at that version."""

    location: str
    version: int
    commits: tuple[Commit, ...]
    """The commits still in the log, newest first."""
    row_count: int
    readable: dict[int, str | None] = field(default_factory=dict, compare=False, repr=False)
    """Memo of ``LogFacts.unreadable``: older version -> why it cannot be read (None: it can)."""

    @property
    def last_commit(self) -> Commit:
        return self.commits[0]

    @property
    def last_data_commit(self) -> Commit:
        """The newest commit that changed data; an OPTIMIZE or VACUUM does not freshen a table."""
        for commit in self.commits:
            if commit.operation.upper() not in MAINTENANCE:
                return commit
        return self.commits[0]


class LogFacts:
    """Reads and caches ``TableFacts``; ``reads`` counts each kind of log access.

    ``reads["listing"]``: latest-version look-ups; ``reads["load"]``: full reads of a version
    (table state, new commits, rows); ``reads["older"]``: checks that an older version is still
    readable. With ``cached=False`` every look-up reads everything again (a baseline).
    """

    def __init__(
        self, cached: bool = True, storage_options: Mapping[str, str] | None = None
    ) -> None:
        self.cached = cached
        self.storage_options = dict(storage_options) if storage_options else None
        """Options for every table; None: each location's own (``meshlake.platform``)."""
        self.reads: Counter[str] = Counter()
        self._facts: dict[str, TableFacts] = {}

    def _options(self, location: str) -> dict[str, str] | None:
        return self.storage_options or options_for(location)

    def latest_version(self, location: str) -> int | None:
        """The newest commit's version, from a listing of ``_delta_log``; None: no table there."""
        self.reads["listing"] += 1
        try:
            handler = DeltaStorageHandler(location, self._options(location))
            infos = handler.get_file_info_selector(
                pafs.FileSelector("_delta_log", allow_not_found=True)
            )
        except (TableNotFoundError, FileNotFoundError):
            return None
        versions = [int(m.group(1)) for info in infos if (m := _COMMIT_FILE.search(info.path))]
        return max(versions, default=None)

    def facts(self, location: str) -> TableFacts | None:
        """The facts at the table's latest version; None when there is no table at ``location``."""
        latest = self.latest_version(location)
        if latest is None:
            self._facts.pop(location, None)
            return None
        known = self._facts.get(location)
        if self.cached and known is not None and known.version == latest:
            return known
        try:
            facts = self._read(location, latest, known if self.cached else None)
        except TableNotFoundError:
            self._facts.pop(location, None)
            return None
        self._facts[location] = facts  # replaces the facts of the older version
        return facts

    def unreadable(self, facts: TableFacts, version: int) -> str | None:
        """Why ``version`` of the table can no longer be read (its log entry or a data file is
        gone); None when delta-rs loads it and every data file it needs is there."""
        if version == facts.version:
            return None  # just loaded to read these facts
        if self.cached and version in facts.readable:
            return facts.readable[version]
        self.reads["older"] += 1
        reason = self._check(facts.location, version)
        facts.readable[version] = reason
        return reason

    def _read(self, location: str, version: int, known: TableFacts | None) -> TableFacts:
        self.reads["load"] += 1
        table = DeltaTable(location, version=version, storage_options=self._options(location))
        if known is not None and known.version < version:
            # Committed versions never change: read only the commits since the cached version.
            new = _commits(table.history(version - known.version))
            commits = (*(c for c in new if c.version > known.version), *known.commits)
        else:
            commits = _commits(table.history())
        return TableFacts(location, version, commits, row_count(table))

    def _check(self, location: str, version: int) -> str | None:
        try:
            table = DeltaTable(location, version=version, storage_options=self._options(location))
            paths = table.get_add_actions(flatten=True).column("path").to_pylist()
        except (DeltaError, OSError) as exc:
            return f"version {version} cannot be loaded from the Delta log: {_first_line(exc)}"
        if not paths:
            return None
        handler = DeltaStorageHandler(location, self._options(location))
        try:
            infos = handler.get_file_info([str(path) for path in paths])
        except OSError as exc:
            return f"the data files of version {version} cannot be listed: {_first_line(exc)}"
        gone = [info.path for info in infos if info.type == pafs.FileType.NotFound]
        if gone:
            return (
                f"{len(gone)} of the {len(paths)} data files of version {version} are gone "
                f"(vacuumed?), e.g. {gone[0]}"
            )
        return None


def _commits(history: list[dict[str, object]]) -> tuple[Commit, ...]:
    commits = []
    for item in history:
        version, stamp = item.get("version"), item.get("timestamp")
        if not isinstance(version, int) or not isinstance(stamp, int | float):
            continue
        at = datetime.fromtimestamp(stamp / 1000, UTC)
        commits.append(Commit(version, at, str(item.get("operation") or "")))
    commits.sort(key=lambda commit: commit.version, reverse=True)
    return tuple(commits)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
