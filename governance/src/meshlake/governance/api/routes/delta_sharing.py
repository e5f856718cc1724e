"""The Delta Sharing protocol under ``/delta-sharing`` (the profile's endpoint), for recipients.

Bearer auth is the service's own: a recipient's token (``meshlake sharing profile``). File URLs
under ``/delta-sharing/files`` carry their own signature instead, as pre-signed URLs do. Every
table response carries ``Delta-Table-Version``; table bodies are NDJSON in the Parquet response
format, or in the delta format for a client that asks for it alone (``_formats``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from meshlake.governance.api._delta_sharing_models import (
    GetShareOut,
    ListSchemasOut,
    ListSharesOut,
    ListTablesOut,
    QueryIn,
    SchemaOut,
    ShareOut,
    TableOut,
)
from meshlake.governance.api._problems import ErrorOut
from meshlake.governance.api.deps import CallerDep, NowDep, SessionDep, TodayDep
from meshlake.governance.services import _delta_sharing as sharing
from meshlake.governance.services._delta_sharing import SharedTable, SharingRequestError
from meshlake.governance.services._delta_sharing._formats import (
    CAPABILITIES_HEADER,
    ResponseFormat,
    capabilities,
    in_format,
    response_format,
)

router = APIRouter(
    prefix="/delta-sharing",
    tags=["delta sharing"],
    # The protocol's status for a parameter it refuses (SharingRequestError).
    responses={400: {"model": ErrorOut, "description": "A parameter the protocol refuses."}},
)

NDJSON = "application/x-ndjson; charset=utf-8"
VERSION_HEADER = "Delta-Table-Version"
MaxResults = Annotated[int | None, Query(alias="maxResults", ge=0, le=1000)]
PageToken = Annotated[str | None, Query(alias="pageToken", pattern=sharing.PAGE_TOKEN)]
Name = Annotated[str, Path(min_length=1, max_length=300)]


class _SnapshotFile(FileResponse):
    # Snapshot files run to hundreds of MB; Starlette's 64 kB chunks cost a loop turn each, and
    # a shared table is read whole, so larger chunks carry the same bytes in fewer turns.
    chunk_size = 1024 * 1024


def _server(request: Request) -> sharing.SharingServer:
    server: sharing.SharingServer = request.app.state.delta_sharing
    return server


def _share_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"meshlake:share:{name}"))


def _table_out(item: SharedTable) -> TableOut:
    return TableOut(
        name=item.name,
        schema=item.schema,
        share=item.share,
        shareId=_share_id(item.share),
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"meshlake:{item.share}:{item.port.port}")),
    )


def _format(request: Request) -> ResponseFormat:
    return response_format(request.headers.get(CAPABILITIES_HEADER))


def _ndjson(
    lines: Iterable[dict[str, Any]], version: int, chosen: ResponseFormat = "parquet"
) -> Response:
    """The lines (in the Parquet format) as NDJSON in ``chosen`` format; ``version`` is the
    table's, the metadata's, and the ``Delta-Table-Version`` header's."""
    body = "".join(
        json.dumps(in_format(line, chosen, version), separators=(",", ":")) + "\n" for line in lines
    )
    headers = {VERSION_HEADER: str(version), **capabilities(chosen)}
    return Response(body, media_type=NDJSON, headers=headers)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get(
    "/shares",
    response_model_exclude_none=True,
    summary="The caller's shares: its active agreements as a recipient",
)
def list_shares(
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    today: TodayDep,
    max_results: MaxResults = None,
    page_token: PageToken = None,
) -> ListSharesOut:
    _server(request).sweep(session, today)
    found = sharing.shares(session, caller, today)
    chosen, token = sharing.page(found, lambda item: item.name, max_results, page_token)
    items = [ShareOut(name=item.name, id=_share_id(item.name)) for item in chosen]
    return ListSharesOut(items=items, nextPageToken=token)


