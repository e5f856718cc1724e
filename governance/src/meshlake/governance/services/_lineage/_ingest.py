"""Ingest: events folded in Python, then written set-based, one bulk upsert per table."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    bindparam,
    case,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from meshlake.governance._errors import InvalidRequestError
from meshlake.governance.db._tables import (
    ColumnEdgeRow,
    LineageDataset,
    LineageEvent,
    LineageEventDataset,
    LineageIO,
    LineageJob,
    LineageRun,
)
from meshlake.governance.db._turns import writer_turn
from meshlake.governance.services import _audit
from meshlake.governance.services._access import Caller
from meshlake.governance.services._lineage._gc import gc_paused
from meshlake.governance.services._lineage._graph import _rows
from meshlake.governance.services._lineage._lean import _MEMO_LIMIT, _facet_memo
from meshlake.governance.services._lineage._model import (
    _IN_CHUNK,
    _RANK,
    _TERMINAL_RANK,
    MAX_BATCH,
    DatasetKey,
    IngestResult,
    JobKey,
    _ColumnEdge,
    _EdgeKey,
    _Event,
)
from meshlake.governance.services._lineage._sql import (
    _chunks,
    _dialect,
    _Many,
    _table,
)
from meshlake.governance.services._lineage._validate import json_kind, parse_event
from meshlake.governance.services._lineage._view import read_events


@dataclass
class _Run:
    job: JobKey
    state: str
    started_at: datetime | None
    ended_at: datetime | None
    error: str | None

    @classmethod
    def of(cls, event: _Event) -> _Run:
        terminal = _RANK[event.kind] == _TERMINAL_RANK
        assert event.job is not None  # a run event names its job
        return cls(
            job=event.job,
            state=event.kind,
            started_at=event.time if event.kind in ("START", "RUNNING") else None,
            ended_at=event.time if terminal else None,
            error=event.error if terminal else None,
        )

    def merge(self, other: _Run) -> None:
        """Fold another event of the same run in; the same rule as the database upsert."""
        if _wins(other.state, other.ended_at, self.state, self.ended_at):
            self.state, self.ended_at, self.error = other.state, other.ended_at, other.error
        if other.started_at is not None and (
            self.started_at is None or other.started_at < self.started_at
        ):
            self.started_at = other.started_at


def _wins(
    state: str, ended_at: datetime | None, old_state: str, old_ended_at: datetime | None
) -> bool:
    rank, old_rank = _RANK[state], _RANK[old_state]
    if rank != old_rank or rank != _TERMINAL_RANK:
        return rank > old_rank
    assert ended_at is not None and old_ended_at is not None  # terminal events carry their time
    return (ended_at, state) > (old_ended_at, old_state)


@dataclass
class _Batch:
    """A request's events folded: each job, dataset, run, IO row and column edge once."""

    events: int = 0
    jobs: set[JobKey] = field(default_factory=set)
    datasets: dict[DatasetKey, str | None] = field(default_factory=dict)
    runs: dict[str, _Run] = field(default_factory=dict)
    io: set[tuple[JobKey, DatasetKey, str]] = field(default_factory=set)
    edges: dict[_EdgeKey, tuple[JobKey, str, str, datetime]] = field(default_factory=dict)
    latest: dict[tuple[JobKey, DatasetKey], tuple[datetime, list[_ColumnEdge]]] = field(
        default_factory=dict
    )
    """Per job and output, the column edges of the newest COMPLETE event: what the job writes now."""
    _folded: set[tuple[JobKey, int]] = field(default_factory=set)

    def add(self, event: _Event) -> None:
        self.events += 1
        job = event.job
        if job is None:  # a DatasetEvent: the dataset alone
            for key, logical in event.inputs:
                self._note_dataset(key, logical)
            return
        self.jobs.add(job)
        if event.run_id is not None:  # a JobEvent is static lineage: no run
            run = _Run.of(event)
            known = self.runs.get(event.run_id)
            if known is None:
                self.runs[event.run_id] = run
            else:
                known.merge(run)
        for direction, datasets in (("input", event.inputs), ("output", event.outputs)):
            for key, logical in datasets:
                self._note_dataset(key, logical)
                self.io.add((job, key, direction))
        if event.kind == "COMPLETE":
            for found in event.edges:
                if found:
                    output = (job, found[0][0][0])
                    newest = self.latest.get(output)
                    if newest is None or newest[0] < event.time:
                        self.latest[output] = (event.time, found)
        for found in event.edges:
            # A facet list shared with an earlier event of the same job adds nothing new.
            folded = (job, id(found))
            if folded in self._folded:
                continue
            self._folded.add(folded)
            edges, noted = self.edges, self.datasets
            for edge, (kind, provenance) in found:
                if edge not in edges:
                    edges[edge] = (job, kind, provenance, event.time)
                    # The output is one of the event's outputs, noted above; the input may be new.
                    if edge[2] not in noted:
                        noted[edge[2]] = None

    def _note_dataset(self, key: DatasetKey, logical: str | None) -> None:
        if logical is not None or key not in self.datasets:
            self.datasets[key] = logical or self.datasets.get(key)


