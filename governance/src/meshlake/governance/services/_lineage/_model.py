"""Lineage value types: keys, references, results, and the limits of what the store keeps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NamedTuple

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
    retired_at: datetime | None = None
    """Column level, history only: when the job's newest run stopped writing this edge."""


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


_EdgeKey = tuple[DatasetKey, str, DatasetKey, str, str]
"""A column edge's identity in the store: output dataset, output column ("" for a dataset-level
dependency), input dataset, input column, subtype."""
_ColumnEdge = tuple[_EdgeKey, tuple[str, str]]
"""An edge with its type and provenance. Plain tuples: a batch holds hundreds of thousands."""


EVENT_SHAPES = ("RunEvent", "JobEvent", "DatasetEvent")
"""The OpenLineage 2-0-2 event kinds: a run's transition, and static lineage of a job or dataset."""


@dataclass
class _Event:
    kind: str
    """The run state the event moves to: its eventType, OTHER for a RunEvent without one (the
    spec lets it be left out), and OTHER (never stored as a run) for static events."""
    time: datetime
    run_id: str | None
    """None for a JobEvent or DatasetEvent: static lineage, no run."""
    job: JobKey | None
    """None for a DatasetEvent."""
    error: str | None
    inputs: list[tuple[DatasetKey, str | None]]
    outputs: list[tuple[DatasetKey, str | None]]
    edges: list[list[_ColumnEdge]]
    """Per output with a columnLineage facet, its edges; events that carry the same facet share
    one list (see ``memo`` of :func:`parse_event`)."""
    shape: str = "RunEvent"
    event_type: str | None = None
    """The eventType as sent (None when left out); ``kind`` is what the run store makes of it."""
