"""A governed query from start to answer: grants, check, read at pinned versions, run, page, audit.

The terms come from :func:`readable_ports` (own domains whole, active agreements with their
columns, masks and row scope), so a query reads exactly what the Delta Sharing server would serve.
Only the ports the checked query uses are read, each at the version the catalog published. A page
cursor pins those versions, so the next page reads the same data; a cursor is checked against the
versions the catalog recorded, so an edited one cannot reach a commit governance never published.

Each page runs the query again at the pinned versions (no result is kept between requests), so a
page costs a run; without ORDER BY the row order is DuckDB's, stable with one thread (the default).

The database is used in two short transactions (grants, then the audit entry); none is open while
delta-rs reads and DuckDB runs, so a slow query holds no database connection.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import pyarrow as pa
import sqlglot
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError, TableNotFoundError
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlglot import exp

from meshlake.governance._errors import ConflictError, GovernanceError, InvalidRequestError
from meshlake.governance._settings import GovernanceSettings
from meshlake.governance.db._tables import Dataset, DatasetVersion
from meshlake.governance.services import _audit
from meshlake.governance.services._access import Caller
from meshlake.governance.services._readable import ReadablePort, readable_ports, scan
from meshlake.governance.services._sql import (
    CheckedQuery,
    LimitExceeded,
    QueryLimits,
    StatementRefused,
    TableGrant,
    check,
    run,
)
from meshlake.platform import storage_options

Sessions = Callable[[], AbstractContextManager[Session]]
ACTION = "query"


@dataclass(frozen=True)
class QueryBounds:
    """The limits of one governed query (``MESHLAKE_QUERY_*``)."""

    row_limit: int = 10_000
    timeout_seconds: float = 10.0
    memory_limit: str = "256MB"
    threads: int = 1
    max_bytes_read: int = 1024 * 1024 * 1024

    @classmethod
    def from_settings(cls, settings: GovernanceSettings) -> QueryBounds:
        return cls(
            row_limit=settings.query_row_limit,
            timeout_seconds=settings.query_timeout_seconds,
            memory_limit=settings.query_memory_limit,
            threads=settings.query_threads,
            max_bytes_read=settings.query_max_bytes_read,
        )

    def limits(self) -> QueryLimits:
        # One row past the limit is fetched, so a cut result is known to be cut.
        return QueryLimits(
            row_limit=self.row_limit + 1,
            memory_limit=self.memory_limit,
            threads=self.threads,
            timeout_seconds=self.timeout_seconds,
        )


@dataclass(frozen=True)
class PortRead:
    """One port a query read: at which version, under which agreement (None: its own domain)."""

    port: str
    version: int
    agreement: str | None


@dataclass(frozen=True)
class QueryAnswer:
    """One page of a governed query's result."""

    table: pa.Table
    ports: tuple[PortRead, ...]
    truncated: bool
    """True when the query had more rows than the row limit; the rest is not served."""
    next_page: str | None
    """The cursor of the next page, or None on the last one."""


def governed_query(
    sessions: Sessions,
    caller: Caller,
    today: date,
    sql: str,
    *,
    bounds: QueryBounds,
    page_size: int,
    page: str | None = None,
) -> QueryAnswer:
    """Answer ``sql`` for ``caller`` as its grants allow, one page of ``page_size`` rows.

    Every answer and every refusal is audited (who, the SQL, the ports and versions, the rows).
    Refusals raise a :class:`GovernanceError` (403 for what is not granted, 422 for the rest).
    """
    ports: dict[str, int] = {}
    try:
        cursor = _Cursor.decode(page, sql) if page is not None else None
        with sessions() as session, session.begin():
            readable = readable_ports(session, caller, today)
            checked = _checked(sql, readable, bounds)
            by_relation = {port.grant.relation: port for port in readable.values()}
            referred = referred_names(checked.sql)
            used = [_narrowed(by_relation[r], referred) for r in sorted(checked.grants)]
            checked = CheckedQuery(
                checked.sql, {port.grant.relation: port.grant for port in used}, checked.row_limit
            )
            ports = _versions(session, used, cursor)
        _within_bytes(used, ports, bounds.max_bytes_read)
        data = {port.grant.relation: scan(port, ports[port.port]) for port in used}
        result = _ran(checked, data, bounds)
    except GovernanceError as refusal:
        _record(sessions, caller, sql, ports, outcome="refused", reason=str(refusal))
        refusal.audited = True
        raise
    truncated = result.num_rows > bounds.row_limit
    total = min(result.num_rows, bounds.row_limit)
    offset = cursor.offset if cursor else 0
    end = min(offset + page_size, total)
    answer = QueryAnswer(
        table=result.slice(offset, max(end - offset, 0)),
        ports=tuple(PortRead(port.port, ports[port.port], port.agreement) for port in used),
        truncated=truncated,
        next_page=_Cursor(_digest(sql), end, ports).encode() if end < total else None,
    )
    _record(
        sessions,
        caller,
        sql,
        ports,
        outcome="ok",
        rows=answer.table.num_rows,
        offset=offset,
        truncated=truncated,
    )
    return answer


def _checked(sql: str, readable: Mapping[str, ReadablePort], bounds: QueryBounds) -> CheckedQuery:
    grants: dict[str, TableGrant] = {ref: port.grant for ref, port in readable.items()}
    try:
        return check(sql, grants, bounds.limits())
    except StatementRefused as refusal:
        raise StatementRefused(f"sql: {refusal}") from refusal


