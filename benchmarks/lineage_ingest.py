"""Lineage ingest: OpenLineage events per second into the governance service, over real HTTP.

What it measures: 4 concurrent clients (separate processes, so the server's GIL is its own) sending
meshlake's real RunEvents (START + COMPLETE of every sample product, with schemas and column
lineage, 5-22 kB each) to a service started in this process under uvicorn on 127.0.0.1, over a
fresh SQLite (WAL) database in a temporary folder:

- single: one event per ``POST /api/v1/lineage`` (what openlineage-python's HttpTransport does);
- batch: ``POST /api/v1/lineage/batch`` with ``--batch`` events per request;
- batch, lineage facets only: the same kind of runs with only the facets the store reads
  (symlinks, columnLineage, errorMessage; about 40% of the bytes), to show what event size costs:
  decoding JSON is a large share of the work.

Baseline, measured in the same run with the same clients: ``GET /api/v1/health`` (the HTTP stack, the
token-free request path and one database round trip), the floor any endpoint of this service pays
per request. The events are spread over ``--copies`` copies of the sample mesh (distinct jobs and
datasets, as many teams' products would be), so ingest does real inserts, not only no-op upserts.

Why: producers (Spark listeners, Airflow, meshlake's own runs) burst events; the target is batch
ingest >= 2,000 events/s with 4 clients on the embedded default (SQLite).

What brought it up (profiled with py-spy on the server under this load, and measured back to back
against the previous code with the same events and clients; the machine was shared, so the ratio
to the health baseline is the figure to compare): batch 852 -> 1,603 and 2,116 events/s, 3.2x ->
5.9x and 8.5x the baseline; in-process 674 -> 434-470 us/event.

- Under 4 concurrent batches the gc pause overlapped for good, and its overdue *full* collection
  walked the whole heap every second: 38% of the server's time holding the GIL. It is now a
  young-generation collection (services/_lineage/_gc.py).
- 57% of the worker threads' time was spent in SQLite's busy handler, which polls for the write
  lock with sleeps of up to 100 ms: ingest writers of a process now take turns on a lock and
  commit inside their turn (_turns.py). Between processes (``--workers 2``) the busy handler still
  decides; a flock queue measured slower there (see _turns.py), which is why 2 processes gain
  little on 2 cores shared with the 4 clients.
- Bodies are decoded by msgspec into the store's view (_view.py): only the fields the store keeps
  are built, the rest (schemas, docs, SQL: most of the bytes) is skipped, and the structs are not
  tracked by the collector. Anything the view does not take goes to orjson and parse_event.
- The bulk inserts of runs, IO and column edges go to SQLite's executemany as tuples, through a
  statement compiled once (SQLAlchemy's per-row work cost as much as SQLite's); stored edges'
  times are compared naive, as SQLite returns them, instead of each made aware.

- Single-event POSTs with a service token: 6 -> 138 events/s (``--single 200 --copies 1``, idle).
  The token's last use was stamped in the request's transaction, before the ingest's writer turn:
  that request held SQLite's write lock while it waited for the turn, and the thread in the turn
  waited for the lock until the busy timeout (30 s), every minute. It is stamped in a turn of its
  own now (services/_access.py, db/_turns.py).

    uv run python benchmarks/lineage_ingest.py [--single 1000] [--batched 10000] [--batch 250]

Exits 0 even below the target (it is a measurement); the last line says PASS or FAIL.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from _service import free_port

TARGET_EVENTS_PER_SECOND = 2_000
CLIENTS = 4
SHED_RETRIES = 5
"""A request the service sheds (503 with Retry-After) is sent again after the wait, as a client
of the platform does; its latency counts the wait."""
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
STATE = "/bench/STATE"
RUN = "00000000-0000-4000-8000-000000000000"

Request = tuple[str, str, bytes | None]

# Lineage writes are scoped: a service records only its domains' jobs (the sample mesh's three).
DOMAIN_GRANTS = [
    {"role": "domain_member", "domain": domain} for domain in ("hr", "operations", "sales")
]


def _templates() -> list[tuple[str, str]]:
    """(START, COMPLETE) JSON of every sample product, with placeholders for the state and run."""
    from datetime import UTC, datetime

    from openlineage.client.serde import Serde

    from meshlake.platform import load_mesh
    from meshlake.platform.lineage import product_column_lineage, product_run_event

    mesh = load_mesh(REPO)
    pairs = []
    for product in mesh.products.values():
        lineage = product_column_lineage(mesh, product)
        pair = [
            Serde.to_json(
                product_run_event(
                    kind,
                    mesh=mesh,
                    product=product,
                    run_id=RUN,
                    state_home=Path(STATE),
                    column_lineage=lineage,
                    event_time=datetime(2026, 11, 2, 7, 0, second, tzinfo=UTC),
                )
            )
            for second, kind in ((0, "START"), (30, "COMPLETE"))
        ]
        pairs.append((pair[0], pair[1]))
    return pairs


def _events(templates: list[tuple[str, str]], runs: int, copies: int, first_copy: int) -> list[str]:
    """``runs`` runs (2 events each), cycling over products and copies of the mesh."""
    per_copy = []
    for copy in range(first_copy, first_copy + copies):
        for start, complete in templates:
            stamped = []
            for text in (start, complete):
                event = json.loads(text.replace(STATE, f"/bench/copy{copy:04d}"))
                event["job"]["name"] += f"_{copy:04d}"
                stamped.append(json.dumps(event))
            per_copy.append(stamped)
    events = []
    for index in range(runs):
        run_id = str(uuid.uuid4())
        events.extend(text.replace(RUN, run_id) for text in per_copy[index % len(per_copy)])
    return events


def _lineage_only(text: str) -> str:
    """The event without the facets the store does not read (schemas, docs, SQL, ownership...)."""
    event = json.loads(text)
    event["job"]["facets"] = {}
    event["run"]["facets"] = {
        key: value for key, value in event["run"]["facets"].items() if key == "errorMessage"
    }
    for dataset in event["inputs"] + event["outputs"]:
        dataset["facets"] = {
            key: value
            for key, value in dataset["facets"].items()
            if key in ("symlinks", "columnLineage")
        }
        dataset.pop("inputFacets", None)
        dataset.pop("outputFacets", None)
    return json.dumps(event)


def _split(requests: list[Request], parts: int) -> list[list[Request]]:
    return [requests[index::parts] for index in range(parts)]


def _client(url: str, token: str, file: str, ready: Any, go: Any, results: Any, index: int) -> None:
    """One client process: load its requests, wait for the start, send them in order."""
    import httpx

    with open(file, "rb") as handle:
        requests: list[Request] = pickle.load(handle)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        client.get("/api/v1/health").raise_for_status()  # connect before the clock starts
        ready.put(index)
        go.wait()
        started = time.perf_counter()
        latencies = []
        for method, path, body in requests:
            sent = time.perf_counter()
            response = client.request(method, path, content=body)
            for _ in range(SHED_RETRIES):  # shed (503): wait as told and send it again
                if response.status_code != 503:
                    break
                time.sleep(float(response.headers.get("Retry-After", "1")))
                response = client.request(method, path, content=body)
            latencies.append(time.perf_counter() - sent)
            if response.status_code >= 300:
                results.put((index, f"{response.status_code}: {response.text[:300]}"))
                return
        results.put((index, (started, time.perf_counter(), latencies)))


def _measure(url: str, token: str, requests: list[Request], folder: Path) -> tuple[float, float]:
    """Wall seconds for 4 clients to send ``requests`` between them, and the median latency."""
    context = multiprocessing.get_context("spawn")
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    processes = []
    for index, part in enumerate(_split(requests, CLIENTS)):
        file = folder / f"client{index}.pickle"
        file.write_bytes(pickle.dumps(part))
        process = context.Process(
            target=_client, args=(url, token, str(file), ready, go, results, index)
        )
        process.start()
        processes.append(process)
    for _ in processes:
        ready.get(timeout=120)
    go.set()
    outcomes = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join()
    failures = [outcome for _i, outcome in outcomes if isinstance(outcome, str)]
    if failures:
        raise SystemExit(f"a client failed: {failures[0]}")
    spans = [outcome for _i, outcome in outcomes if not isinstance(outcome, str)]
    wall = max(end for _s, end, _l in spans) - min(start for start, _e, _l in spans)
    latencies = [latency for _s, _e, part in spans for latency in part]
    return wall, statistics.median(latencies)


def _in_process(events: list[str], size: int, folder: Path) -> float:
    """Seconds to ingest ``events`` in batches without HTTP, one thread, on a fresh database: the
    store's own cost (decode, read, write, commit), through the call the batch endpoint makes."""
    from meshlake.governance import upgrade
    from meshlake.governance.db._engine import make_engine, session_factory
    from meshlake.governance.services import _lineage
    from meshlake.governance.services._access import BOOTSTRAP_CALLER

    url = f"sqlite:///{folder / 'in-process.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    bodies = [
        ("[" + ",".join(events[i : i + size]) + "]").encode() for i in range(0, len(events), size)
    ]
    began = time.perf_counter()
    for body in bodies:
        with sessions() as session, session.begin():
            _lineage.ingest_body(session, BOOTSTRAP_CALLER, body, batch=True)
    elapsed = time.perf_counter() - began
    engine.dispose()
    return elapsed


