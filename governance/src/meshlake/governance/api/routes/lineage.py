"""Lineage endpoints: the OpenLineage receiver (one event, or a batch) and the graph, impact and runs.

``POST /api/v1/lineage`` takes exactly what openlineage-python's ``HttpTransport`` sends (JSON, or
gzip with ``Content-Encoding: gzip``), so any OpenLineage producer can point ``OPENLINEAGE_URL`` at
this service. The body is read as bytes and parsed by the service's own validator rather than by a
pydantic model: that keeps a 10,000-event batch cheap, and lets a problem be named by its path in
the event (``run.runId: required``) instead of failing deep inside a generic schema.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from sqlalchemy.orm import Session

from meshlake.governance._errors import InvalidRequestError, PayloadTooLargeError
from meshlake.governance.api._limits import limit_for, setting_for, too_large_detail
from meshlake.governance.api.deps import CallerDep, NowDep, SessionDep
from meshlake.governance.services import _lineage
from meshlake.governance.services._access import Caller
from meshlake.governance.services._lineage import MAX_BATCH, MAX_DEPTH, DatasetRef, JobRef

router = APIRouter(prefix="/api/v1/lineage", tags=["lineage"])


async def _raw_body(request: Request) -> bytes:
    # Read in the event loop, parsed in the handler's worker thread (a large batch takes a while).
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]


def _inflated(raw: bytes, encoding: str | None, limit: int, setting: str) -> bytes:
    if encoding and encoding.strip().lower() == "gzip":
        # The size cap holds for the inflated body too: a gzip bomb stops here.
        inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
        try:
            raw = inflater.decompress(raw, limit)
        except zlib.error as exc:
            raise InvalidRequestError(f"body: not valid gzip ({exc})") from None
        if inflater.unconsumed_tail:
            raise PayloadTooLargeError(too_large_detail(limit, setting) + " (once inflated)")
    elif encoding and encoding.strip().lower() not in ("identity", ""):
        raise InvalidRequestError(
            f"Content-Encoding: {encoding!r} is not supported; send gzip or nothing"
        )
    return raw


# ---------------------------------------------------------------------------------------------
# Models (what goes over the wire)


class IngestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    events: int = Field(description="Events received and recorded.")
    runs: int = Field(description="Distinct runs they belong to.")
    jobs: int = Field(description="Distinct jobs.")
    datasets: int = Field(
        description="Distinct datasets (inputs, outputs, column-lineage sources)."
    )
    io: int = Field(description="Distinct job-reads/writes-dataset relations.")
    column_edges: int = Field(description="Distinct column-lineage edges.")


class NodeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str = Field(description="`dataset:<namespace>:<name>` or `job:<namespace>:<name>`.")
    kind: Literal["dataset", "job"]
    namespace: str
    name: str
    logical_name: str | None = Field(
        description="A dataset's logical name (`domain.product.port`, or a raw source's id), "
        "from its symlinks facet."
    )
    depth: int = Field(description="Hops (jobs) from the starting point; 0 is the start.")


class EdgeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    source: str = Field(description="The node data flows from.")
    target: str = Field(description="The node data flows to.")
    source_column: str | None = Field(default=None, description="Column level: the input column.")
    target_column: str | None = Field(
        default=None,
        description="Column level: the output column; null for a dataset-level dependency "
        "(join key, filter, grouping), which shapes the target's rows as a whole.",
    )
    job: str | None = Field(default=None, description="Column level: the job that writes the edge.")
    type: str | None = Field(default=None, description="DIRECT or INDIRECT (OpenLineage).")
    subtype: str | None = Field(
        default=None, description="IDENTITY, TRANSFORMATION, AGGREGATION, JOIN, FILTER, ..."
    )
    provenance: str | None = Field(
        default=None, description="How the edge is known: parsed, declared or runtime."
    )
    retired_at: datetime | None = Field(
        default=None,
        description="history=true only: when the job's newest run stopped writing this edge.",
    )


class GraphOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    start: list[str] = Field(description="The nodes the walk started from.")
    direction: str
    depth: int
    level: str
    nodes: list[NodeOut]
    edges: list[EdgeOut]


class ImpactedColumnOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    dataset: str
    namespace: str
    name: str
    logical_name: str | None
    column: str | None = Field(description="null: the dataset's rows as a whole are impacted.")
    depth: int


class ImpactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    dataset: str
    column: str
    columns: list[ImpactedColumnOut] = Field(description="Every column downstream, transitively.")
    datasets: list[NodeOut]
    jobs: list[NodeOut]
    products: list[str] = Field(description="`domain.product` of every impacted output port.")
    domains: list[str]
    edges: list[EdgeOut]


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    run_id: str
    job_namespace: str
    job_name: str
    state: str = Field(description="START, RUNNING, COMPLETE, FAIL, ABORT or OTHER.")
    started_at: datetime | None
    ended_at: datetime | None
    error: str | None = Field(description="The errorMessage facet of a FAIL (or ABORT).")


def _text(limit: int) -> dict[str, Any]:
    # The validator's limits (services/_lineage): non-empty, bounded, no NUL (PostgreSQL refuses it).
    return {"type": "string", "minLength": 1, "maxLength": limit, "pattern": "^[^\\x00]*$"}


_DATASET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["namespace", "name"],
    "properties": {
        "namespace": _text(300),
        "name": _text(1000),
        "facets": {
            "type": "object",
            "description": "Read: symlinks (logical name, namespace `meshlake`) and, on outputs, "
            "columnLineage; others are accepted and ignored.",
        },
    },
}
_EVENT_TIME: dict[str, Any] = {
    "type": "string",
    "format": "date-time",
    "description": "ISO 8601. Also taken, as other lineage backends take them: a time without an "
    "offset (read as UTC) and digits past the microsecond (nanoseconds; dropped).",
}
_JOB_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["namespace", "name"],
    "properties": {
        "namespace": _text(300),
        "name": _text(300),
        "facets": {"description": "The job's facets (not read)."},
    },
}
RUN_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An OpenLineage RunEvent (https://openlineage.io/spec/2-0-2/OpenLineage.json); "
    "without eventType the run is recorded in state OTHER.",
    "required": ["eventTime", "run", "job"],
    "properties": {
        "eventType": {"type": "string", "enum": list(_lineage.EVENT_TYPES)},
        "eventTime": _EVENT_TIME,
        # Taken as they come and not read: any JSON value is accepted.
        "producer": {"description": "The producer's URI (not read)."},
        "schemaURL": {"description": "The event's schema URL (not read)."},
        "run": {
            "type": "object",
            "required": ["runId"],
            "properties": {"runId": _text(64), "facets": {"type": "object"}},
        },
        "job": _JOB_SCHEMA,
        "inputs": {"type": ["array", "null"], "items": _DATASET_SCHEMA},
        "outputs": {"type": ["array", "null"], "items": _DATASET_SCHEMA},
    },
}
JOB_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An OpenLineage JobEvent: static lineage of a job (its datasets and column "
    "lineage), recorded without a run.",
    "required": ["eventTime", "job"],
    "not": {"required": ["run"]},
    "properties": {
        "eventTime": _EVENT_TIME,
        "job": _JOB_SCHEMA,
        "inputs": {"type": ["array", "null"], "items": _DATASET_SCHEMA},
        "outputs": {"type": ["array", "null"], "items": _DATASET_SCHEMA},
    },
}
DATASET_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An OpenLineage DatasetEvent: a dataset's static metadata (its logical name "
    "from the symlinks facet is recorded).",
    "required": ["eventTime", "dataset"],
    "not": {"required": ["job", "run"]},
    "properties": {"eventTime": _EVENT_TIME, "dataset": _DATASET_SCHEMA},
}
EVENT_SCHEMA: dict[str, Any] = {
    "description": "Any OpenLineage 2-0-2 event: a RunEvent, a JobEvent or a DatasetEvent.",
    "anyOf": [RUN_EVENT_SCHEMA, JOB_EVENT_SCHEMA, DATASET_EVENT_SCHEMA],
}


def _body_doc(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


# ---------------------------------------------------------------------------------------------
# Endpoints


@router.post(
    "",
    status_code=201,
    summary="Record one OpenLineage event (a service account's token)",
    description="The OpenLineage HTTP endpoint: point a producer's OPENLINEAGE_URL at the service "
    "and its api key at a service token. A RunEvent, JobEvent or DatasetEvent; the event is kept "
    "as sent (GET /api/v1/lineage/events). Recording an event again changes nothing.",
    openapi_extra=_body_doc(EVENT_SCHEMA),
)
def record_event(
    request: Request, session: SessionDep, caller: CallerDep, raw: RawBody
) -> IngestOut:
    return _record(request, session, caller, raw, batch=False)


@router.post(
    "/batch",
    status_code=201,
    summary="Record a batch of OpenLineage events in one transaction (a service account's token)",
    description=f"A JSON array of at most {MAX_BATCH} events; all are recorded or none. A "
    "problem is named by the event's index and field, such as `[3].run.runId: required`.",
    openapi_extra=_body_doc({"type": "array", "items": EVENT_SCHEMA}),
)
def record_batch(
    request: Request, session: SessionDep, caller: CallerDep, raw: RawBody
) -> IngestOut:
    return _record(request, session, caller, raw, batch=True)


def _record(
    request: Request, session: Session, caller: Caller, raw: bytes, batch: bool
) -> IngestOut:
    # Who may write is settled before the body is read: a refused caller learns nothing from it.
    caller.require_service("record lineage")
    path = request.url.path
    limit = limit_for(
        path, request.app.state.max_request_bytes, request.app.state.max_batch_request_bytes
    )
    body = _inflated(raw, request.headers.get("content-encoding"), limit, setting_for(path))
    result = _lineage.ingest_body(session, caller, body, batch=batch)
    # Kept events older than the retention go, at most hourly, after this ingest has committed.
    _lineage.prune_when_due(request.app.state.sessions, request.app.state.clock())
    return IngestOut.model_validate(result)


# Graphs and impacts are serialized from the service's results as they are, and GraphOut and
# ImpactOut (the same fields) only document them: validating a few thousand nodes and edges into
# the models again cost more than the query, and its allocations set off collections that put
# 90 ms in the tail (benchmarks/lineage_graph.py).
_GRAPH_JSON = TypeAdapter(_lineage.Graph)
_IMPACT_JSON = TypeAdapter(_lineage.Impact)


def _json(adapter: TypeAdapter[Any], result: Any) -> Response:
    return Response(adapter.dump_json(result), media_type="application/json")


@router.get(
    "/graph",
    response_model=GraphOut,
    summary="The lineage graph around a dataset or a job, at table or column level",
)
def lineage_graph(
    session: SessionDep,
    _caller: CallerDep,
    dataset: Annotated[
        str | None,
        Query(
            description="A logical name (domain.product.port), or a physical name with namespace."
        ),
    ] = None,
    job: Annotated[str | None, Query(description="A job name (domain.product).")] = None,
    namespace: Annotated[
        str | None, Query(description="The namespace of the dataset or job named.")
    ] = None,
    column: Annotated[
        str | None, Query(description="Column level: start from this column of the dataset.")
    ] = None,
    direction: Literal["upstream", "downstream", "both"] = "upstream",
    depth: Annotated[int, Query(ge=1, le=MAX_DEPTH, description="Hops (jobs) to follow.")] = 5,
    level: Literal["table", "column"] = "table",
    history: Annotated[
        bool,
        Query(
            description="Column level: also the edges a job's newest run no longer writes"
            " (with retired_at); by default the graph is the current one."
        ),
    ] = False,
) -> Response:
    if (dataset is None) == (job is None):
        raise InvalidRequestError("dataset, job: give exactly one of them")
    node: DatasetRef | JobRef = (
        DatasetRef(dataset, namespace) if dataset is not None else JobRef(str(job), namespace)
    )
    result = _lineage.graph(
        session, node, direction=direction, depth=depth, level=level, column=column, history=history
    )
    return _json(_GRAPH_JSON, result)


@router.get(
    "/impact",
    response_model=ImpactOut,
    summary="Everything downstream of a column: columns, datasets, jobs, products and domains",
)
def lineage_impact(
    session: SessionDep,
    _caller: CallerDep,
    dataset: Annotated[
        str, Query(description="A logical name (domain.product.port), or a physical name.")
    ],
    column: Annotated[str, Query(description="The column whose consumers are wanted.")],
    namespace: Annotated[str | None, Query(description="The physical name's namespace.")] = None,
) -> Response:
    return _json(_IMPACT_JSON, _lineage.impact(session, DatasetRef(dataset, namespace), column))


@router.get("/runs", summary="Recent runs, newest first, with their state and error")
def lineage_runs(
    session: SessionDep,
    _caller: CallerDep,
    job: Annotated[str | None, Query(description="Only this job's runs (domain.product).")] = None,
    namespace: Annotated[str | None, Query(description="The job's namespace.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[RunOut]:
    ref = JobRef(job, namespace) if job is not None else None
    return [RunOut.model_validate(run) for run in _lineage.runs(session, ref, limit)]


class StoredEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="The event's place in the order received.")
    shape: Literal["RunEvent", "JobEvent", "DatasetEvent"]
    event_type: str | None = Field(description="The eventType as sent; null when left out.")
    event_time: datetime = Field(description="The eventTime, in UTC.")
    run_id: str | None = Field(description="The run's id; null for static lineage.")
    job_namespace: str | None
    job_name: str | None = Field(description="The job; null for a DatasetEvent.")
    received_at: datetime
    event: dict[str, Any] = Field(description="The event exactly as it was sent (every facet).")


class EventPageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    events: list[StoredEventOut]
    next_after: int | None = Field(
        description="Pass as `after` for the next page; null on the last page."
    )


class PrunedOut(BaseModel):
    pruned: int = Field(description="Events deleted (at most 10,000 a call; call again for more).")
    before: datetime = Field(description="Events received before this were pruned.")


@router.post(
    "/events/prune",
    summary="Delete the kept events older than MESHLAKE_LINEAGE_EVENT_RETENTION_DAYS (admin)",
    description="The service also does this at most hourly as events arrive. The graph, runs and "
    "column lineage stay; only the events as received go.",
)
def prune_lineage_events(session: SessionDep, caller: CallerDep, now: NowDep) -> PrunedOut:
    pruned, before = _lineage.prune_now(session, caller, now)
    return PrunedOut(pruned=pruned, before=before)


@router.get(
    "/events",
    response_model=EventPageOut,
    summary="The events as received, by run, job or dataset, oldest first, a page at a time",
)
def lineage_events(
    session: SessionDep,
    _caller: CallerDep,
    run: Annotated[
        str | None, Query(max_length=64, description="Only this run's events (its runId).")
    ] = None,
    job: Annotated[
        str | None, Query(max_length=300, description="Only this job's events (domain.product).")
    ] = None,
    dataset: Annotated[
        str | None,
        Query(
            max_length=1000,
            description="Only the events naming this dataset: a logical name "
            "(domain.product.port), or a physical name (with namespace).",
        ),
    ] = None,
    namespace: Annotated[
        str | None,
        Query(max_length=300, description="The namespace of the job or dataset named."),
    ] = None,
    after: Annotated[
        int | None, Query(ge=0, description="The next_after of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EventPageOut:
    page = _lineage.stored_events(
        session,
        run=run,
        job=JobRef(job, namespace) if job is not None else None,
        dataset=DatasetRef(dataset, namespace) if dataset is not None else None,
        after=after,
        limit=limit,
    )
    return EventPageOut.model_validate(page)