@router.get("/shares/{share}", summary="One share")
def get_share(share: Name, session: SessionDep, caller: CallerDep, today: TodayDep) -> GetShareOut:
    agreement = sharing.share(session, caller, share, today)
    return GetShareOut(share=ShareOut(name=agreement.name, id=_share_id(agreement.name)))


@router.get(
    "/shares/{share}/schemas",
    response_model_exclude_none=True,
    summary="A share's schemas: its providing domain",
)
def list_schemas(
    share: Name,
    session: SessionDep,
    caller: CallerDep,
    today: TodayDep,
    max_results: MaxResults = None,
    page_token: PageToken = None,
) -> ListSchemasOut:
    agreement = sharing.share(session, caller, share, today)
    schemas = [SchemaOut(name=agreement.provider_domain, share=agreement.name)]
    chosen, token = sharing.page(schemas, lambda item: item.name, max_results, page_token)
    return ListSchemasOut(items=chosen, nextPageToken=token)


@router.get(
    "/shares/{share}/schemas/{schema}/tables",
    response_model_exclude_none=True,
    summary="The tables of a schema",
)
def list_tables(
    share: Name,
    schema: Name,
    session: SessionDep,
    caller: CallerDep,
    today: TodayDep,
    max_results: MaxResults = None,
    page_token: PageToken = None,
) -> ListTablesOut:
    agreement = sharing.share(session, caller, share, today)
    sharing.schema_of(agreement, schema)
    found = sharing.tables(session, agreement)
    chosen, token = sharing.page(found, lambda item: item.name, max_results, page_token)
    return ListTablesOut(items=[_table_out(item) for item in chosen], nextPageToken=token)


@router.get(
    "/shares/{share}/all-tables",
    response_model_exclude_none=True,
    summary="The tables of every schema of a share",
)
def list_all_tables(
    share: Name,
    session: SessionDep,
    caller: CallerDep,
    today: TodayDep,
    max_results: MaxResults = None,
    page_token: PageToken = None,
) -> ListTablesOut:
    agreement = sharing.share(session, caller, share, today)
    found = sharing.tables(session, agreement)
    key = lambda item: f"{item.schema}.{item.name}"  # noqa: E731
    chosen, token = sharing.page(found, key, max_results, page_token)
    return ListTablesOut(items=[_table_out(item) for item in chosen], nextPageToken=token)


_TABLE = "/shares/{share}/schemas/{schema}/tables/{table}"


@router.get(
    _TABLE + "/version",
    summary="The table's version (published, or the first at or after startingTimestamp)",
)
@router.head(
    _TABLE + "/version",
    operation_id="head_table_version",
    summary="The table's version, headers only",
)
def table_version(
    request: Request,
    share: Name,
    schema: Name,
    table: Name,
    session: SessionDep,
    caller: CallerDep,
    today: TodayDep,
    starting_timestamp: Annotated[
        str | None, Query(alias="startingTimestamp", max_length=64)
    ] = None,
) -> Response:
    shared = sharing.table(session, caller, share, schema, table, today)
    version = _server(request).starting_version(shared, starting_timestamp)
    return Response(status_code=200, headers={VERSION_HEADER: str(version)})


@router.get(_TABLE + "/metadata", summary="The table's protocol and metadata (NDJSON)")
def table_metadata(
    request: Request,
    share: Name,
    schema: Name,
    table: Name,
    session: SessionDep,
    caller: CallerDep,
    today: TodayDep,
) -> Response:
    chosen = _format(request)
    shared = sharing.table(session, caller, share, schema, table, today)
    server = _server(request)
    version = shared.port.version
    lines = [server.protocol_line(), server.metadata_line(shared, version)]
    return _ndjson(lines, version, chosen)