def _batches(events: list[str], size: int) -> list[Request]:
    return [
        ("POST", "/api/v1/lineage/batch", ("[" + ",".join(events[i : i + size]) + "]").encode())
        for i in range(0, len(events), size)
    ]


def _serve(database_url: str, token: str) -> tuple[str, Any, threading.Thread]:
    from pydantic import SecretStr

    from meshlake.governance import GovernanceSettings, create_app, serve_in_thread, upgrade

    upgrade(database_url)
    app = create_app(
        GovernanceSettings(database_url=database_url, bootstrap_token=SecretStr(token))
    )
    running = serve_in_thread(app)
    return running.url, running.server, running.thread


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--single", type=int, default=1000, help="events sent one per request")
    parser.add_argument("--batched", type=int, default=10000, help="events sent in batches")
    parser.add_argument("--batch", type=int, default=250, help="events per batch request")
    parser.add_argument("--copies", type=int, default=100, help="copies of the sample mesh")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="also measure batches against `meshlake governance serve --workers N` on a fresh "
        "PostgreSQL database (1: skip; SQLite has one writer, so several workers need PostgreSQL)",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("MESHLAKE_TEST_POSTGRES_URL"),
        help="a PostgreSQL server URL whose role may create databases (default: "
        "MESHLAKE_TEST_POSTGRES_URL); without one, the several-workers figure is skipped",
    )
    args = parser.parse_args()

    import httpx

    print("building events from the sample mesh ...", flush=True)
    templates = _templates()
    single = _events(templates, args.single // 2, args.copies, 0)
    batched = _events(templates, args.batched // 2, args.copies, args.copies)
    lean_templates = [(_lineage_only(start), _lineage_only(end)) for start, end in templates]
    lean = _events(lean_templates, args.batched // 2, args.copies, 2 * args.copies)
    sizes = [len(event) for event in single]
    lean_sizes = [len(event) for event in lean]
    print(
        f"{len(templates)} products, events {min(sizes)}-{max(sizes)} bytes "
        f"(median {statistics.median(sizes):.0f}; lineage facets only: median "
        f"{statistics.median(lean_sizes):.0f}); {args.copies} copies of the mesh per phase"
    )

    with tempfile.TemporaryDirectory(prefix="meshlake-lineage-bench-") as tmp:
        folder = Path(tmp)
        bootstrap = "mlk_bench_" + uuid.uuid4().hex
        url, server, thread = _serve(f"sqlite:///{folder / 'governance.db'}", bootstrap)
        try:
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {bootstrap}"}) as c:
                response = c.post(
                    "/api/v1/principals",
                    json={"name": "bench-producer", "kind": "service", "grants": DOMAIN_GRANTS},
                )
                response.raise_for_status()
                token = response.json()["token"]

            health: list[Request] = [("GET", "/api/v1/health", None)] * len(single)
            health_wall, health_p50 = _measure(url, token, health, folder)
            one: list[Request] = [("POST", "/api/v1/lineage", e.encode()) for e in single]
            single_wall, single_p50 = _measure(url, token, one, folder)
            batches = _batches(batched, args.batch)
            batch_wall, batch_p50 = _measure(url, token, batches, folder)
            lean_batches = _batches(lean, args.batch)
            lean_wall, lean_p50 = _measure(url, token, lean_batches, folder)
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
                runs = c.get("/api/v1/lineage/runs", params={"limit": 1}).json()
                assert runs and runs[0]["state"] == "COMPLETE", runs
        finally:
            server.should_exit = True
            thread.join(timeout=10)
        local_wall = _in_process(batched, args.batch, folder)
        workers_wall = None
        if args.workers > 1 and not args.postgres:
            print(
                f"`governance serve --workers {args.workers}`: skipped, it needs PostgreSQL "
                "(--postgres URL or MESHLAKE_TEST_POSTGRES_URL)"
            )
        elif args.workers > 1:
            workers_events = _events(templates, args.batched // 2, args.copies, 3 * args.copies)
            workers_wall = _measure_workers(
                args.postgres, folder, bootstrap, args.workers, _batches(workers_events, args.batch)
            )

    health_rate = len(health) / health_wall
    single_rate = len(single) / single_wall
    batch_rate = len(batched) / batch_wall
    lean_rate = len(lean) / lean_wall
    local_rate = len(batched) / local_wall
    print(f"\n{CLIENTS} concurrent clients, SQLite (WAL), real HTTP on 127.0.0.1")
    print(f"{'':34}{'requests':>9}{'events':>9}{'wall s':>9}{'per s':>10}{'p50 ms':>9}")
    print(
        f"{'baseline GET /api/v1/health':34}{len(health):>9}{'-':>9}{health_wall:>9.2f}"
        f"{health_rate:>10.0f}{health_p50 * 1000:>9.2f}"
    )
    print(
        f"{'single POST /api/v1/lineage':34}{len(one):>9}{len(single):>9}{single_wall:>9.2f}"
        f"{single_rate:>10.0f}{single_p50 * 1000:>9.2f}"
    )
    print(
        f"{'batch POST /api/v1/lineage/batch':34}{len(batches):>9}{len(batched):>9}"
        f"{batch_wall:>9.2f}{batch_rate:>10.0f}{batch_p50 * 1000:>9.2f}"
    )
    print(
        f"{'  the same, lineage facets only':34}{len(lean_batches):>9}{len(lean):>9}"
        f"{lean_wall:>9.2f}{lean_rate:>10.0f}{lean_p50 * 1000:>9.2f}"
    )
    print(
        f"{'  the same in-process, one thread':34}{'-':>9}{len(batched):>9}{local_wall:>9.2f}"
        f"{local_rate:>10.0f}{'-':>9}   (no HTTP: the store's own "
        f"{1e6 / local_rate:.0f} us/event)"
    )
    print(
        f"\nsingle events/s vs baseline requests/s: {single_rate / health_rate:.2f} "
        f"(a single-event POST costs {health_rate / single_rate:.1f}x a bare request)"
    )
    print(
        f"batch events/s vs baseline requests/s: {batch_rate / health_rate:.2f} "
        f"(batch of {args.batch}: {batch_rate / single_rate:.1f}x the single-event rate)"
    )
    best, setup = batch_rate, "one server process"
    if workers_wall is not None:
        workers_rate = len(batched) / workers_wall
        print(
            f"batch, `governance serve --workers {args.workers}` (separate processes): "
            f"{workers_rate:.0f} events/s, {workers_rate / batch_rate:.2f}x one process"
        )
        if workers_rate > best:
            best, setup = workers_rate, f"{args.workers} server processes"
    verdict = "PASS" if best >= TARGET_EVENTS_PER_SECOND else "FAIL"
    print(
        f"{verdict}: batch ingest of meshlake's events {best:.0f} events/s with {setup}, target "
        f">= {TARGET_EVENTS_PER_SECOND} (lineage facets only: {lean_rate:.0f}; single-event "
        f"POSTs: {single_rate:.0f})"
    )
    return 0


def _measure_workers(
    postgres: str, folder: Path, bootstrap: str, workers: int, batches: list[Request]
) -> float:
    """Wall seconds for the 4 clients to send ``batches`` to a multi-process server on a fresh
    PostgreSQL database, started as users start it: `meshlake governance serve --workers N`."""
    from tests.postgres_server import database_on  # the suite's own: one way to make a database

    with database_on(postgres, prefix="meshlake_bench") as database_url:
        return _measure_served(database_url, folder, bootstrap, workers, batches)


def _measure_served(
    database_url: str, folder: Path, bootstrap: str, workers: int, batches: list[Request]
) -> float:
    import httpx

    port = free_port()
    env = {
        **os.environ,
        "MESHLAKE_DATABASE_URL": database_url,
        "MESHLAKE_BOOTSTRAP_TOKEN": bootstrap,
    }
    command = [str(Path(sys.executable).parent / "meshlake"), "governance", "serve"]
    command += ["--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"{url}/api/v1/health", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(
                        f"the server did not start: {server.stderr.read()!r}"
                    ) from None
                time.sleep(0.5)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {bootstrap}"}) as c:
            response = c.post(
                "/api/v1/principals",
                json={"name": "bench", "kind": "service", "grants": DOMAIN_GRANTS},
            )
            response.raise_for_status()
            token = response.json()["token"]
        wall, _p50 = _measure(url, token, batches, folder)
        return wall
    except SystemExit:
        server.terminate()
        _, errors = server.communicate(timeout=30)
        print("the server's last lines:\n" + "\n".join(errors.decode().splitlines()[-30:]))
        raise
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