def ingest(session: Session, caller: Caller, payload: Any) -> IngestResult:
    """Record one RunEvent (a dict) or a batch of them (a list), all or nothing, and commit.

    Needs a service account's token (or admin): lineage is what jobs report, not what people claim;
    and every event's job must be in the caller's scope (:meth:`Caller.may_write_job`), else the
    whole request is refused (403) and nothing is written.
    A batch is audited as one entry. Problems are InvalidRequestError naming the field, prefixed
    with the event's index in a batch (``[3].run.runId: required``). The session's transaction is
    committed here, inside the writer's turn (see :mod:`._turns`); events are validated and
    folded before it, so other requests' writes go on meanwhile.
    """
    caller.require_service("record lineage")
    if isinstance(payload, list) and len(payload) > MAX_BATCH:
        raise InvalidRequestError(
            f"body: a batch holds at most {MAX_BATCH} events, got {len(payload)}; split it"
        )
    with gc_paused:
        items = payload if isinstance(payload, list) else [payload]
        prefix = isinstance(payload, list)
        if len(_facet_memo) > _MEMO_LIMIT:
            _facet_memo.clear()
        memo = _facet_memo
        events = [
            parse_event(item, f"[{index}]" if prefix else "", memo)
            for index, item in enumerate(items)
        ]
        raws = [orjson.dumps(item) for item in items]
    return _record(session, caller, events, raws)


def ingest_body(session: Session, caller: Caller, raw: bytes, *, batch: bool) -> IngestResult:
    """:func:`ingest` of a request body: a JSON array of RunEvents when ``batch``, else one.

    The body is read by the store's view (:func:`read_events`: only the fields it keeps); a body
    the view does not take as it is is decoded whole and goes through :func:`ingest`, which says
    what is wrong with it.
    """
    caller.require_service("record lineage")
    with gc_paused:
        events = read_events(raw, batch=batch)
        if events is not None:
            raws = _RAW_ITEMS.decode(raw) if batch else [raw]
            return _record(session, caller, events, [bytes(item) for item in raws])
        payload = _decode(raw)
        if batch and not isinstance(payload, list):
            raise InvalidRequestError(
                f"body: a JSON array of RunEvents expected, got {json_kind(payload)}"
            )
        if not batch and not isinstance(payload, dict):
            raise InvalidRequestError(
                f"body: one RunEvent object expected, got {json_kind(payload)}; "
                "send a list of events to /api/v1/lineage/batch"
            )
        try:
            return ingest(session, caller, payload)
        finally:
            # Dropped inside the pause: no collection ever has to walk the decoded body.
            del payload


_RAW_ITEMS = msgspec.json.Decoder(list[msgspec.Raw])
"""A batch body as the bytes of each event, for keeping them as sent (no event is built)."""