@router.post(_TABLE + "/query", summary="The table's files at a version (NDJSON, signed URLs)")
def query_table(
    request: Request,
    share: Name,
    schema: Name,
    table: Name,
    session: SessionDep,
    caller: CallerDep,
    today: TodayDep,
    now: NowDep,
    body: QueryIn | None = None,
) -> Response:
    asked = body or QueryIn()
    chosen = _format(request)
    shared = sharing.table(session, caller, share, schema, table, today)
    server = _server(request)
    server.refuse_history(asked.starting_version, asked.ending_version)
    version = server.version(shared, asked.version, asked.timestamp)
    files = list(
        server.file_lines(
            shared,
            version,
            _base(request),
            now,
            limit_hint=asked.limit_hint,
            with_version=asked.version is not None or asked.timestamp is not None,
            before_build=lambda: server.sweep(session, today),
        )
    )
    server.record_read(session, caller.name, shared, "query", (version, version), files)
    lines = [server.protocol_line(), server.metadata_line(shared, version), *files]
    return _ndjson(lines, version, chosen)


@router.get(_TABLE + "/changes", summary="The table's change data feed (NDJSON, signed URLs)")
def table_changes(
    request: Request,
    share: Name,
    schema: Name,
    table: Name,
    session: SessionDep,
    caller: CallerDep,
    today: TodayDep,
    now: NowDep,
    starting_version: Annotated[int | None, Query(alias="startingVersion", ge=0)] = None,
    ending_version: Annotated[int | None, Query(alias="endingVersion", ge=0)] = None,
    starting_timestamp: Annotated[
        str | None, Query(alias="startingTimestamp", max_length=64)
    ] = None,
    ending_timestamp: Annotated[str | None, Query(alias="endingTimestamp", max_length=64)] = None,
) -> Response:
    chosen = _format(request)
    shared = sharing.table(session, caller, share, schema, table, today)
    server = _server(request)
    if (starting_version is None) == (starting_timestamp is None):
        raise SharingRequestError("startingVersion, startingTimestamp: give exactly one of them")
    start = (
        starting_version
        if starting_version is not None
        else server.starting_version(shared, starting_timestamp)
    )
    end = shared.port.version
    if ending_version is not None:
        end = ending_version
    elif ending_timestamp is not None:
        end = server.version(shared, timestamp=ending_timestamp)
    actions = list(server.change_lines(shared, start, end, _base(request), now))
    server.record_read(session, caller.name, shared, "changes", (start, end), actions)
    lines = [server.protocol_line(), server.metadata_line(shared, end), *actions]
    return _ndjson(lines, start, chosen)


@router.get(
    "/files/{path:path}",
    summary="A shared snapshot file, by its signed URL (HTTP Range supported)",
    response_class=FileResponse,
)
@router.head(
    "/files/{path:path}",
    operation_id="head_shared_file",
    summary="A shared snapshot file's headers (its size), by its signed URL",
    response_class=FileResponse,
)
async def shared_file(
    request: Request,
    path: str,
    expires: Annotated[int, Query(alias="Expires", ge=0, le=2**53)],
    signature: Annotated[str, Query(alias="X-Amz-Signature", max_length=128)],
) -> FileResponse:
    # A client reads one file with several requests (size, footer, column chunks). When its
    # agreement was found active moments ago, a request costs a signature check and a stat, on
    # the event loop; otherwise the agreement is looked up (in a worker thread, with a session).
    server = _server(request)
    now: datetime = request.app.state.clock()  # the service's clock, as NowDep reads it
    found = server.known_file(path, expires, signature, now)
    if found is None:
        found = await run_in_threadpool(_checked_file, request, server, path, expires, signature)
    return _SnapshotFile(found, media_type="application/octet-stream")


def _checked_file(
    request: Request, server: sharing.SharingServer, path: str, expires: int, signature: str
) -> FilePath:
    now: datetime = request.app.state.clock()
    with request.app.state.sessions() as session, session.begin():
        return server.file(session, path, expires, signature, now, now.date())
