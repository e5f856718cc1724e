"""The impact of a column: every column, dataset, job, product and domain downstream of it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from meshlake.governance._errors import NotFoundError
from meshlake.governance.services._lineage._graph import (
    _edges,
    _graph_sql,
    _Names,
    _nodes,
    _rows,
    _Walk,
    _walk_columns,
    resolve_datasets,
)
from meshlake.governance.services._lineage._model import (
    MAX_DEPTH,
    DatasetRef,
    Impact,
    ImpactedColumn,
)


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