def _ran(checked: CheckedQuery, data: Mapping[str, pa.Table], bounds: QueryBounds) -> pa.Table:
    try:
        return run(checked, data, bounds.limits())
    except (StatementRefused, LimitExceeded) as refusal:
        raise type(refusal)(f"sql: {refusal}") from refusal


def referred_names(sql: str) -> set[str] | None:
    """The names a query can refer to a column by, lowercased; None when it may refer to them
    all: ``*`` (but in ``count(*)``), or a table alias used as a value (a whole-row struct).

    Over-approximated on purpose: every identifier counts, whatever its role.
    """
    try:
        root = sqlglot.parse_one(sql, read="duckdb")
    except RecursionError:
        return None
    if any(not isinstance(star.parent, exp.Count) for star in root.find_all(exp.Star)):
        return None
    aliases = {t.alias_or_name.lower() for t in root.find_all(exp.Table)} | {
        a.name.lower() for a in root.find_all(exp.TableAlias)
    }
    if any(column.name.lower() in aliases for column in root.find_all(exp.Column)):
        return None
    return {identifier.name.lower() for identifier in root.find_all(exp.Identifier)}


def _narrowed(port: ReadablePort, referred: set[str] | None) -> ReadablePort:
    return replace(port, grant=narrowed_grant(port.grant, referred))


def narrowed_grant(grant: TableGrant, referred: set[str] | None) -> TableGrant:
    """``grant`` cut to the columns a query can refer to (see :func:`referred_names`), so a
    column it never names is neither read nor masked (hashing a column costs more than most
    aggregates). Cutting can only hide columns, never show one the grant does not."""
    if referred is None:
        return grant
    columns = tuple(c for c in grant.columns if c.lower() in referred)
    if not columns:
        # DuckDB takes no table without columns (count(*) alone): keep the cheapest one.
        plain = [c for c in grant.columns if c not in grant.masked]
        columns = tuple((plain or list(grant.columns))[:1])
    return replace(grant, columns=columns, masked=frozenset(grant.masked & set(columns)))


def _versions(session: Session, used: list[ReadablePort], cursor: _Cursor | None) -> dict[str, int]:
    """The version each used port is read at: the published one, or the cursor's pin, which must
    be a version the catalog recorded for that port and not past the published one."""
    if cursor is None:
        return {port.port: port.version for port in used}
    versions = {}
    for port in used:
        pinned = cursor.versions.get(port.port)
        if pinned is None:
            raise InvalidRequestError(
                f"page: the cursor does not pin {port.port}; send the query again without page"
            )
        recorded = session.scalar(
            select(DatasetVersion.id)
            .join(Dataset, DatasetVersion.dataset_id == Dataset.id)
            .where(Dataset.ref == port.port, DatasetVersion.delta_version == pinned)
        )
        if recorded is None or pinned > port.version:
            raise InvalidRequestError(
                f"page: version {pinned} of {port.port} is not a published version; "
                "send the query again without page"
            )
        versions[port.port] = pinned
    return versions


def _within_bytes(used: list[ReadablePort], versions: Mapping[str, int], limit: int) -> None:
    sizes = {port.port: _files_bytes(port, versions[port.port]) for port in used}
    total = sum(sizes.values())
    if total > limit:
        detail = ", ".join(f"{name} {size:,} bytes" for name, size in sizes.items())
        raise LimitExceeded(
            f"sql: the query would read {total:,} bytes ({detail}), over the limit of {limit:,} "
            "(MESHLAKE_QUERY_MAX_BYTES_READ); read fewer ports"
        )


def _files_bytes(port: ReadablePort, version: int) -> int:
    try:
        actions = pa.table(
            DeltaTable(
                port.location, version=version, storage_options=storage_options(port.location)
            ).get_add_actions(flatten=True)
        )
    except TableNotFoundError:
        raise ConflictError(f"{port.port}: no Delta table at {port.location}") from None
    except DeltaError as exc:
        raise ConflictError(f"{port.port}: version {version} cannot be read: {exc}") from None
    return int(pa.compute.sum(actions["size_bytes"]).as_py() or 0)


def _record(
    sessions: Sessions,
    caller: Caller,
    sql: str,
    ports: Mapping[str, int],
    *,
    outcome: str,
    reason: str | None = None,
    **figures: Any,
) -> None:
    with sessions() as session, session.begin():
        _audit.record(
            session,
            principal=caller.name,
            action=ACTION,
            target=",".join(sorted(ports)) or None,
            outcome=outcome,
            reason=reason,
            after={"sql": sql, "tables": dict(ports), **figures},
        )


def _digest(sql: str) -> str:
    return hashlib.sha256(sql.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class _Cursor:
    """Where the next page starts, for which query, at which versions (opaque to clients)."""

    query: str
    offset: int
    versions: Mapping[str, int]

    def encode(self) -> str:
        text = json.dumps({"q": self.query, "o": self.offset, "v": dict(self.versions)})
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, page: str, sql: str) -> _Cursor:
        try:
            raw = json.loads(base64.urlsafe_b64decode(page + "=" * (-len(page) % 4)))
            cursor = cls(
                str(raw["q"]), int(raw["o"]), {str(k): int(v) for k, v in raw["v"].items()}
            )
        except (ValueError, TypeError, KeyError, AttributeError, binascii.Error):
            raise InvalidRequestError(
                "page: not a cursor this service issued; send the next_page of the previous answer"
            ) from None
        if cursor.query != _digest(sql):
            raise InvalidRequestError(
                "page: the cursor belongs to another query; send it with the same sql"
            )
        if cursor.offset < 0:
            raise InvalidRequestError("page: not a cursor this service issued")
        return cursor
