"""The lineage store: OpenLineage RunEvents in; table graphs, column graphs, impact and runs out.

Ingest is set-based so that a batch of thousands of events costs a handful of statements: the events
are validated and folded in Python first (jobs, datasets, runs, IO and column edges, each once), the
rows already stored are looked up, and what is new is written with one bulk ``INSERT ... ON
CONFLICT`` per table. Every write is an upsert whose result does not depend on the order of the
events, so the same event sent twice (HTTP transports retry) changes nothing, and a COMPLETE that
overtakes its START still leaves the run COMPLETE.

Graph queries walk a frontier: one set-based query per hop (never one per node), with the visited
set kept in Python so cycles and diamonds cost nothing extra.
"""

from __future__ import annotations

import functools
import gc
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from meshlake.governance._errors import GovernanceError, InvalidRequestError, NotFoundError
from meshlake.governance.db._tables import (
    ColumnEdgeRow,
    LineageDataset,
    LineageIO,
    LineageJob,
    LineageRun,
)
from meshlake.governance.services import _audit
from meshlake.governance.services._access import Caller

EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")
_RANK = {"OTHER": 0, "START": 1, "RUNNING": 2, "COMPLETE": 3, "ABORT": 3, "FAIL": 3}
"""How far a run has got; a run's state only moves up (terminal states tie, the latest wins)."""
_TERMINAL_RANK = 3

LOGICAL_NAMESPACE = "meshlake"
"""The symlinks namespace whose identifier is a dataset's logical name (``domain.product.port``)."""
DEFAULT_PROVENANCE = "parsed"
"""An edge whose transformation says nothing about provenance was, as far as we know, parsed."""
UNKNOWN_TRANSFORMATION = "UNKNOWN"
"""The type of an ``inputFields`` entry without ``transformations`` (older facet versions)."""
MAX_BATCH = 10_000
MAX_DEPTH = 50
Direction = Literal["upstream", "downstream", "both"]
Level = Literal["table", "column"]

# Column sizes of the lineage tables: PostgreSQL refuses longer values with an error that would be a
# 500, so they are checked here and reported as the field that is too long.
_JOB_PART = 300
_DATASET_NAMESPACE = 300
# Text, but part of the unique (namespace, name) btree key, whose entries PostgreSQL caps at 2.7 kB.
_DATASET_NAME = 1000
_LOGICAL_NAME = 500
_RUN_ID = 64
_COLUMN = 200
_TYPE = 20
_SUBTYPE = 30
_PROVENANCE = 20
_IN_CHUNK = 500  # keys per IN (...) list: far below SQLite's and PostgreSQL's parameter limits


class JobKey(NamedTuple):
    namespace: str
    name: str


class DatasetKey(NamedTuple):
    namespace: str
    name: str


@dataclass(frozen=True)
class DatasetRef:
    """A dataset as callers name it: its logical name (``domain.product.port``), or a physical name
    with its namespace. Without a namespace, every dataset whose logical name (else physical name)
    is ``name`` answers; a port written at several locations is one logical dataset."""

    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True)
class JobRef:
    """A job by name (``domain.product`` for meshlake), optionally within one namespace (its zone)."""

    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class IngestResult:
    """What a request carried, each thing counted once (recording it again is a no-op)."""

    events: int
    runs: int
    jobs: int
    datasets: int
    io: int
    column_edges: int


@dataclass(slots=True)
class Node:
    id: str
    kind: Literal["dataset", "job"]
    namespace: str
    name: str
    logical_name: str | None
    depth: int


@dataclass(slots=True)
class Edge:
    """Data flows from ``source`` to ``target``. Table level: dataset -> job -> dataset. Column level:
    dataset column -> dataset column (``target_column`` None: the target's rows as a whole, such as a
    join key or a filter), written by ``job``."""

    source: str
    target: str
    source_column: str | None = None
    target_column: str | None = None
    job: str | None = None
    type: str | None = None
    subtype: str | None = None
    provenance: str | None = None


@dataclass(frozen=True)
class Graph:
    start: list[str]
    direction: str
    depth: int
    level: str
    nodes: list[Node]
    edges: list[Edge]


@dataclass(slots=True)
class ImpactedColumn:
    dataset: str
    namespace: str
    name: str
    logical_name: str | None
    column: str | None  # None: the dataset's rows as a whole (a dataset-level dependency)
    depth: int


@dataclass(frozen=True)
class Impact:
    dataset: str
    column: str
    columns: list[ImpactedColumn]
    datasets: list[Node]
    jobs: list[Node]
    products: list[str]
    domains: list[str]
    edges: list[Edge]


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    job_namespace: str
    job_name: str
    state: str
    started_at: datetime | None
    ended_at: datetime | None
    error: str | None


class _GcPause:
    """Pauses the cyclic garbage collector while lineage is decoded, read and written, across threads.

    Ingesting a batch makes and drops some 10^6 dicts, lists and tuples (the JSON, the parsed
    edges, the rows looked up); every allocation threshold crossed starts a collection, and the
    full ones walk the whole heap: with the collector on, a batch took twice as long. Nearly all of
    it is freed by reference counting the moment it is dropped, so those collections find next to
    nothing.

    The pause is process-wide, so it is counted: the collector is back on (if it was on) when the
    last overlapping pause ends. Under a steady stream of batches the pauses may overlap for good;
    then a full collection runs at most every ``max_seconds``, which bounds what garbage from
    other requests can pile up.
    """

    def __init__(self, max_seconds: float = 1.0) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._was_enabled = False
        self._since = 0.0
        self._max_seconds = max_seconds

    def __enter__(self) -> None:
        with self._lock:
            if self._holders == 0:
                self._was_enabled = gc.isenabled()
                self._since = time.monotonic()
                gc.disable()
            self._holders += 1

    def __exit__(self, *_exc: object) -> None:
        overdue = False
        with self._lock:
            self._holders -= 1
            if self._holders == 0:
                if self._was_enabled:
                    gc.enable()
            elif self._was_enabled and time.monotonic() - self._since > self._max_seconds:
                overdue, self._since = True, time.monotonic()
        if overdue:
            gc.collect()