def _decode(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise InvalidRequestError(f"body: not valid JSON ({reason})") from None


def _record(
    session: Session, caller: Caller, events: list[_Event], raws: list[bytes]
) -> IngestResult:
    with gc_paused:
        batch = _Batch()
        for event in events:
            batch.add(event)
        # Scope by job only (namespace, name), once per distinct job: nothing else to look up.
        caller.require_jobs(batch.jobs, "record lineage")
        if batch.events:
            _store(session, caller, batch, events, raws)
    return IngestResult(
        events=batch.events,
        runs=len(batch.runs),
        jobs=len(batch.jobs),
        datasets=len(batch.datasets),
        io=len(batch.io),
        column_edges=len(batch.edges),
    )


def _store(
    session: Session, caller: Caller, batch: _Batch, events: list[_Event], raws: list[bytes]
) -> None:
    with writer_turn(session):
        _write(session, batch, events, raws)
        _audit.record(
            session,
            principal=caller.name,
            action="lineage.ingest",
            target=(
                f"{next(iter(batch.jobs)).namespace}/{next(iter(batch.jobs)).name}"
                if len(batch.jobs) == 1
                else f"{len(batch.jobs)} jobs"
            ),
            after={
                "events": batch.events,
                "runs": len(batch.runs),
                "jobs": sorted(f"{job.namespace}/{job.name}" for job in batch.jobs)[:50],
            },
        )
        session.commit()


def _write(session: Session, batch: _Batch, events: list[_Event], raws: list[bytes]) -> None:
    # Known rows are looked up first and only what is new is written: jobs, datasets, IO and column
    # edges recur in every run of a job, so a steady stream of events mostly writes runs. Inserts
    # still say ON CONFLICT DO NOTHING, as a concurrent request may have written the same row since
    # the look-up. Rows are sorted: concurrent PostgreSQL transactions then lock them in the same
    # order and cannot deadlock.
    sql = _statements(_dialect(session))
    # Core on the session's connection (same transaction): the ORM's per-statement bookkeeping is
    # not needed for rows that never become objects.
    connection = session.connection()
    known_jobs = _lookup(connection, sql.jobs_by_key, batch.jobs)
    missing_jobs = sorted(set(batch.jobs) - known_jobs.keys())
    rows: list[dict[str, Any]]
    if missing_jobs:
        rows = [{"namespace": key.namespace, "name": key.name} for key in missing_jobs]
        connection.execute(sql.insert_jobs, rows)
        known_jobs.update(_lookup(connection, sql.jobs_by_key, missing_jobs))
    job_ids = {key: row[0] for key, row in known_jobs.items()}

    known = _lookup(connection, sql.datasets_by_key, batch.datasets)
    stale = sorted(
        key
        for key, logical in batch.datasets.items()
        if key not in known or (logical is not None and known[key][1] != logical)
    )
    if stale:
        rows = [
            {"namespace": key.namespace, "name": key.name, "logical_name": batch.datasets[key]}
            for key in stale
        ]
        connection.execute(sql.upsert_datasets, rows)
        missing = [key for key in stale if key not in known]
        known.update(_lookup(connection, sql.datasets_by_key, missing))
    dataset_ids = {key: row[0] for key, row in known.items()}

    if batch.runs:  # static events (JobEvent, DatasetEvent) have none
        sql.upsert_runs.execute(
            connection,
            [
                (run_id, job_ids[run.job], run.state, run.started_at, run.ended_at, run.error)
                for run_id, run in sorted(batch.runs.items())
            ],
        )

    wanted_io = {(job_ids[job], dataset_ids[key], way) for job, key, way in batch.io}
    known_io = _existing(connection, sql.io_of_jobs, {row[0] for row in wanted_io})
    new_io = sorted(wanted_io - known_io)
    if new_io:
        sql.insert_io.execute(connection, new_io)

    wanted = {
        (dataset_ids[output], output_column, dataset_ids[source], input_column, subtype): (
            job_ids[job],
            kind,
            provenance,
            seen,
        )
        for (output, output_column, source, input_column, subtype), (
            job,
            kind,
            provenance,
            seen,
        ) in batch.edges.items()
    }
    outputs = {key[0] for key in wanted} | {dataset_ids[key[1]] for key in batch.latest}
    known_edges = {
        tuple(row[:5]): (row[5], row[6], row[7])
        for row in _rows(connection, sql.edges_of_outputs, outputs)
    }
    new_edges = sorted(wanted.keys() - known_edges.keys())
    if new_edges:
        edge_rows = []
        for key in new_edges:
            job_id, kind, provenance, seen = wanted[key]
            edge_rows.append(
                (job_id, key[0], key[1], key[2], key[3], kind, key[4], provenance, seen)
            )
        sql.insert_edges.execute(connection, edge_rows)
    _update_currency(connection, sql, batch, job_ids, dataset_ids, known_edges)
    _keep_events(connection, sql, events, raws, job_ids, dataset_ids)


def _keep_events(
    connection: Connection,
    sql: _Statements,
    events: list[_Event],
    raws: list[bytes],
    job_ids: dict[JobKey, int],
    dataset_ids: dict[DatasetKey, int],
) -> None:
    """Keep each event as sent, once (by the digest of its body), with the datasets it names."""
    received = datetime.now(UTC)
    rows: dict[str, tuple[Any, ...]] = {}
    named: dict[str, set[int]] = {}
    for event, raw in zip(events, raws, strict=True):
        digest = hashlib.sha256(raw).hexdigest()
        if digest in rows:
            continue
        job_id = None if event.job is None else job_ids[event.job]
        rows[digest] = (
            digest,
            event.shape,
            event.event_type,
            event.time,
            event.run_id,
            job_id,
            received,
            raw.decode(),
        )
        named[digest] = {dataset_ids[key] for key, _logical in (*event.inputs, *event.outputs)}
    known = _event_ids(connection, sql, sorted(rows))
    # In the order received (ids are the order GET /lineage/events pages in).
    new = [digest for digest in rows if digest not in known]
    if not new:
        return
    sql.insert_events.execute(connection, [rows[digest] for digest in new])
    ids = _event_ids(connection, sql, new)
    links = sorted(
        (ids[digest], dataset_id) for digest in new if digest in ids for dataset_id in named[digest]
    )
    if links:
        sql.insert_event_datasets.execute(connection, links)


def _event_ids(connection: Connection, sql: _Statements, digests: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(digests, _IN_CHUNK):
        for row in connection.execute(sql.events_by_digest, {"digests": list(chunk)}):
            found[row[1]] = row[0]
    return found


def _update_currency(
    connection: Connection,
    sql: _Statements,
    batch: _Batch,
    job_ids: dict[JobKey, int],
    dataset_ids: dict[DatasetKey, int],
    known: dict[tuple[Any, ...], tuple[int, datetime | None, datetime | None]],
) -> None:
    """Retire the stored edges a job's newest COMPLETE no longer carries; revive those it carries
    again. Only what changes is written; an event older than an edge's last change changes nothing.

    ``known`` holds seen_at and retired_at as the database hands them back: aware (UTC) on both
    databases (db/_tables.UtcDateTime), like the event's moment.
    """
    by_output: dict[tuple[int, int], list[tuple[Any, ...]]] = {}
    for key, (job_id, _seen, _retired) in known.items():
        by_output.setdefault((job_id, key[0]), []).append(key)
    retire, revive = [], []
    for (job, output), (moment, found) in sorted(batch.latest.items()):
        job_id, output_id = job_ids[job], dataset_ids[output]
        at = moment.astimezone(UTC)
        present = {
            (output_id, column, dataset_ids[source], input_column, subtype)
            for (_output, column, source, input_column, subtype), _how in found
        }
        for key in by_output.get((job_id, output_id), []):
            _job, seen, retired = known[key]
            if key in present:
                if retired is not None and retired < at:
                    revive.append(_edge_params(key, moment))
            elif retired is None and (seen is None or seen < at):
                retire.append(_edge_params(key, moment))
    if retire:
        connection.execute(sql.retire_edge, retire)
    if revive:
        connection.execute(sql.revive_edge, revive)


def _edge_params(key: tuple[Any, ...], moment: datetime) -> dict[str, Any]:
    return {
        "k_output": key[0],
        "k_output_column": key[1],
        "k_input": key[2],
        "k_input_column": key[3],
        "k_subtype": key[4],
        "k_at": moment,
    }


@dataclass(frozen=True)
class _Statements:
    """The ingest's statements for one dialect, built once: building a statement (and its cache
    key) costs more than running it when a request carries one event."""

    insert_jobs: Any
    upsert_datasets: Any
    upsert_runs: _Many  # run_id, job_id, state, started_at, ended_at, error
    insert_io: _Many  # job_id, dataset_id, direction
    insert_edges: _Many  # job_id, the edge's key, type, provenance, seen_at (column order)
    jobs_by_key: Any  # -> id, namespace, name
    datasets_by_key: Any  # -> id, namespace, name, logical_name
    io_of_jobs: Any
    edges_of_outputs: Any  # -> the edge's key, job_id, seen_at, retired_at
    retire_edge: Any
    revive_edge: Any
    insert_events: _Many  # digest, shape, event_type, event_time, run_id, job_id, received, body
    insert_event_datasets: _Many  # event_id, dataset_id
    events_by_digest: Any  # -> id, digest


@functools.cache
def _statements(dialect: str) -> _Statements:
    insert: Any = sqlite.insert if dialect == "sqlite" else postgresql.insert
    jobs, datasets, runs = _table(LineageJob), _table(LineageDataset), _table(LineageRun)
    io, edges = _table(LineageIO), _table(ColumnEdgeRow)
    events, event_datasets = _table(LineageEvent), _table(LineageEventDataset)
    upsert_datasets = insert(datasets)
    # A logical name, once known, is kept: a later event without symlinks does not erase it.
    upsert_datasets = upsert_datasets.on_conflict_do_update(
        index_elements=["namespace", "name"],
        set_={"logical_name": upsert_datasets.excluded.logical_name},
        where=and_(
            upsert_datasets.excluded.logical_name.is_not(None),
            datasets.c.logical_name.is_distinct_from(upsert_datasets.excluded.logical_name),
        ),
    )
    upsert_runs = insert(runs)
    values, where = _run_merge(runs, upsert_runs.excluded)
    upsert_runs = upsert_runs.on_conflict_do_update(
        index_elements=["run_id"], set_=values, where=where
    )
    namespaces: Any = bindparam("namespaces", expanding=True)
    names: Any = bindparam("names", expanding=True)
    ids: Any = bindparam("ids", expanding=True)
    edge_key = (
        edges.c.output_dataset_id == bindparam("k_output"),
        edges.c.output_column == bindparam("k_output_column"),
        edges.c.input_dataset_id == bindparam("k_input"),
        edges.c.input_column == bindparam("k_input_column"),
        edges.c.subtype == bindparam("k_subtype"),
    )
    return _Statements(
        insert_jobs=insert(jobs).on_conflict_do_nothing(),
        upsert_datasets=upsert_datasets,
        upsert_runs=_Many(
            upsert_runs, runs, ("run_id", "job_id", "state", "started_at", "ended_at", "error")
        ),
        insert_io=_Many(
            insert(io).on_conflict_do_nothing(), io, ("job_id", "dataset_id", "direction")
        ),
        insert_edges=_Many(
            insert(edges).on_conflict_do_nothing(),
            edges,
            (
                "job_id",
                "output_dataset_id",
                "output_column",
                "input_dataset_id",
                "input_column",
                "type",
                "subtype",
                "provenance",
                "seen_at",
            ),
        ),
        # namespace IN (...) AND name IN (...), exact pairs picked in Python: SQLite does not use
        # the (namespace, name) index for a row-value IN, and scans the table instead.
        jobs_by_key=select(jobs.c.id, jobs.c.namespace, jobs.c.name).where(
            jobs.c.namespace.in_(namespaces), jobs.c.name.in_(names)
        ),
        datasets_by_key=select(
            datasets.c.id, datasets.c.namespace, datasets.c.name, datasets.c.logical_name
        ).where(datasets.c.namespace.in_(namespaces), datasets.c.name.in_(names)),
        io_of_jobs=select(io.c.job_id, io.c.dataset_id, io.c.direction).where(io.c.job_id.in_(ids)),
        edges_of_outputs=select(
            edges.c.output_dataset_id,
            edges.c.output_column,
            edges.c.input_dataset_id,
            edges.c.input_column,
            edges.c.subtype,
            edges.c.job_id,
            edges.c.seen_at,
            edges.c.retired_at,
        ).where(edges.c.output_dataset_id.in_(ids)),
        retire_edge=update(edges).where(*edge_key).values(retired_at=bindparam("k_at")),
        revive_edge=update(edges)
        .where(*edge_key)
        .values(retired_at=None, seen_at=bindparam("k_at")),
        insert_events=_Many(
            insert(events).on_conflict_do_nothing(),
            events,
            (
                "digest",
                "shape",
                "event_type",
                "event_time",
                "run_id",
                "job_id",
                "received_at",
                "body",
            ),
        ),
        insert_event_datasets=_Many(
            insert(event_datasets).on_conflict_do_nothing(),
            event_datasets,
            ("event_id", "dataset_id"),
        ),
        events_by_digest=select(events.c.id, events.c.digest).where(
            events.c.digest.in_(bindparam("digests", expanding=True))
        ),
    )


def _run_merge(runs: Table, excluded: Any) -> tuple[dict[str, Any], ColumnElement[bool]]:
    """The SET and WHERE of the runs upsert: :meth:`_Run.merge` in SQL, evaluated on the old row
    (the update happens only when it changes something)."""
    new_rank, old_rank = _rank(excluded.state), _rank(runs.c.state)
    wins = or_(
        new_rank > old_rank,
        and_(
            new_rank == literal_column(str(_TERMINAL_RANK)),
            old_rank == literal_column(str(_TERMINAL_RANK)),
            or_(
                excluded.ended_at > runs.c.ended_at,
                and_(excluded.ended_at == runs.c.ended_at, excluded.state > runs.c.state),
            ),
        ),
    )
    earlier = and_(
        excluded.started_at.is_not(None),
        or_(runs.c.started_at.is_(None), excluded.started_at < runs.c.started_at),
    )
    values = {
        "state": case((wins, excluded.state), else_=runs.c.state),
        "ended_at": case((wins, excluded.ended_at), else_=runs.c.ended_at),
        "error": case((wins, excluded.error), else_=runs.c.error),
        "started_at": case((earlier, excluded.started_at), else_=runs.c.started_at),
    }
    return values, or_(wins, earlier)


def _rank(state: Any) -> ColumnElement[int]:
    # Constants written into the SQL, not bound: an executemany binds every parameter of every
    # row, and the ranks would be most of them.
    return case(
        {literal_column(f"'{name}'"): literal_column(str(rank)) for name, rank in _RANK.items()},
        value=state,
        else_=literal_column("0"),
    )


def _lookup(
    connection: Connection, statement: Any, keys: Iterable[tuple[str, str]]
) -> dict[Any, tuple[Any, ...]]:
    """Row (id, namespace, name, ...) of each (namespace, name) key that exists, in chunks."""
    by_pair = {(key[0], key[1]): key for key in keys}
    found: dict[Any, tuple[Any, ...]] = {}
    for chunk in _chunks(sorted(by_pair), _IN_CHUNK):
        params = {
            "namespaces": sorted({pair[0] for pair in chunk}),
            "names": sorted({pair[1] for pair in chunk}),
        }
        for row in connection.execute(statement, params):
            key = by_pair.get((row[1], row[2]))
            if key is not None:
                found[key] = (row[0], *row[3:])
    return found


def _existing(connection: Connection, statement: Any, ids: Iterable[int]) -> set[tuple[Any, ...]]:
    found: set[tuple[Any, ...]] = set()
    for chunk in _chunks(sorted(ids), _IN_CHUNK):
        found.update(map(tuple, connection.execute(statement, {"ids": list(chunk)}).all()))
    return found
