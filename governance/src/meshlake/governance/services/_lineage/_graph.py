"""The lineage graph: upstream or downstream of a dataset or job, table or column level."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    select,
    true,
)
from sqlalchemy.orm import Session, aliased

from meshlake.governance._errors import InvalidRequestError, NotFoundError
from meshlake.governance.db._tables import (
    ColumnEdgeRow,
    LineageDataset,
    LineageIO,
    LineageJob,
)
from meshlake.governance.services._lineage._model import (
    _IN_CHUNK,
    MAX_DEPTH,
    DatasetRef,
    Direction,
    Edge,
    Graph,
    JobRef,
    Level,
    Node,
)
from meshlake.governance.services._lineage._sql import _chunks, _table, _utc


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
def _graph_sql(history: bool = False) -> _GraphStatements:
    """``history``: column edges retired since (a newer run of their job dropped them) too."""
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
        edges.c.retired_at,
    )
    current = true() if history else edges.c.retired_at.is_(None)
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
        edges_by_output=select(*edge_columns).where(edges.c.output_dataset_id.in_(ids), current),
        edges_by_input=select(*edge_columns).where(edges.c.input_dataset_id.in_(ids), current),
        edges_by_job=select(*edge_columns).where(edges.c.job_id.in_(ids), current),
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
    history: bool = False,
) -> Graph:
    """The lineage around a dataset (all its columns, or ``column``) or a job, ``depth`` hops out.

    One hop is one job: dataset -> job -> dataset at table level, column -> column at column level.
    From a job, its own inputs or outputs are the first hop. ``both`` is the union of the upstream
    and the downstream walks. Each hop is one query over the whole frontier. Column edges that
    their job's newest run no longer writes are left out, unless ``history``.
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
            _walk_columns(connection, walk, frontier, start_jobs, upstream, depth, history)
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
    history: bool = False,
) -> None:
    """Column edges hop by hop. ``frontier`` maps a dataset to the columns reached (None: all).

    Upstream, a reached column also depends on its dataset's dataset-level edges (the joins and
    filters that decide its rows), and the walk goes on from their input columns. Downstream, a
    dataset-level edge marks the output dataset as impacted as a whole and the walk stops there:
    it says the rows depend on the column, not which columns, and following every column of the
    dataset would flag all of its consumers (the table-level graph answers that question).
    """
    sql = _graph_sql(history)
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
            retired_at=_utc(retired_at),
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
            retired_at,
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
