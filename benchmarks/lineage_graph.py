"""Lineage graph queries: upstream depth 10 on a 10k-node graph, set-based against one query per node.

What it measures: ``meshlake.governance.services._lineage.graph`` (one set-based query per hop over
the whole frontier, names fetched once at the end) on a synthetic graph inserted directly into a
fresh SQLite database: 50 layers of 101 datasets, every dataset past the first layer written by its
own job reading 2-3 datasets of the layer before (and sometimes of the one before that), near its
own position, as products reading their neighbours' ports do: 5,050 datasets and 4,949 jobs, with
6 columns each and column edges between them. Each query starts at a random dataset of the last ten
layers, by logical name, in its own session (as a request would), and walks 10 hops upstream.

Baseline, in the same run on the same database: the naive walk, one query per node (the jobs that
write a dataset; the inputs of a job; the name of each node), over the same starts; the two must
return the same nodes. Also timed: the column-level graph of one column, and the table-level graph
over real HTTP (the endpoint, with its JSON).

Why: lineage UIs and the review's impact analysis ask for deep graphs interactively; Marquez's
lineage endpoint takes seconds on large graphs (#3058). The target is p99 <= 50 ms at depth 10.

    uv run python benchmarks/lineage_graph.py [--queries 200] [--naive 50]

Exits 0 even above the target (it is a measurement); the last line says PASS or FAIL.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TARGET_P99_MS = 50.0
LAYERS, WIDTH, COLUMNS, DEPTH = 50, 101, 6, 10


def _logical(layer: int, index: int) -> str:
    return f"dom{index % 10}.p{layer:02d}_{index:03d}.out"


def _build(url: str, seed: int) -> tuple[int, int, int, int]:
    """The synthetic graph, inserted with bulk statements; returns the row counts."""
    from sqlalchemy import insert

    from meshlake.governance.db._engine import make_engine
    from meshlake.governance.db._tables import (
        ColumnEdgeRow,
        LineageDataset,
        LineageIO,
        LineageJob,
    )

    rng = random.Random(seed)
    datasets, jobs, io, edges = [], [], [], []
    ids = {}
    for layer in range(LAYERS):
        for index in range(WIDTH):
            ids[(layer, index)] = len(datasets) + 1
            datasets.append(
                {
                    "id": len(datasets) + 1,
                    "namespace": "file",
                    "name": f"/lake/l{layer:02d}/d{index:03d}",
                    "logical_name": _logical(layer, index),
                }
            )
    for layer in range(1, LAYERS):
        for index in range(WIDTH):
            job = len(jobs) + 1
            jobs.append({"id": job, "namespace": "zone", "name": f"job.l{layer:02d}_{index:03d}"})
            output = ids[(layer, index)]
            picks = {(index + rng.randint(-2, 2)) % WIDTH for _ in range(rng.randint(2, 3))}
            inputs = [ids[(layer - 1, pick)] for pick in sorted(picks)]
            if layer > 1 and rng.random() < 0.3:
                inputs.append(ids[(layer - 2, (index + rng.randint(-2, 2)) % WIDTH)])
            io.append({"job_id": job, "dataset_id": output, "direction": "output"})
            io.extend({"job_id": job, "dataset_id": d, "direction": "input"} for d in inputs)
            for column in range(COLUMNS):
                for source in rng.sample(inputs, k=min(len(inputs), rng.randint(1, 2))):
                    edges.append(
                        _edge(job, output, f"c{column}", source, f"c{rng.randrange(COLUMNS)}")
                    )
            edges.append(_edge(job, output, "", inputs[0], "c0", "INDIRECT", "JOIN"))
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(insert(LineageDataset), datasets)
        connection.execute(insert(LineageJob), jobs)
        connection.execute(insert(LineageIO), io)
        connection.execute(insert(ColumnEdgeRow), _unique(edges))
    engine.dispose()
    return len(datasets), len(jobs), len(io), len(_unique(edges))


def _edge(
    job: int,
    output: int,
    output_column: str,
    source: int,
    input_column: str,
    kind: str = "DIRECT",
    subtype: str = "TRANSFORMATION",
) -> dict[str, Any]:
    return {
        "job_id": job,
        "output_dataset_id": output,
        "output_column": output_column,
        "input_dataset_id": source,
        "input_column": input_column,
        "type": kind,
        "subtype": subtype,
        "provenance": "parsed",
    }


def _unique(edges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for edge in edges:
        key = tuple(
            edge[k]
            for k in (
                "output_dataset_id",
                "output_column",
                "input_dataset_id",
                "input_column",
                "subtype",
            )
        )
        seen.setdefault(key, edge)
    return list(seen.values())


def _naive_upstream(session: Any, logical: str, depth: int) -> set[str]:
    """The baseline: breadth first, one query per dataset, per job and per node's name."""
    from sqlalchemy import select

    from meshlake.governance.db._tables import LineageDataset, LineageIO, LineageJob

    start = session.scalar(select(LineageDataset.id).where(LineageDataset.logical_name == logical))
    datasets, jobs = {start: 0}, {}
    frontier = [start]
    for hop in range(1, depth + 1):
        following = []
        for dataset in frontier:
            writers = session.scalars(
                select(LineageIO.job_id).where(
                    LineageIO.dataset_id == dataset, LineageIO.direction == "output"
                )
            )
            for job in writers:
                jobs.setdefault(job, hop)
                sources = session.scalars(
                    select(LineageIO.dataset_id).where(
                        LineageIO.job_id == job, LineageIO.direction == "input"
                    )
                )
                for source in sources:
                    if source not in datasets:
                        datasets[source] = hop
                        following.append(source)
        frontier = following
    names = set()
    for dataset in datasets:
        row = session.execute(
            select(LineageDataset.namespace, LineageDataset.name).where(
                LineageDataset.id == dataset
            )
        ).one()
        names.add(f"dataset:{row[0]}:{row[1]}")
    for job in jobs:
        row = session.execute(
            select(LineageJob.namespace, LineageJob.name).where(LineageJob.id == job)
        ).one()
        names.add(f"job:{row[0]}:{row[1]}")
    return names