gc_paused = _GcPause()


# ---------------------------------------------------------------------------------------------
# Validation: the minimum shape, every problem named by its path in the event


_EdgeKey = tuple[DatasetKey, str, DatasetKey, str, str]
"""A column edge's identity in the store: output dataset, output column ("" for a dataset-level
dependency), input dataset, input column, subtype."""
_ColumnEdge = tuple[_EdgeKey, tuple[str, str]]
"""An edge with its type and provenance. Plain tuples: a batch holds hundreds of thousands."""


@dataclass
class _Event:
    kind: str
    time: datetime
    run_id: str
    job: JobKey
    error: str | None
    inputs: list[tuple[DatasetKey, str | None]]
    outputs: list[tuple[DatasetKey, str | None]]
    edges: list[list[_ColumnEdge]]
    """Per output with a columnLineage facet, its edges; events that carry the same facet share
    one list (see ``memo`` of :func:`parse_event`)."""


def _at(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def json_kind(value: Any) -> str:
    """The JSON type of a decoded value, as messages name it ("got a number")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _invalid(path: str, problem: str) -> InvalidRequestError:
    return InvalidRequestError(f"{path or 'event'}: {problem}")


def _object(value: Any, path: str, *, optional: bool = False) -> dict[str, Any]:
    if value is None and optional:
        return {}
    if not isinstance(value, dict):
        raise _invalid(
            path, "required" if value is None else f"must be an object, got {json_kind(value)}"
        )
    return value


def _array(value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _invalid(path, f"must be an array, got {json_kind(value)}")
    return value


def _text(value: Any, path: str, limit: int | None = None, *, optional: bool = False) -> str | None:
    if optional and (value is None or value == ""):
        return None
    if value is None or value == "":
        raise _invalid(path, "required")
    if not isinstance(value, str):
        raise _invalid(path, f"must be a string, got {json_kind(value)}")
    if limit is not None and len(value) > limit:
        raise _invalid(path, f"longer than {limit} characters ({len(value)})")
    if "\x00" in value:
        # JSON allows it, PostgreSQL text does not (it would be a 500).
        raise _invalid(path, "contains a NUL character (\\u0000)")
    return value


def _required(value: Any, path: str, limit: int | None = None) -> str:
    text = _text(value, path, limit)
    assert text is not None  # _text raises on a missing value unless optional
    return text


def _event_time(value: Any, path: str) -> datetime:
    text = _required(value, path)
    try:
        moment = datetime.fromisoformat(text)
        # Stored in UTC: SQLite keeps no offset, and run times are compared across events.
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 with a positive offset, say
        raise _invalid(path, f"{text!r} is not an ISO 8601 date-time in range") from None


def parse_event(value: Any, path: str = "", memo: _Memo | None = None) -> _Event:
    """One RunEvent's lineage; InvalidRequestError naming the first field that does not fit.

    Only what the store reads is checked (and facets it does not read are ignored), so producers
    with extra or custom facets are welcome. ``path`` prefixes the field names (a batch's index).
    ``memo``, shared by the events of a batch, remembers each output's columnLineage facet: the
    START and COMPLETE of a run, and every run of a job, usually carry the same one, and comparing
    two facets (in C) costs far less than reading one again.

    Two parsers, one contract: a lean one takes well-formed events at a few microseconds each (a
    batch carries thousands of column-lineage entries), and at the first thing it does not accept
    hands the event to the explaining one, which walks it with paths and names the field. The lean
    one accepts nothing the explaining one refuses.
    """
    try:
        return _parse_lean(value, {} if memo is None else memo)
    except (_Unaccepted, ValueError, OverflowError):
        return _parse_explained(value, path)


def _parse_explained(value: Any, path: str) -> _Event:
    event = _object(value, path)
    if "run" not in event and "eventType" not in event and "job" in event:
        raise _invalid(
            _at(path, "run"),
            "required (this endpoint records RunEvents; DatasetEvent and JobEvent are not supported)",
        )
    kind = _required(event.get("eventType"), _at(path, "eventType"))
    if kind not in EVENT_TYPES:
        raise _invalid(_at(path, "eventType"), f"{kind!r} is not one of {', '.join(EVENT_TYPES)}")
    moment = _event_time(event.get("eventTime"), _at(path, "eventTime"))
    run_path = _at(path, "run")
    run = _object(event.get("run"), run_path)
    run_id = _required(run.get("runId"), _at(run_path, "runId"), _RUN_ID)
    error = None
    run_facets = _object(run.get("facets"), _at(run_path, "facets"), optional=True)
    if "errorMessage" in run_facets:
        facet_path = _at(_at(run_path, "facets"), "errorMessage")
        facet = _object(run_facets["errorMessage"], facet_path)
        error = _required(facet.get("message"), _at(facet_path, "message"))
    job_path = _at(path, "job")
    job = _object(event.get("job"), job_path)
    job_key = JobKey(
        _required(job.get("namespace"), _at(job_path, "namespace"), _JOB_PART),
        _required(job.get("name"), _at(job_path, "name"), _JOB_PART),
    )
    inputs = []
    for index, item in enumerate(_array(event.get("inputs"), _at(path, "inputs"))):
        key, logical, _facets = _dataset(item, _at(_at(path, "inputs"), index))
        inputs.append((key, logical))
    outputs = []
    edges: list[list[_ColumnEdge]] = []
    for index, item in enumerate(_array(event.get("outputs"), _at(path, "outputs"))):
        item_path = _at(_at(path, "outputs"), index)
        key, logical, facets = _dataset(item, item_path)
        outputs.append((key, logical))
        if "columnLineage" in facets:
            facet_path = _at(_at(item_path, "facets"), "columnLineage")
            edges.append(list(_column_edges(key, facets["columnLineage"], facet_path)))
    return _Event(kind, moment, run_id, job_key, error, inputs, outputs, edges)


def _dataset(value: Any, path: str) -> tuple[DatasetKey, str | None, dict[str, Any]]:
    dataset = _object(value, path)
    key = DatasetKey(
        _required(dataset.get("namespace"), _at(path, "namespace"), _DATASET_NAMESPACE),
        _required(dataset.get("name"), _at(path, "name"), _DATASET_NAME),
    )
    facets = _object(dataset.get("facets"), _at(path, "facets"), optional=True)
    logical = None
    if "symlinks" in facets:
        symlinks_path = _at(_at(path, "facets"), "symlinks")
        symlinks = _object(facets["symlinks"], symlinks_path)
        identifiers_path = _at(symlinks_path, "identifiers")
        for index, item in enumerate(_array(symlinks.get("identifiers"), identifiers_path)):
            item_path = _at(identifiers_path, index)
            identifier = _object(item, item_path)
            namespace = _required(identifier.get("namespace"), _at(item_path, "namespace"))
            name = _required(identifier.get("name"), _at(item_path, "name"), _LOGICAL_NAME)
            if namespace == LOGICAL_NAMESPACE and logical is None:
                logical = name
    return key, logical, facets


def _column_edges(output: DatasetKey, value: Any, path: str) -> Iterator[_ColumnEdge]:
    facet = _object(value, path)
    fields_path = _at(path, "fields")
    groups: list[tuple[str, str, list[Any]]] = []
    for column, entry in _object(facet.get("fields"), fields_path, optional=True).items():
        column_path = _at(fields_path, column)
        _required(column, column_path, _COLUMN)
        inputs_path = _at(column_path, "inputFields")
        groups.append(
            (
                column,
                inputs_path,
                _array(_object(entry, column_path).get("inputFields"), inputs_path),
            )
        )
    # Dataset-level dependencies (join keys, filters, grouping): output column "".
    groups.append(("", _at(path, "dataset"), _array(facet.get("dataset"), _at(path, "dataset"))))
    for column, inputs_path, items in groups:
        for index, item in enumerate(items):
            item_path = _at(inputs_path, index)
            source = _object(item, item_path)
            key = DatasetKey(
                _required(source.get("namespace"), _at(item_path, "namespace"), _DATASET_NAMESPACE),
                _required(source.get("name"), _at(item_path, "name"), _DATASET_NAME),
            )
            input_column = _required(source.get("field"), _at(item_path, "field"), _COLUMN)
            steps_path = _at(item_path, "transformations")
            steps = _array(source.get("transformations"), steps_path)
            if not steps:
                yield (
                    (output, column, key, input_column, ""),
                    (UNKNOWN_TRANSFORMATION, DEFAULT_PROVENANCE),
                )
            for step_index, step_value in enumerate(steps):
                step_path = _at(steps_path, step_index)
                step = _object(step_value, step_path)
                kind = _required(step.get("type"), _at(step_path, "type"), _TYPE)
                subtype = _text(
                    step.get("subtype"), _at(step_path, "subtype"), _SUBTYPE, optional=True
                )
                provenance = _text(
                    step.get("provenance"), _at(step_path, "provenance"), _PROVENANCE, optional=True
                )
                yield (
                    (output, column, key, input_column, subtype or ""),
                    (kind, provenance or DEFAULT_PROVENANCE),
                )


_Memo = dict[DatasetKey, tuple[Any, list[_ColumnEdge]]]

_MEMO_LIMIT = 20_000
_facet_memo: _Memo = {}
"""The memo of :func:`parse_event` shared by every request of the process: a job's runs carry the
same columnLineage facet run after run, so a steady stream re-reads few of them. Bounded by
emptying it when full; dict reads and writes are atomic under the GIL, and an entry is only ever
replaced by an equally valid one, so threads share it without a lock."""
"""Per output dataset, the last columnLineage facet read and its edges (see :func:`parse_event`)."""


class _Unaccepted(Exception):
    """The lean parser met something it does not accept; the explaining parser names it."""


_EVENT_TYPE_SET = frozenset(EVENT_TYPES)


def _name(value: Any, limit: int) -> str:
    if type(value) is not str or not value or len(value) > limit or "\x00" in value:
        raise _Unaccepted
    return value


def _optional_name(value: Any, limit: int) -> str:
    if value is None or value == "":
        return ""
    if type(value) is not str or len(value) > limit or "\x00" in value:
        raise _Unaccepted
    return value


def _dict(value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise _Unaccepted
    return value


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if type(value) is not list:
        raise _Unaccepted
    return value


def _parse_lean(value: Any, memo: _Memo) -> _Event:
    event = _dict(value)
    kind = event.get("eventType")
    if type(kind) is not str or kind not in _EVENT_TYPE_SET:
        raise _Unaccepted
    text = event.get("eventTime")
    if type(text) is not str:
        raise _Unaccepted
    moment = datetime.fromisoformat(text)  # Value/OverflowError: the explaining parser names it
    moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    run = _dict(event.get("run"))
    run_id = _name(run.get("runId"), _RUN_ID)
    run_facets = run.get("facets")
    error = None
    if run_facets is not None and "errorMessage" in _dict(run_facets):
        error = _name(_dict(run_facets["errorMessage"]).get("message"), sys.maxsize)
    job = _dict(event.get("job"))
    job_key = JobKey(_name(job.get("namespace"), _JOB_PART), _name(job.get("name"), _JOB_PART))
    inputs = [_lean_dataset(item)[:2] for item in _list(event.get("inputs"))]
    outputs = []
    edges: list[list[_ColumnEdge]] = []
    for item in _list(event.get("outputs")):
        key, logical, facets = _lean_dataset(item)
        outputs.append((key, logical))
        if "columnLineage" not in facets:
            continue
        facet = facets["columnLineage"]
        seen = memo.get(key)
        if seen is not None and seen[0] == facet:
            edges.append(seen[1])
            continue
        found: list[_ColumnEdge] = []
        fields = _dict(facet).get("fields")
        if fields is not None:
            for column, entry in _dict(fields).items():
                _name(column, _COLUMN)
                _lean_edges(found, key, column, _list(_dict(entry).get("inputFields")))
        _lean_edges(found, key, "", _list(facet.get("dataset")))
        memo[key] = (facet, found)
        edges.append(found)
    return _Event(kind, moment, run_id, job_key, error, inputs, outputs, edges)


def _lean_dataset(value: Any) -> tuple[DatasetKey, str | None, dict[str, Any]]:
    dataset = _dict(value)
    key = DatasetKey(
        _name(dataset.get("namespace"), _DATASET_NAMESPACE),
        _name(dataset.get("name"), _DATASET_NAME),
    )
    facets = dataset.get("facets")
    if facets is None:
        return key, None, {}
    logical = None
    if "symlinks" in _dict(facets):
        for item in _list(_dict(facets["symlinks"]).get("identifiers")):
            identifier = _dict(item)
            namespace = _name(identifier.get("namespace"), sys.maxsize)
            name = _name(identifier.get("name"), _LOGICAL_NAME)
            if namespace == LOGICAL_NAMESPACE and logical is None:
                logical = name
    return key, logical, facets


def _lean_edges(
    edges: list[_ColumnEdge], output: DatasetKey, column: str, items: list[Any]
) -> None:
    # The hot loop of ingest (one pass per input field and transformation): the checks of _name,
    # _optional_name and _dict are written out, as function calls are most of its cost.
    for source in items:
        if type(source) is not dict:
            raise _Unaccepted
        namespace, name = source.get("namespace"), source.get("name")
        field_name = source.get("field")
        if (
            type(namespace) is not str
            or not namespace
            or len(namespace) > _DATASET_NAMESPACE
            or "\x00" in namespace
            or type(name) is not str
            or not name
            or len(name) > _DATASET_NAME
            or "\x00" in name
            or type(field_name) is not str
            or not field_name
            or len(field_name) > _COLUMN
            or "\x00" in field_name
        ):
            raise _Unaccepted
        key = DatasetKey(namespace, name)
        steps = source.get("transformations")
        if steps is None or steps == []:
            edges.append(
                (
                    (output, column, key, field_name, ""),
                    (UNKNOWN_TRANSFORMATION, DEFAULT_PROVENANCE),
                )
            )
            continue
        if type(steps) is not list:
            raise _Unaccepted
        for step in steps:
            if type(step) is not dict:
                raise _Unaccepted
            kind, subtype = step.get("type"), step.get("subtype")
            provenance = step.get("provenance")
            if type(kind) is not str or not kind or len(kind) > _TYPE or "\x00" in kind:
                raise _Unaccepted
            if subtype is None:
                subtype = ""
            elif type(subtype) is not str or len(subtype) > _SUBTYPE or "\x00" in subtype:
                raise _Unaccepted
            if provenance is None or provenance == "":
                provenance = DEFAULT_PROVENANCE
            elif (
                type(provenance) is not str or len(provenance) > _PROVENANCE or "\x00" in provenance
            ):
                raise _Unaccepted
            edges.append(((output, column, key, field_name, subtype), (kind, provenance)))


# ---------------------------------------------------------------------------------------------
# Ingest


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
    edges: dict[_EdgeKey, tuple[JobKey, str, str]] = field(default_factory=dict)
    _folded: set[tuple[JobKey, int]] = field(default_factory=set)

    def add(self, event: _Event) -> None:
        self.events += 1
        self.jobs.add(event.job)
        run = _Run.of(event)
        known = self.runs.get(event.run_id)
        if known is None:
            self.runs[event.run_id] = run
        else:
            known.merge(run)
        for direction, datasets in (("input", event.inputs), ("output", event.outputs)):
            for key, logical in datasets:
                self._note_dataset(key, logical)
                self.io.add((event.job, key, direction))
        for found in event.edges:
            # A facet list shared with an earlier event of the same job adds nothing new.
            folded = (event.job, id(found))
            if folded in self._folded:
                continue
            self._folded.add(folded)
            edges, noted = self.edges, self.datasets
            for edge, (kind, provenance) in found:
                if edge not in edges:
                    edges[edge] = (event.job, kind, provenance)
                    # The output is one of the event's outputs, noted above; the input may be new.
                    if edge[2] not in noted:
                        noted[edge[2]] = None

    def _note_dataset(self, key: DatasetKey, logical: str | None) -> None:
        if logical is not None or key not in self.datasets:
            self.datasets[key] = logical or self.datasets.get(key)


def ingest(session: Session, caller: Caller, payload: Any) -> IngestResult:
    """Record one RunEvent (a dict) or a batch of them (a list), all or nothing.

    Needs a service account's token (or admin): lineage is what jobs report, not what people claim.
    A batch is audited as one entry. Problems are InvalidRequestError naming the field, prefixed
    with the event's index in a batch (``[3].run.runId: required``).
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
        batch = _Batch()
        for event in events:
            batch.add(event)
        if batch.events:
            _write(session, batch)
    if batch.events:
        _audit.record(
            session,
            principal=caller.name,
            action="lineage.ingest",
            target=(
                f"{events[0].job.namespace}/{events[0].job.name}"
                if len(batch.jobs) == 1
                else f"{len(batch.jobs)} jobs"
            ),
            after={
                "events": batch.events,
                "runs": len(batch.runs),
                "jobs": sorted(f"{job.namespace}/{job.name}" for job in batch.jobs)[:50],
            },
        )
    return IngestResult(
        events=batch.events,
        runs=len(batch.runs),
        jobs=len(batch.jobs),
        datasets=len(batch.datasets),
        io=len(batch.io),
        column_edges=len(batch.edges),
    )


def _write(session: Session, batch: _Batch) -> None:
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

    connection.execute(
        sql.upsert_runs,
        [
            {
                "run_id": run_id,
                "job_id": job_ids[run.job],
                "state": run.state,
                "started_at": run.started_at,
                "ended_at": run.ended_at,
                "error": run.error,
            }
            for run_id, run in sorted(batch.runs.items())
        ],
    )

    wanted_io = {(job_ids[job], dataset_ids[key], way) for job, key, way in batch.io}
    known_io = _existing(connection, sql.io_of_jobs, {row[0] for row in wanted_io})
    new_io = sorted(wanted_io - known_io)
    if new_io:
        rows = [{"job_id": job, "dataset_id": key, "direction": way} for job, key, way in new_io]
        connection.execute(sql.insert_io, rows)

    wanted = {
        (dataset_ids[output], output_column, dataset_ids[source], input_column, subtype): (
            job_ids[job],
            kind,
            provenance,
        )
        for (output, output_column, source, input_column, subtype), (
            job,
            kind,
            provenance,
        ) in batch.edges.items()
    }
    known_edges = _existing(connection, sql.edges_of_outputs, {key[0] for key in wanted})
    new_edges = sorted(wanted.keys() - known_edges)
    if new_edges:
        rows = [
            {
                "output_dataset_id": key[0],
                "output_column": key[1],
                "input_dataset_id": key[2],
                "input_column": key[3],
                "subtype": key[4],
                "job_id": wanted[key][0],
                "type": wanted[key][1],
                "provenance": wanted[key][2],
            }
            for key in new_edges
        ]
        connection.execute(sql.insert_edges, rows)


@dataclass(frozen=True)
class _Statements:
    """The ingest's statements for one dialect, built once: building a statement (and its cache
    key) costs more than running it when a request carries one event."""

    insert_jobs: Any
    upsert_datasets: Any
    upsert_runs: Any
    insert_io: Any
    insert_edges: Any
    jobs_by_key: Any  # -> id, namespace, name
    datasets_by_key: Any  # -> id, namespace, name, logical_name
    io_of_jobs: Any
    edges_of_outputs: Any


@functools.cache
def _statements(dialect: str) -> _Statements:
    insert: Any = sqlite.insert if dialect == "sqlite" else postgresql.insert
    jobs, datasets, runs = _table(LineageJob), _table(LineageDataset), _table(LineageRun)
    io, edges = _table(LineageIO), _table(ColumnEdgeRow)
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
    return _Statements(
        insert_jobs=insert(jobs).on_conflict_do_nothing(),
        upsert_datasets=upsert_datasets,
        upsert_runs=upsert_runs,
        insert_io=insert(io).on_conflict_do_nothing(),
        insert_edges=insert(edges).on_conflict_do_nothing(),
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
        ).where(edges.c.output_dataset_id.in_(ids)),
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


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _dialect(session: Session) -> str:
    name = session.get_bind().dialect.name
    if name not in ("sqlite", "postgresql"):
        raise GovernanceError(f"the lineage store runs on SQLite or PostgreSQL, not {name}")
    return name


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


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ---------------------------------------------------------------------------------------------
# Graph


@dataclass(frozen=True)
class _GraphStatements:
    """The graph's statements, built once (building one costs about what running it does)."""

    datasets_by_logical_name: Any
    datasets_by_name: Any
    datasets_by_namespace_and_name: Any
    jobs_by_name: Any
    jobs_by_namespace_and_name: Any
    upstream_hop: Any  # frontier dataset, the job writing it, that job's input (or NULL)
    downstream_hop: Any  # frontier dataset, the job reading it, that job's output (or NULL)
    job_inputs: Any
    job_outputs: Any
    edges_by_output: Any
    edges_by_input: Any
    edges_by_job: Any
    dataset_names: Any
    job_names: Any


@functools.cache
def _graph_sql() -> _GraphStatements:
    datasets, jobs, io, edges = (
        _table(LineageDataset),
        _table(LineageJob),
        _table(LineageIO),
        _table(ColumnEdgeRow),
    )
    ids: Any = bindparam("ids", expanding=True)

    def hop(near: str, far: str) -> Any:
        near_io, far_io = aliased(io), aliased(io)
        return (
            select(near_io.c.dataset_id, near_io.c.job_id, far_io.c.dataset_id)
            .select_from(near_io)
            .outerjoin(far_io, and_(far_io.c.job_id == near_io.c.job_id, far_io.c.direction == far))
            .where(near_io.c.direction == near, near_io.c.dataset_id.in_(ids))
        )

    edge_columns = (
        edges.c.id,
        edges.c.output_dataset_id,
        edges.c.output_column,
        edges.c.input_dataset_id,
        edges.c.input_column,
        edges.c.job_id,
        edges.c.type,
        edges.c.subtype,
        edges.c.provenance,
    )
    name: Any = bindparam("name")
    namespace: Any = bindparam("namespace")
    return _GraphStatements(
        datasets_by_logical_name=select(datasets.c.id).where(datasets.c.logical_name == name),
        datasets_by_name=select(datasets.c.id).where(datasets.c.name == name),
        datasets_by_namespace_and_name=select(datasets.c.id).where(
            datasets.c.namespace == namespace, datasets.c.name == name
        ),
        jobs_by_name=select(jobs.c.id).where(jobs.c.name == name),
        jobs_by_namespace_and_name=select(jobs.c.id).where(
            jobs.c.namespace == namespace, jobs.c.name == name
        ),
        upstream_hop=hop("output", "input"),
        downstream_hop=hop("input", "output"),
        job_inputs=select(io.c.job_id, io.c.dataset_id).where(
            io.c.job_id.in_(ids), io.c.direction == "input"
        ),
        job_outputs=select(io.c.job_id, io.c.dataset_id).where(
            io.c.job_id.in_(ids), io.c.direction == "output"
        ),
        edges_by_output=select(*edge_columns).where(edges.c.output_dataset_id.in_(ids)),
        edges_by_input=select(*edge_columns).where(edges.c.input_dataset_id.in_(ids)),
        edges_by_job=select(*edge_columns).where(edges.c.job_id.in_(ids)),
        dataset_names=select(
            datasets.c.id, datasets.c.namespace, datasets.c.name, datasets.c.logical_name
        ).where(datasets.c.id.in_(ids)),
        job_names=select(jobs.c.id, jobs.c.namespace, jobs.c.name).where(jobs.c.id.in_(ids)),
    )


def _rows(connection: Connection, statement: Any, ids: Iterable[int]) -> Iterator[Any]:
    for chunk in _chunks(sorted(ids), _IN_CHUNK):
        yield from connection.execute(statement, {"ids": list(chunk)}).all()


def resolve_datasets(session: Session, ref: DatasetRef) -> list[int]:
    """The ids of the datasets ``ref`` names; NotFoundError saying how to name one."""
    sql, connection = _graph_sql(), session.connection()
    if ref.namespace is not None:
        params = {"namespace": ref.namespace, "name": ref.name}
        ids = list(connection.scalars(sql.datasets_by_namespace_and_name, params))
    else:
        ids = list(connection.scalars(sql.datasets_by_logical_name, {"name": ref.name}))
        if not ids:
            ids = list(connection.scalars(sql.datasets_by_name, {"name": ref.name}))
    if not ids:
        raise NotFoundError(
            f"no dataset in the lineage store answers to {str(ref)!r}: name it by its logical name "
            "(domain.product.port) or by its physical name with its namespace; lineage arrives "
            "with the OpenLineage events of runs"
        )
    return sorted(ids)


def resolve_jobs(session: Session, ref: JobRef) -> list[int]:
    """The ids of the jobs ``ref`` names (a name may be used in several namespaces)."""
    sql, connection = _graph_sql(), session.connection()
    if ref.namespace is not None:
        params = {"namespace": ref.namespace, "name": ref.name}
        ids = sorted(connection.scalars(sql.jobs_by_namespace_and_name, params))
    else:
        ids = sorted(connection.scalars(sql.jobs_by_name, {"name": ref.name}))
    if not ids:
        raise NotFoundError(
            f"no job {str(ref)!r} in the lineage store; a job appears with its first run event"
        )
    return ids


@dataclass
class _Walk:
    """What a walk reached: dataset and job ids with their distance, and the edges between them."""

    datasets: dict[int, int] = field(default_factory=dict)
    jobs: dict[int, int] = field(default_factory=dict)
    # table level: ("in", dataset, job) means dataset -> job; ("out", job, dataset) job -> dataset
    table_edges: set[tuple[str, int, int]] = field(default_factory=set)
    # column level: edge id -> (output dataset, output column, input dataset, input column, job,
    # type, subtype, provenance)
    column_edges: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    # column level: (dataset id, column) -> depth; column "" is the dataset's rows as a whole
    columns: dict[tuple[int, str], int] = field(default_factory=dict)


def graph(
    session: Session,
    node: DatasetRef | JobRef,
    *,
    direction: Direction = "upstream",
    depth: int = 5,
    level: Level = "table",
    column: str | None = None,
) -> Graph:
    """The lineage around a dataset (all its columns, or ``column``) or a job, ``depth`` hops out.

    One hop is one job: dataset -> job -> dataset at table level, column -> column at column level.
    From a job, its own inputs or outputs are the first hop. ``both`` is the union of the upstream
    and the downstream walks. Each hop is one query over the whole frontier.
    """
    if direction not in ("upstream", "downstream", "both"):
        raise InvalidRequestError(
            f"direction: {direction!r} is not one of upstream, downstream, both"
        )
    if level not in ("table", "column"):
        raise InvalidRequestError(f"level: {level!r} is not one of table, column")
    if not 1 <= depth <= MAX_DEPTH:
        raise InvalidRequestError(f"depth: {depth} is not between 1 and {MAX_DEPTH}")
    if column is not None and (level != "column" or not isinstance(node, DatasetRef)):
        raise InvalidRequestError(
            "column: a column is a starting point of the column-level graph of a dataset; "
            "add level=column and dataset=, or leave column out"
        )
    walk = _Walk()
    if isinstance(node, DatasetRef):
        start_datasets = resolve_datasets(session, node)
        start_jobs: list[int] = []
        walk.datasets.update(dict.fromkeys(start_datasets, 0))
    else:
        start_datasets = []
        start_jobs = resolve_jobs(session, node)
        walk.jobs.update(dict.fromkeys(start_jobs, 0))
    connection = session.connection()
    for way in ("upstream", "downstream") if direction == "both" else (direction,):
        upstream = way == "upstream"
        if level == "table":
            _walk_tables(connection, walk, start_datasets, start_jobs, upstream, depth)
        else:
            columns = None if column is None else {column}
            frontier = {dataset_id: columns for dataset_id in start_datasets}
            _walk_columns(connection, walk, frontier, start_jobs, upstream, depth)
    names = _Names.of(connection, walk)
    return Graph(
        start=[names.datasets[i][0] for i in start_datasets]
        + [names.jobs[i][0] for i in start_jobs],
        direction=direction,
        depth=depth,
        level=level,
        nodes=_nodes(walk, names),
        edges=_edges(walk, names),
    )


def _walk_tables(
    connection: Connection,
    walk: _Walk,
    start_datasets: list[int],
    start_jobs: list[int],
    upstream: bool,
    depth: int,
) -> None:
    sql = _graph_sql()
    datasets, jobs, edges = walk.datasets, walk.jobs, walk.table_edges
    frontier = set(start_datasets)
    first = 1
    if start_jobs:
        # From a job: its own inputs (upstream) or outputs (downstream) are the first hop.
        statement = sql.job_inputs if upstream else sql.job_outputs
        for job_id, dataset_id in _rows(connection, statement, start_jobs):
            edges.add(("in", dataset_id, job_id) if upstream else ("out", job_id, dataset_id))
            if dataset_id not in datasets:
                datasets[dataset_id] = 1
                frontier.add(dataset_id)
        first = 2
    statement = sql.upstream_hop if upstream else sql.downstream_hop
    for hop in range(first, depth + 1):
        if not frontier:
            break
        reached: set[int] = set()
        for near, job_id, far in _rows(connection, statement, frontier):
            if job_id not in jobs:
                jobs[job_id] = hop
            # The frontier dataset is the job's output upstream, its input downstream.
            edges.add(("out", job_id, near) if upstream else ("in", near, job_id))
            if far is not None:
                edges.add(("in", far, job_id) if upstream else ("out", job_id, far))
                if far not in datasets:
                    datasets[far] = hop
                    reached.add(far)
        frontier = reached


def _walk_columns(
    connection: Connection,
    walk: _Walk,
    frontier: dict[int, set[str] | None],
    start_jobs: list[int],
    upstream: bool,
    depth: int,
) -> None:
    """Column edges hop by hop. ``frontier`` maps a dataset to the columns reached (None: all).

    Upstream, a reached column also depends on its dataset's dataset-level edges (the joins and
    filters that decide its rows), and the walk goes on from their input columns. Downstream, a
    dataset-level edge marks the output dataset as impacted as a whole and the walk stops there:
    it says the rows depend on the column, not which columns, and following every column of the
    dataset would flag all of its consumers (the table-level graph answers that question).
    """
    sql = _graph_sql()
    first = 1
    if start_jobs:
        frontier = {}
        for row in _rows(connection, sql.edges_by_job, start_jobs):
            _reach_column(walk, frontier, row, upstream, 1)
        first = 2
    statement = sql.edges_by_output if upstream else sql.edges_by_input
    for hop in range(first, depth + 1):
        if not frontier:
            break
        reached: dict[int, set[str] | None] = {}
        for row in _rows(connection, statement, frontier):
            if row[0] in walk.column_edges:
                continue
            if upstream:
                wanted = frontier[row[1]]
                hit = wanted is None or not row[2] or row[2] in wanted
            else:
                wanted = frontier[row[3]]
                hit = wanted is None or row[4] in wanted
            if hit:
                _reach_column(walk, reached, row, upstream, hop)
        frontier = reached


def _reach_column(
    walk: _Walk, reached: dict[int, set[str] | None], row: Any, upstream: bool, hop: int
) -> None:
    edge_id, output_id, output_column, input_id, input_column, job_id, *_rest = row
    walk.column_edges[edge_id] = tuple(row[1:])
    walk.jobs.setdefault(job_id, hop)
    dataset_id, column = (input_id, input_column) if upstream else (output_id, output_column)
    walk.datasets.setdefault(dataset_id, hop)
    if (dataset_id, column) in walk.columns:
        return
    walk.columns[(dataset_id, column)] = hop
    if column:  # a dataset-level target ("") is where a downstream walk stops
        columns = reached.setdefault(dataset_id, set())
        assert columns is not None
        columns.add(column)


@dataclass
class _Names:
    """Node ids and names of what a walk reached: id -> (node id, namespace, name[, logical])."""

    datasets: dict[int, tuple[str, str, str, str | None]]
    jobs: dict[int, tuple[str, str, str]]

    @classmethod
    def of(cls, connection: Connection, walk: _Walk) -> _Names:
        sql = _graph_sql()
        dataset_ids, job_ids = set(walk.datasets), set(walk.jobs)
        for output_id, _oc, input_id, _ic, job_id, *_rest in walk.column_edges.values():
            dataset_ids.update((output_id, input_id))
            job_ids.add(job_id)
        return cls(
            datasets={
                row_id: (f"dataset:{namespace}:{name}", namespace, name, logical)
                for row_id, namespace, name, logical in _rows(
                    connection, sql.dataset_names, dataset_ids
                )
            },
            jobs={
                row_id: (f"job:{namespace}:{name}", namespace, name)
                for row_id, namespace, name in _rows(connection, sql.job_names, job_ids)
            },
        )


def _nodes(walk: _Walk, names: _Names) -> list[Node]:
    nodes = []
    for dataset_id, depth in walk.datasets.items():
        node_id, namespace, name, logical = names.datasets[dataset_id]
        nodes.append(Node(node_id, "dataset", namespace, name, logical, depth))
    for job_id, depth in walk.jobs.items():
        node_id, namespace, name = names.jobs[job_id]
        nodes.append(Node(node_id, "job", namespace, name, None, depth))
    nodes.sort(key=lambda node: (node.depth, node.kind, node.namespace, node.name))
    return nodes


def _edges(walk: _Walk, names: _Names) -> list[Edge]:
    datasets, jobs = names.datasets, names.jobs
    edges = [
        Edge(datasets[first][0], jobs[second][0])
        if kind == "in"
        else Edge(jobs[first][0], datasets[second][0])
        for kind, first, second in walk.table_edges
    ]
    edges += [
        Edge(
            source=datasets[input_id][0],
            target=datasets[output_id][0],
            source_column=input_column,
            target_column=output_column or None,
            job=jobs[job_id][0],
            type=kind,
            subtype=subtype,
            provenance=provenance,
        )
        for (
            output_id,
            output_column,
            input_id,
            input_column,
            job_id,
            kind,
            subtype,
            provenance,
        ) in walk.column_edges.values()
    ]
    edges.sort(
        key=lambda edge: (
            edge.target,
            edge.target_column or "",
            edge.source,
            edge.source_column or "",
            edge.subtype or "",
        )
    )
    return edges


# ---------------------------------------------------------------------------------------------
# Impact


def impact(session: Session, dataset: DatasetRef, column: str) -> Impact:
    """Everything downstream of one column, transitively: the columns (and datasets as a whole,
    through join keys and filters), the jobs that carry it, and the products and domains that own
    what is reached (from the logical names ``domain.product.port``).

    NotFoundError when no column lineage mentions the column: an empty answer to a typo would read
    as "safe to change".
    """
    start = resolve_datasets(session, dataset)
    sql, connection = _graph_sql(), session.connection()
    mentioned = {row[4] for row in _rows(connection, sql.edges_by_input, start)}
    mentioned |= {row[2] for row in _rows(connection, sql.edges_by_output, start) if row[2]}
    if column not in mentioned:
        known = ", ".join(sorted(mentioned)) or "none"
        raise NotFoundError(
            f"no column lineage mentions column {column!r} of {dataset}; columns with lineage: {known}"
        )
    walk = _Walk()
    for dataset_id in start:
        walk.datasets[dataset_id] = 0
        walk.columns[(dataset_id, column)] = 0
    # Transitive: the visited set ends the walk; the bound only guards against absurd chains.
    _walk_columns(connection, walk, {key: {column} for key in start}, [], False, 10 * MAX_DEPTH)
    names = _Names.of(connection, walk)
    columns = [
        ImpactedColumn(*names.datasets[dataset_id], column=name or None, depth=depth)
        for (dataset_id, name), depth in walk.columns.items()
        if depth > 0
    ]
    nodes = [node for node in _nodes(walk, names) if node.depth > 0]
    products, domains = set(), set()
    for node in nodes:
        parts = (node.logical_name or "").split(".")
        if node.kind == "dataset" and len(parts) == 3:
            products.add(f"{parts[0]}.{parts[1]}")
            domains.add(parts[0])
    return Impact(
        dataset=str(dataset),
        column=column,
        columns=sorted(columns, key=lambda c: (c.depth, c.dataset, c.column or "")),
        datasets=[node for node in nodes if node.kind == "dataset"],
        jobs=[node for node in nodes if node.kind == "job"],
        products=sorted(products),
        domains=sorted(domains),
        edges=_edges(walk, names),
    )


# ---------------------------------------------------------------------------------------------
# Runs


def runs(session: Session, job: JobRef | None = None, limit: int = 50) -> list[RunInfo]:
    """The most recent runs (of ``job``), newest first, with their state and error."""
    query = (
        select(LineageRun, LineageJob.namespace, LineageJob.name)
        .join(LineageJob, LineageJob.id == LineageRun.job_id)
        .order_by(
            func.coalesce(LineageRun.started_at, LineageRun.ended_at).desc(),
            LineageRun.id.desc(),
        )
        .limit(limit)
    )
    if job is not None:
        query = query.where(LineageRun.job_id.in_(resolve_jobs(session, job)))
    return [
        RunInfo(
            run_id=run.run_id,
            job_namespace=namespace,
            job_name=name,
            state=run.state,
            started_at=_utc(run.started_at),
            ended_at=_utc(run.ended_at),
            error=run.error,
        )
        for run, namespace, name in session.execute(query)
    ]


def _utc(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; what was stored is UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
