"""Metrics in the Prometheus text format (``GET /metrics``), and the middleware that feeds them.

One process (the embedded default, ``serve`` with one worker): each app has a registry of its own,
so apps built side by side in one process (tests) never share a count. Several workers: ``serve``
points ``PROMETHEUS_MULTIPROC_DIR`` at a folder before it forks, every worker writes its values
there, and a scrape (answered by whichever worker takes it) reads them all. Counters and histograms
are then sums over the workers, and the pool gauges the sum of each live worker's pool as of its
last request: one series per metric, no per-worker label, so a dashboard reads the same whatever
the number of workers.

The middleware also writes each request's access line (:func:`log_request`), since it already
holds what that line says: the request id, the route template, the status and the duration.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import time
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess
from sqlalchemy import Engine
from starlette.requests import ClientDisconnect

from meshlake.governance._logging import log_request
from meshlake.governance.api._load import EXEMPT_PATHS, Load

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Ingest endpoints whose answer says how many events were recorded (``{"events": n, ...}``).
_LINEAGE_PATHS = frozenset({"/api/v1/lineage", "/api/v1/lineage/batch"})

# nginx's "client closed request": the client went away before it was answered (not a failure of
# the service, so not a 5xx in the metrics).
CLIENT_GONE = 499

# A path no route matched is counted under one label, so random paths cannot grow the series.
_UNMATCHED = "unmatched"
# A request answered before routing (shed, body too large, client gone before it started). Matching
# its path against the routes here would cost most when the service can least afford it.
_UNROUTED = "unrouted"


def multiprocess_dir() -> str | None:
    """The folder several workers share their values in, when ``serve`` set one."""
    return os.environ.get(MULTIPROC_ENV) or None


class Metrics:
    """The service's metrics: request latency, lineage ingest, shed requests, the database pool."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.registry = CollectorRegistry()
        self.shared_dir = multiprocess_dir()
        registry = self.registry
        self.requests = Histogram(
            "meshlake_governance_http_request_duration_seconds",
            "Time from a request's arrival to its answer, by route template, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.lineage_events = Counter(
            "meshlake_governance_lineage_events",
            "OpenLineage events recorded (one per event, also inside a batch).",
            registry=registry,
        )
        self.shed = Counter(
            "meshlake_governance_shed_requests",
            "Requests refused with 503 and Retry-After: 'saturated' (the bound on work in flight) "
            "or 'database' (no connection free, or the database did not answer).",
            ["reason"],
            registry=registry,
        )
        for reason in ("saturated", "database"):
            self.shed.labels(reason=reason)  # both series exist (at 0) from the start
        pool_gauges = (
            ("size", "Connections the database pool keeps open."),
            ("checked_out", "Database connections in use by requests now."),
            ("overflow", "Connections open beyond the pool's size."),
        )
        self.pool = {
            name: Gauge(
                f"meshlake_governance_db_pool_{name}",
                text,
                registry=registry,
                multiprocess_mode="livesum",
            )
            for name, text in pool_gauges
        }
        if self.shared_dir:
            _forget_this_process_at_exit()

    def observe_pool(self) -> None:
        """Read the pool's counts into the gauges (a pool that does not count reads as 0)."""
        pool: Any = self.engine.pool
        for name, method in (
            ("size", "size"),
            ("checked_out", "checkedout"),
            ("overflow", "overflow"),
        ):
            count = getattr(pool, method, None)
            value = int(count()) if callable(count) else 0
            self.pool[name].set(max(value, 0))

    def render(self) -> bytes:
        """The text exposition of every metric (of all workers when they share a folder)."""
        self.observe_pool()
        if self.shared_dir:
            merged = CollectorRegistry()
            prometheus_multiprocess.MultiProcessCollector(merged, path=self.shared_dir)
            return generate_latest(merged)
        return generate_latest(self.registry)


_forgotten = False


def _forget_this_process_at_exit() -> None:
    """A worker's pool gauges leave the sums when it exits (counters and histograms stay)."""
    global _forgotten
    if not _forgotten:
        atexit.register(prometheus_multiprocess.mark_process_dead, os.getpid())
        _forgotten = True


def instrument(app: FastAPI, load: Load) -> Metrics:
    """Give ``app`` its metrics (``app.state.metrics``) and the middleware that records them."""
    metrics = Metrics(app.state.engine)
    app.state.metrics = metrics
    app.add_middleware(RequestObserver, metrics=metrics, load=load)
    return metrics


class RequestObserver:
    """ASGI middleware: time every request, count sheds and ingested events, log the request.

    It sits just outside the bound on work in flight: it sees the 503s that bound answers and can
    tell them apart (the bound was reached when the request came), and inside the crash guard,
    which has set the request id and turns a raised exception into the 500 recorded here.
    """

    def __init__(self, app: Any, metrics: Metrics, load: Load) -> None:
        self.app, self.metrics, self.load = app, metrics, load

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path: str = scope["path"]
        # No await lies between this check and the bound's own: it predicts the refusal exactly.
        shed_by_bound = path not in EXEMPT_PATHS and self.load.saturated
        status: int | None = None
        body: list[bytes] = []
        watch_body = path in _LINEAGE_PATHS and scope["method"] == "POST"

        async def observed(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif watch_body and message["type"] == "http.response.body" and status == 201:
                body.append(message.get("body", b""))
            await send(message)

        outcome = CLIENT_GONE  # no answer sent and nothing raised: the client left
        try:
            await self.app(scope, receive, observed)
        except (ClientDisconnect, asyncio.CancelledError):
            outcome = CLIENT_GONE
            raise
        except BaseException:
            outcome = 500  # the crash guard outside answers 500
            raise
        finally:
            seconds = time.perf_counter() - started
            self._record(scope, status or outcome, seconds, shed_by_bound, body)

    def _record(
        self,
        scope: dict[str, Any],
        status: int,
        seconds: float,
        shed_by_bound: bool,
        body: list[bytes],
    ) -> None:
        route = _route_template(scope, status)
        method: str = scope["method"]
        self.metrics.requests.labels(route=route, method=method, status=str(status)).observe(
            seconds
        )
        if status == 503 and scope["path"] not in EXEMPT_PATHS:  # a probe's 503 reports, not sheds
            self.metrics.shed.labels(reason="saturated" if shed_by_bound else "database").inc()
        if body:
            events = _events_recorded(b"".join(body))
            if events:
                self.metrics.lineage_events.inc(events)
        self.metrics.observe_pool()
        state = scope.get("state") or {}
        caller = state.get("caller")
        log_request(
            request_id=state.get("request_id"),
            method=method,
            route=route,
            path=scope["path"],
            status=status,
            duration_ms=seconds * 1000,
            principal=getattr(caller, "name", None),
        )


def _route_template(scope: dict[str, Any], status: int) -> str:
    """The matched route's path template (``/api/v1/principals/{name}``), not the path."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if template:
        return str(template)
    # No route in the scope: the router found none (its 404), or the request never reached it.
    return _UNMATCHED if status == 404 else _UNROUTED


def _events_recorded(body: bytes) -> int:
    try:
        answer = json.loads(body)
    except ValueError:
        return 0
    events = answer.get("events") if isinstance(answer, dict) else None
    return events if isinstance(events, int) and events > 0 else 0