def _time(starts: list[str], query: Callable[[str], Any]) -> tuple[list[float], list[Any]]:
    times, results = [], []
    for start in starts:
        began = time.perf_counter()
        results.append(query(start))
        times.append((time.perf_counter() - began) * 1000)
    return times, results


def _p(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _serve(url: str, token: str) -> tuple[str, Any, threading.Thread]:
    from pydantic import SecretStr

    from meshlake.governance import GovernanceSettings, create_app, serve_in_thread

    app = create_app(GovernanceSettings(database_url=url, bootstrap_token=SecretStr(token)))
    running = serve_in_thread(app)
    return running.url, running.server, running.thread


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=200, help="graph queries to time")
    parser.add_argument("--naive", type=int, default=50, help="of which for the naive walk")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    import httpx

    from meshlake.governance import upgrade
    from meshlake.governance.db._engine import make_engine, session_factory
    from meshlake.governance.services._lineage import DatasetRef, graph

    rng = random.Random(args.seed)
    starts = [
        _logical(rng.randrange(LAYERS - 10, LAYERS), rng.randrange(WIDTH))
        for _ in range(args.queries)
    ]
    with tempfile.TemporaryDirectory(prefix="meshlake-lineage-graph-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'governance.db'}"
        upgrade(url)
        began = time.perf_counter()
        counts = _build(url, args.seed)
        print(
            f"graph: {counts[0]} datasets + {counts[1]} jobs = {counts[0] + counts[1]} nodes, "
            f"{counts[2]} IO rows, {counts[3]} column edges (built in "
            f"{time.perf_counter() - began:.1f} s)"
        )
        engine = make_engine(url)
        sessions = session_factory(engine)

        def set_based(start: str) -> set[str]:
            with sessions() as session:
                result = graph(session, DatasetRef(start), direction="upstream", depth=DEPTH)
            return {node.id for node in result.nodes}

        def naive(start: str) -> set[str]:
            with sessions() as session:
                return _naive_upstream(session, start, DEPTH)

        def columns(start: str) -> int:
            with sessions() as session:
                result = graph(session, DatasetRef(start), depth=DEPTH, level="column", column="c1")
            return len(result.edges)

        _time(starts[:10], set_based)  # warm the statement and page caches
        fast, graphs = _time(starts, set_based)
        slow, naive_graphs = _time(starts[: args.naive], naive)
        assert graphs[: args.naive] == naive_graphs, "the two walks disagree"
        column_times, column_edges = _time(starts, columns)

        token = "mlk_bench_graph"
        service, server, thread = _serve(url, token)
        try:
            with httpx.Client(
                base_url=service, headers={"Authorization": f"Bearer {token}"}, timeout=60
            ) as client:

                def over_http(start: str) -> int:
                    response = client.get(
                        "/api/v1/lineage/graph", params={"dataset": start, "depth": DEPTH}
                    )
                    response.raise_for_status()
                    return len(response.json()["nodes"])

                _time(starts[:10], over_http)
                http_times, _sizes = _time(starts, over_http)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            engine.dispose()

    sizes = [len(nodes) for nodes in graphs]
    print(
        f"upstream depth {DEPTH} from {len(starts)} random datasets of the last 10 layers: "
        f"{statistics.median(sizes):.0f} nodes per graph (median; max {max(sizes)})"
    )
    print(f"\n{'':44}{'queries':>8}{'p50 ms':>9}{'p99 ms':>9}")
    rows = [
        ("set-based, one query per hop (table level)", fast),
        ("naive, one query per node (baseline)", slow),
        ("set-based, column level (one column)", column_times),
        ("GET /api/v1/lineage/graph over HTTP", http_times),
    ]
    for label, times in rows:
        print(f"{label:44}{len(times):>8}{_p(times, 0.5):>9.1f}{_p(times, 0.99):>9.1f}")
    print(
        f"\nnaive / set-based: p50 {_p(slow, 0.5) / _p(fast, 0.5):.1f}x, "
        f"p99 {_p(slow, 0.99) / _p(fast, 0.99):.1f}x; column graphs: "
        f"{statistics.median(column_edges):.0f} edges (median)"
    )
    p99 = _p(fast, 0.99)
    verdict = "PASS" if p99 <= TARGET_P99_MS else "FAIL"
    print(f"{verdict}: upstream depth {DEPTH} p99 {p99:.1f} ms, target <= {TARGET_P99_MS:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
