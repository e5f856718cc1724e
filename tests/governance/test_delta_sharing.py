"""The Delta Sharing server over real HTTP, on SQLite and PostgreSQL, read with the official
``delta_sharing`` client from a profile file the provider's owner issued.

hr.employees.employees is published three times (10 rows, 4 appended, one deleted) with a change
data feed, and shared with a recipient team (an external one would need a cross-region allowance): five columns, two of them masked, active
employees only. The recipient must see exactly that, from snapshot files behind signed URLs, and
nothing once the agreement is revoked.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import delta_sharing
import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import CommitProperties, DeltaTable, write_deltalake
from requests import HTTPError
from sqlalchemy import event
from typer.testing import CliRunner

from meshlake.governance import GovernanceSettings
from meshlake.governance._errors import ConflictError
from meshlake.governance._sharing_cli import sharing
from meshlake.governance.services._delta_sharing import (
    SharedTable,
    SharingRequestError,
    SharingServer,
    Snapshots,
    UrlSigner,
    sharing_server,
)
from meshlake.governance.services._delta_sharing._snapshots import nullable_masks
from meshlake.governance.services._delta_sharing._verdicts import (
    ActiveAgreements,
    forget_everywhere,
)
from meshlake.governance.services._readable import ReadablePort, read
from meshlake.governance.services._sql import TableGrant
from meshlake.platform.cli import _output
from tests.governance._publishing import MESH, Publisher, contract_table
from tests.governance._sharing import TODAY, Clock, Mesh, serve_mesh

pytestmark = pytest.mark.integration

EMPLOYEES = "hr.employees.employees"
TABLE = "employees__employees"
SHARE = "acme-reads-employees"
RECIPIENT = "acme-analytics"
DELIVERED = ["employee_id", "full_name", "birth_date", "is_active", "department"]
CDF = {"delta.enableChangeDataFeed": "true"}


@dataclass
class Shared:
    mesh: Mesh
    snapshots: Path
    location: str
    profile: Path
    published: list[int]

    def url(self, share: str = SHARE, profile: Path | None = None) -> str:
        return f"{profile or self.profile}#{share}.hr.{TABLE}"

    def recipient(self, profile: Path | None = None) -> httpx.Client:
        data = json.loads((profile or self.profile).read_text())
        return httpx.Client(
            base_url=data["endpoint"],
            headers={"Authorization": f"Bearer {data['bearerToken']}"},
            timeout=30,
        )


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _expected_ids(rows: range, deleted: set[int] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """Active employees (even rows in the sample data) not deleted."""
    return sorted(f"v{i}" for i in rows if i % 2 == 0 and i not in deleted)


def _publish(mesh: Mesh, run_id: str, write: Any) -> int:
    """One governed publication of hr.employees whose commit ``write(location, properties)`` makes."""
    publisher = Publisher(mesh.service)
    product = MESH.product("hr.employees")
    decided = publisher.decide(product, run_id)
    assert decided.status_code == 200, decided.text
    location = publisher.location(EMPLOYEES)
    Path(location).parent.mkdir(parents=True, exist_ok=True)
    properties = CommitProperties(
        custom_metadata={"userMetadata": json.dumps({"meshlake.run_id": run_id})}
    )
    write(location, properties)
    version = int(DeltaTable(location).version())
    recorded = publisher.record(product, run_id, decided.json()["id"], {"employees": version})
    assert recorded.status_code == 201, recorded.text
    return version


def _agreement(mesh: Mesh, name: str, recipient: str, **changes: Any) -> None:
    body: dict[str, Any] = {
        "name": name,
        "consumer": {"kind": "team", "id": recipient, "domain": "sales"},
        "purpose": "sales_performance_reporting",
        "start": TODAY.isoformat(),
        "end": (TODAY + timedelta(days=90)).isoformat(),
        "ports": [
            {
                "port": EMPLOYEES,
                "columns": DELIVERED,
                "masked": ["full_name", "birth_date"],
                "rows": {"is_active": [True]},
            }
        ],
        **changes,
    }
    with mesh.as_("sales") as sales, mesh.as_("hr owner") as owner:
        requested = sales.post("/api/v1/agreements", json=body)
        assert requested.status_code == 201, requested.text
        approved = owner.post(f"/api/v1/agreements/{name}/approve", json={})
        assert approved.status_code == 200, approved.text
        assert approved.json()["state"] == "active", approved.json()


def _profile(mesh: Mesh, name: str, folder: Path) -> Path:
    with mesh.as_("hr owner") as owner:
        issued = owner.post(f"/api/v1/agreements/{name}/recipient-token")
    assert issued.status_code == 201, issued.text
    path = folder / f"{name}.share"
    path.write_text(json.dumps(issued.json()["profile"]))
    return path


def _publish_three_versions(mesh: Mesh) -> list[int]:
    """10 employees with a change data feed, then 4 appended, then v2 deleted."""
    contract = MESH.product("hr.employees").ports["employees"].contract
    everyone = contract_table(contract, 14)

    def create(at: str, props: CommitProperties) -> None:
        write_deltalake(
            at, everyone.slice(0, 10), mode="overwrite", configuration=CDF, commit_properties=props
        )

    def append(at: str, props: CommitProperties) -> None:
        write_deltalake(at, everyone.slice(10, 4), mode="append", commit_properties=props)

    def delete(at: str, props: CommitProperties) -> None:
        DeltaTable(at).delete("employee_id = 'v2'", commit_properties=props)

    return [
        _publish(mesh, f"run-cdf-{index}", write)
        for index, write in enumerate((create, append, delete))
    ]


@pytest.fixture(scope="module")
def shared(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    state = tmp_path_factory.mktemp("state")
    snapshots = state / "sharing-snapshots"
    for mesh in serve_mesh(database_url, state, Clock()):
        mesh.app.state.delta_sharing = sharing_server(
            GovernanceSettings(sharing_snapshot_dir=snapshots, sharing_url_ttl_seconds=600)
        )
        published = _publish_three_versions(mesh)
        _agreement(mesh, SHARE, RECIPIENT)
        profile = _profile(mesh, SHARE, tmp_path_factory.mktemp("profiles"))
        location = Publisher(mesh.service).location(EMPLOYEES)
        yield Shared(mesh, snapshots, location, profile, published)


@pytest.fixture
def clock(shared: Shared) -> Iterator[Clock]:
    shared.mesh.clock.on(TODAY)
    yield shared.mesh.clock
    shared.mesh.clock.on(TODAY)


def _query(client: httpx.Client, body: dict[str, Any] | None = None) -> httpx.Response:
    return client.post(f"/shares/{SHARE}/schemas/hr/tables/{TABLE}/query", json=body or {})


def _lines(response: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in response.text.splitlines()]


def _file_urls(client: httpx.Client, body: dict[str, Any] | None = None) -> list[str]:
    response = _query(client, body)
    assert response.status_code == 200, response.text
    return [line["file"]["url"] for line in _lines(response) if "file" in line]


# -- the official client ------------------------------------------------------------------------


def test_client_lists_the_share_and_reads_it_masked_and_filtered(shared: Shared) -> None:
    client = delta_sharing.SharingClient(str(shared.profile))
    tables = client.list_all_tables()
    frame = delta_sharing.load_as_pandas(shared.url())

    assert [(t.share, t.schema, t.name) for t in tables] == [(SHARE, "hr", TABLE)]
    assert [share.name for share in client.list_shares()] == [SHARE]
    assert list(frame.columns) == DELIVERED
    assert sorted(frame["employee_id"]) == _expected_ids(range(14), {2})
    assert set(frame["is_active"]) == {True}
    for employee, name in zip(frame["employee_id"], frame["full_name"], strict=True):
        assert name == sha(employee)  # the sample's full_name of row i is "vi", as its id
    assert frame["birth_date"].isna().all()
    assert "email" not in frame.columns


def test_client_reads_with_a_limit_and_at_earlier_versions(shared: Shared) -> None:
    limited = delta_sharing.load_as_pandas(shared.url(), limit=2)
    first = delta_sharing.load_as_pandas(shared.url(), version=shared.published[0])
    second = delta_sharing.load_as_pandas(shared.url(), version=shared.published[1])
    with pytest.raises(HTTPError) as past:
        delta_sharing.load_as_pandas(shared.url(), version=shared.published[-1] + 1)

    assert len(limited) == 2 and set(limited["employee_id"]) <= set(_expected_ids(range(14), {2}))
    assert sorted(first["employee_id"]) == _expected_ids(range(10))
    assert sorted(second["employee_id"]) == _expected_ids(range(14))
    response = past.value.response
    assert response is not None and response.status_code == 400
    assert "not a published version" in response.text


def _assert_the_sample_changes(shared: Shared, changes: Any) -> None:
    """Versions 1-2 of the sample's change feed as the share lets them through: two inserts,
    one delete (the deleted row's team is in scope), names masked."""
    got = sorted(
        zip(
            changes["employee_id"], changes["_change_type"], changes["_commit_version"], strict=True
        )
    )
    assert got == [
        ("v10", "insert", shared.published[1]),
        ("v12", "insert", shared.published[1]),
        ("v2", "delete", shared.published[2]),
    ]
    assert list(changes["full_name"]) == [sha(e) for e in changes["employee_id"]]


def test_client_reads_the_delta_format_as_it_reads_the_parquet_one(shared: Shared) -> None:
    # use_delta_format: the client writes the lines to a local Delta log and delta-kernel reads
    # the signed URLs; a client that reads both formats is answered in Parquet.
    as_parquet = delta_sharing.load_as_pandas(shared.url())
    as_delta = delta_sharing.load_as_pandas(shared.url(), use_delta_format=True)
    at_first = delta_sharing.load_as_pandas(
        shared.url(), version=shared.published[0], use_delta_format=True
    )
    changes = delta_sharing.load_table_changes_as_pandas(
        shared.url(),
        starting_version=shared.published[1],
        ending_version=shared.published[2],
        use_delta_format=True,
    )

    def rows(frame: Any, columns: list[str]) -> list[tuple[Any, ...]]:
        return sorted(
            tuple(None if value is None or value != value else str(value) for value in row)
            for row in frame[columns].itertuples(index=False)
        )

    assert list(as_delta.columns) == DELIVERED
    assert rows(as_delta, DELIVERED) == rows(as_parquet, DELIVERED)
    assert sorted(at_first["employee_id"]) == _expected_ids(range(10))
    _assert_the_sample_changes(shared, changes)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "parquet"),
        ("responseformat=parquet", "parquet"),
        ("responseformat=delta,parquet;readerfeatures=deletionvectors", "parquet"),
        ("responseformat=delta;readerfeatures=deletionvectors,columnmapping", "delta"),
        ("readerfeatures=columnmapping", "parquet"),
    ],
)
def test_the_response_format_follows_what_the_client_reads(
    shared: Shared, header: str | None, expected: str
) -> None:
    headers = {"delta-sharing-capabilities": header} if header else {}
    with shared.recipient() as client:
        response = client.get(
            f"/shares/{SHARE}/schemas/hr/tables/{TABLE}/metadata", headers=headers
        )

    assert response.status_code == 200, response.text
    assert response.headers["delta-sharing-capabilities"] == f"responseformat={expected}"
    protocol, metadata = [json.loads(line) for line in response.text.splitlines()]
    if expected == "delta":
        assert protocol["protocol"]["deltaProtocol"]["minReaderVersion"] == 1
        assert metadata["metaData"]["version"] == shared.published[-1]
        assert metadata["metaData"]["deltaMetadata"]["configuration"] == {
            "delta.enableChangeDataFeed": "true"
        }
    else:
        assert protocol == {"protocol": {"minReaderVersion": 1}}
        assert metadata["metaData"]["configuration"] == {"enableChangeDataFeed": "true"}


def test_a_response_format_the_server_does_not_write_is_refused(shared: Shared) -> None:
    with shared.recipient() as client:
        response = client.get(
            f"/shares/{SHARE}/schemas/hr/tables/{TABLE}/metadata",
            headers={"delta-sharing-capabilities": "responseformat=arrow"},
        )

    assert response.status_code == 400
    assert "responseformat=arrow is not served" in response.text


def test_client_reads_the_change_data_feed_masked_and_filtered(shared: Shared) -> None:
    changes = delta_sharing.load_table_changes_as_pandas(
        shared.url(), starting_version=shared.published[1], ending_version=shared.published[2]
    )

    _assert_the_sample_changes(shared, changes)
    assert changes["birth_date"].isna().all()
    assert set(changes.columns) == {
        *DELIVERED,
        "_change_type",
        "_commit_version",
        "_commit_timestamp",
    }


def test_another_recipient_sees_nothing_of_the_share(shared: Shared) -> None:
    other = shared.mesh.service.token("someone-else", kind="service")
    with shared.mesh.service.client(other) as client:
        client.base_url = httpx.URL(shared.mesh.service.url + "/delta-sharing")
        listed = client.get("/shares")
        share = client.get(f"/shares/{SHARE}")
        query = _query(client)
        tables = client.get(f"/shares/{SHARE}/all-tables")

    assert listed.status_code == 200 and listed.json()["items"] == []
    assert share.status_code == 404 and query.status_code == 404 and tables.status_code == 404
    assert "not shared with someone-else" in share.json()["detail"]


# -- the protocol, byte by byte ----------------------------------------------------------------


def test_protocol_headers_and_ndjson_shapes(shared: Shared) -> None:
    version = shared.published[-1]
    base = f"/shares/{SHARE}/schemas/hr/tables/{TABLE}"
    with shared.recipient() as client:
        schemas = client.get(f"/shares/{SHARE}/schemas")
        tables = client.get(f"/shares/{SHARE}/schemas/hr/tables")
        head = client.head(f"{base}/version")
        since = client.get(f"{base}/version", params={"startingTimestamp": "2000-01-01T00:00:00Z"})
        metadata = client.get(f"{base}/metadata")
        query = _query(client, {"version": shared.published[0], "predicateHints": ["x > 1"]})
        changes = client.get(f"{base}/changes", params={"startingVersion": 0})
        unknown_schema = client.get(f"/shares/{SHARE}/schemas/sales/tables")
        both = _query(client, {"version": 0, "timestamp": "2026-01-01T00:00:00Z"})
        late = _query(client, {"timestamp": "2999-01-01T00:00:00Z"})
        early = _query(client, {"timestamp": "2000-01-01T00:00:00Z"})
        garbled = _query(client, {"timestamp": "yesterday"})
        streaming = _query(client, {"startingVersion": 0, "endingVersion": 1})
        negative = _query(client, {"startingVersion": -1})

    assert schemas.json() == {"items": [{"name": "hr", "share": SHARE}]}
    assert [item["name"] for item in tables.json()["items"]] == [TABLE]
    assert head.status_code == 200 and head.headers["Delta-Table-Version"] == str(version)
    assert since.headers["Delta-Table-Version"] == str(shared.published[0])
    for response in (metadata, query, changes):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/x-ndjson")
        assert "Delta-Table-Version" in response.headers
    assert metadata.headers["Delta-Table-Version"] == str(version)
    assert query.headers["Delta-Table-Version"] == str(shared.published[0])
    protocol, meta = _lines(metadata)
    assert protocol == {"protocol": {"minReaderVersion": 1}}
    assert meta["metaData"]["format"] == {"provider": "parquet"}
    assert meta["metaData"]["configuration"] == {"enableChangeDataFeed": "true"}
    fields = json.loads(meta["metaData"]["schemaString"])["fields"]
    assert [field["name"] for field in fields] == DELIVERED
    assert {f["name"]: f["nullable"] for f in fields}["full_name"] is True
    files = [line["file"] for line in _lines(query)[2:]]
    assert files and all(
        set(parse_qs(urlsplit(f["url"]).query)) == {"Expires", "X-Amz-Signature"} for f in files
    )
    assert sum(json.loads(f["stats"])["numRecords"] for f in files) == len(_expected_ids(range(10)))
    assert all(f["version"] == shared.published[0] for f in files)
    actions = _lines(changes)[2:]
    assert {next(iter(action)) for action in actions} == {"cdf"}
    assert sorted(action["cdf"]["version"] for action in actions) == shared.published
    assert unknown_schema.status_code == 404
    assert both.status_code == 400 and "give one of them" in both.json()["detail"]
    assert late.headers["Delta-Table-Version"] == str(version)
    assert early.status_code == 400 and "before the first version" in early.json()["detail"]
    assert garbled.status_code == 400 and "ISO 8601" in garbled.json()["detail"]
    assert streaming.status_code == 400, streaming.text
    assert "startingVersion" in streaming.json()["detail"] and "/changes" in streaming.text
    assert negative.status_code == 422 and "startingVersion" in negative.text


def test_pagination_of_lists(shared: Shared) -> None:
    second = "acme-reads-employees-2"
    _agreement(shared.mesh, second, RECIPIENT)
    with shared.recipient() as client:
        first = client.get("/shares", params={"maxResults": 1}).json()
        rest = client.get(
            "/shares", params={"maxResults": 1, "pageToken": first["nextPageToken"]}
        ).json()
        bad = client.get("/shares", params={"pageToken": "%%%"})
        beyond = client.get("/shares", params={"pageToken": "ff" * 4})
    with shared.mesh.as_("hr owner") as owner:
        owner.post(f"/api/v1/agreements/{second}/revoke", json={"reason": "test done"})

    assert [item["name"] for item in first["items"]] == [SHARE]
    assert [item["name"] for item in rest["items"]] == [second]
    assert rest.get("nextPageToken") is None
    assert bad.status_code == 422 and "pageToken" in bad.json()["detail"]
    assert beyond.status_code == 200 and beyond.json() == {"items": []}


def test_changes_outside_the_published_range_are_refused(shared: Shared) -> None:
    base = f"/shares/{SHARE}/schemas/hr/tables/{TABLE}/changes"
    with shared.recipient() as client:
        past = client.get(base, params={"startingVersion": 0, "endingVersion": 99})
        none = client.get(base)
    assert past.status_code == 400 and "not a range of published versions" in past.text
    assert none.status_code == 400 and "startingVersion" in none.text


def test_changes_of_a_table_without_a_change_data_feed_are_refused(tmp_path: Path) -> None:
    location = str(tmp_path / "plain")
    write_deltalake(location, pa.table({"id": ["a", "b"]}))
    port = ReadablePort("hr.plain.plain", location, 0, TableGrant("hr__plain__plain", ("id",)), "x")
    server = sharing_server(GovernanceSettings(sharing_snapshot_dir=tmp_path / "snapshots"))
    shared = SharedTable("x", "hr", "plain__plain", port)

    with pytest.raises(SharingRequestError, match="has no change data feed"):
        server.change_snapshots(shared, 0, 0)
    assert server.table_snapshot(shared, 0).rows == 2


def test_limit_hint_hands_out_only_the_files_it_needs(tmp_path: Path) -> None:
    location = str(tmp_path / "plain")
    write_deltalake(location, pa.table({"id": [f"r{i}" for i in range(7)]}))
    grant = TableGrant("hr__plain__plain", ("id",), masked=frozenset({"id"}))
    port = ReadablePort("hr.plain.plain", location, 0, grant, "x")
    server = SharingServer(Snapshots(tmp_path / "snapshots", rows_per_file=2), UrlSigner())
    shared = SharedTable("x", "hr", "plain__plain", port)

    def files(limit: int | None) -> list[dict[str, Any]]:
        lines = server.file_lines(shared, 0, "http://h", datetime.now(UTC), limit_hint=limit)
        return [line["file"] for line in lines]

    everything, three = files(None), files(3)
    assert [json.loads(f["stats"])["numRecords"] for f in everything] == [2, 2, 2, 1]
    assert [f["url"].split("?")[0] for f in three] == [
        f["url"].split("?")[0] for f in everything[:2]
    ]
    read = pq.read_table(
        server.snapshots.path(everything[0]["url"].split("/files/")[1].split("?")[0])
    )
    assert read["id"].to_pylist() == [sha("r0"), sha("r1")]


def test_snapshot_files_are_masked_by_the_one_rule_and_written_in_parts(tmp_path: Path) -> None:
    location = str(tmp_path / "plain")
    ids = [f"r{i}" for i in range(10)]
    write_deltalake(
        location,
        pa.table(
            {
                "id": ids,
                "name": [None if i == 4 else f"n{i}" for i in range(10)],
                "salary": list(range(10)),
                "team": ["a", "b"] * 5,
            }
        ),
    )
    grant = TableGrant(
        "hr__plain__plain",
        ("id", "name", "salary", "team"),
        masked=frozenset({"name", "salary"}),
        row_filter={"team": frozenset({"a"})},
    )
    port = ReadablePort("hr.plain.plain", location, 0, grant, "x")
    server = SharingServer(Snapshots(tmp_path / "snapshots", rows_per_file=3), UrlSigner())
    snapshot = server.table_snapshot(SharedTable("x", "hr", "plain__plain", port), 0)
    paths = [server.snapshots.path(item.relative) for item in snapshot.files]
    assert all(path is not None for path in paths)
    parts = [pq.read_table(path) for path in paths if path is not None]

    # 10 rows cut in 4 parts of 3, 3, 3 and 1, each filtered alone (team a: the even rows);
    # the last keeps no row, so no file.
    assert [item.rows for item in snapshot.files] == [2, 1, 2]
    assert [Path(item.relative).name for item in snapshot.files] == [
        f"part-0000{i}.parquet" for i in range(3)
    ]
    assert pa.concat_tables(parts).equals(nullable_masks(read(port, 0), grant.masked))
    assert parts[0]["name"].to_pylist() == [sha("n0"), sha("n2")]
    assert pa.concat_tables(parts)["name"][2].as_py() is None  # row 4: a null stays null
    assert pa.concat_tables(parts)["salary"].null_count == 5
    columns = pq.ParquetFile(paths[0]).metadata.row_group(0)
    codecs = {columns.column(i).path_in_schema: columns.column(i) for i in range(4)}
    # Digests are entropy-coded (zstd) and carry no statistics; the rest stays snappy.
    assert codecs["name"].compression == "ZSTD" and codecs["name"].statistics is None
    assert codecs["id"].compression == "SNAPPY" and codecs["id"].statistics is not None
    # A dictionary only where values repeat: the team, not the ids or the digests.
    dictionary = {name for name, chunk in codecs.items() if chunk.has_dictionary_page}
    assert dictionary == {"team"}


def test_superseded_snapshots_are_pruned_once_their_urls_expired(tmp_path: Path) -> None:
    location = str(tmp_path / "plain")
    write_deltalake(location, pa.table({"id": ["a", "b"]}))
    write_deltalake(location, pa.table({"id": ["c"]}), mode="append")
    grant = TableGrant("hr__plain__plain", ("id",), masked=frozenset({"id"}))
    port = ReadablePort("hr.plain.plain", location, 1, grant, "x")
    other_terms = ReadablePort(
        "hr.plain.plain", location, 1, TableGrant(grant.relation, ("id",)), "x"
    )
    server = SharingServer(Snapshots(tmp_path / "snapshots"), UrlSigner(ttl_seconds=60))
    shared = SharedTable("x", "hr", "plain__plain", port)
    folder = tmp_path / "snapshots" / "x" / "hr.plain.plain"
    start = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)

    def serve(table: SharedTable, version: int, seconds: int) -> set[str]:
        list(server.file_lines(table, version, "http://h", start + timedelta(seconds=seconds)))
        return {child.name.split("-")[0] for child in folder.iterdir()}

    assert serve(shared, 0, 0) == {"0"}
    assert serve(shared, 1, 30) == {"0", "1"}  # version 0's URLs are valid until 60 s
    assert serve(shared, 0, 50) == {"0", "1"}  # read again: now valid until 110 s
    assert serve(shared, 1, 100) == {"0", "1"}
    assert serve(shared, 1, 111) == {"1"}  # superseded and all its URLs expired
    assert serve(shared, 0, 200) == {"0", "1"}  # an older read never prunes a newer version
    (kept,) = [c.name for c in folder.iterdir() if c.name.startswith("1-")]
    serve(SharedTable("x", "hr", "plain__plain", other_terms), 1, 300)
    # Version 1 under the old terms is superseded by the same version under new ones (and
    # version 0, whose URLs expired at 260 s, by both).
    (left,) = [child.name for child in folder.iterdir()]
    assert left.startswith("1-") and left != kept


def test_change_snapshots_of_earlier_terms_are_pruned_once_their_urls_expired(
    tmp_path: Path,
) -> None:
    location = str(tmp_path / "feed")
    write_deltalake(location, pa.table({"id": ["a", "b"]}), configuration=CDF)
    write_deltalake(location, pa.table({"id": ["c"]}), mode="append")
    masked = TableGrant("hr__feed__feed", ("id",), masked=frozenset({"id"}))
    port = ReadablePort("hr.feed.feed", location, 1, masked, "x")
    amended = ReadablePort("hr.feed.feed", location, 1, TableGrant(masked.relation, ("id",)), "x")
    server = SharingServer(Snapshots(tmp_path / "snapshots"), UrlSigner(ttl_seconds=60))
    folder = tmp_path / "snapshots" / "x" / "hr.feed.feed"
    start = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)

    def changes(readable: ReadablePort, seconds: int) -> dict[str, int]:
        """Serve versions 0-1's changes at ``seconds``; how many change snapshots per terms key."""
        shared = SharedTable("x", "hr", "feed__feed", readable)
        now = start + timedelta(seconds=seconds)
        lines = list(server.change_lines(shared, 0, 1, "http://h", now))
        assert {line["cdf"]["version"] for line in lines} == {0, 1}
        keys = [child.name.rsplit("-", 1)[1] for child in folder.iterdir()]
        return {key: keys.count(key) for key in keys}

    first = changes(port, 0)
    assert list(first.values()) == [2]  # versions 0 and 1 under the masked terms
    assert changes(port, 30) == first  # reused, not written again
    both = changes(amended, 60)  # new terms; the masked ones' URLs are valid until 90 s
    assert len(both) == 2 and set(first) < set(both)
    (key,) = set(both) - set(first)
    assert changes(amended, 91) == {key: 2}  # the earlier terms' snapshots went
    assert changes(amended, 200) == {key: 2}  # the current terms' stay, however old


def test_a_snapshot_keeps_nested_columns(tmp_path: Path) -> None:
    location = str(tmp_path / "nested")
    tags = [["a", "b"], [], None]
    write_deltalake(location, pa.table({"id": ["x", "y", "z"], "tags": tags}))
    grant = TableGrant("hr__nested__nested", ("id", "tags"), masked=frozenset({"id"}))
    port = ReadablePort("hr.nested.nested", location, 0, grant, "x")
    server = SharingServer(Snapshots(tmp_path / "snapshots"), UrlSigner())
    (item,) = server.table_snapshot(SharedTable("x", "hr", "nested__nested", port), 0).files
    path = server.snapshots.path(item.relative)

    assert path is not None
    assert pq.read_table(path)["tags"].to_pylist() == tags


def test_a_versions_schema_is_read_from_the_log_once(tmp_path: Path) -> None:
    location = tmp_path / "plain"
    write_deltalake(str(location), pa.table({"id": ["a"], "n": [1]}))
    write_deltalake(str(location), pa.table({"id": ["b"], "n": [2]}), mode="append")
    grant = TableGrant("hr__plain__plain", ("id",), masked=frozenset({"id"}))
    port = ReadablePort("hr.plain.plain", str(location), 1, grant, "x")
    server = SharingServer(Snapshots(tmp_path / "snapshots"), UrlSigner())
    shared = SharedTable("x", "hr", "plain__plain", port)
    first = server.metadata_line(shared, 1)
    location.rename(tmp_path / "moved")  # the log is gone: only what was kept can answer

    assert server.metadata_line(shared, 1) == first
    assert json.loads(first["metaData"]["schemaString"])["fields"] == [
        {"name": "id", "type": "string", "nullable": True, "metadata": {}}
    ]
    with pytest.raises(ConflictError, match="cannot be read"):
        server.metadata_line(shared, 0)


def test_active_agreement_verdicts_expire_and_are_forgotten_on_close() -> None:
    kept, brief = ActiveAgreements(), ActiveAgreements(seconds=0)
    kept.remember("a", TODAY)
    brief.remember("a", TODAY)
    assert kept.holds("a", TODAY) and not kept.holds("b", TODAY)
    assert not kept.holds("a", TODAY + timedelta(days=1))  # past its last day
    assert not brief.holds("a", TODAY)  # past its deadline
    kept.remember("a", TODAY)
    forget_everywhere("a")
    assert not kept.holds("a", TODAY)


def test_repeated_requests_for_a_file_skip_the_database(shared: Shared) -> None:
    with shared.recipient() as client:
        (url,) = _file_urls(client)
    statements: list[str] = []

    def seen(*args: Any) -> None:
        if "agreements" in str(args[2]):  # the service's background loops query other tables
            statements.append(str(args[2]))

    engine = shared.mesh.app.state.engine
    with httpx.Client(timeout=30) as plain:
        plain.head(url)  # looks the agreement up: active
        event.listen(engine, "before_cursor_execute", seen)
        try:
            again = [plain.get(url, headers={"Range": f"bytes={i}-{i + 3}"}) for i in (0, 4)]
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        forged = plain.get(url.replace("Expires=", "Expires=1"))

    assert [r.status_code for r in again] == [206, 206] and again[0].content == b"PAR1"
    assert statements == []
    assert forged.status_code == 403  # the signature is still checked on every request


# -- file URLs ---------------------------------------------------------------------------------


def test_file_urls_take_range_requests_and_serve_only_snapshot_files(shared: Shared) -> None:
    with shared.recipient() as client:
        (url,) = _file_urls(client)
    path = shared.snapshots / urlsplit(url).path.split("/delta-sharing/files/", 1)[1]
    with httpx.Client(timeout=30) as plain:
        ranged = plain.get(url, headers={"Range": "bytes=0-3"})
        whole = plain.get(url)

    assert ranged.status_code == 206 and ranged.content == b"PAR1"
    assert whole.status_code == 200 and whole.content == path.read_bytes()
    written = pq.read_table(path)
    assert written.column_names == DELIVERED
    assert sorted(written["employee_id"].to_pylist()) == _expected_ids(range(14), {2})
    assert not path.is_relative_to(Path(shared.location))


def test_tampered_and_expired_urls_are_refused(shared: Shared, clock: Clock) -> None:
    with shared.recipient() as client:
        (url,) = _file_urls(client)
    signature = parse_qs(urlsplit(url).query)["X-Amz-Signature"][0]
    tampered = url.replace(signature, ("0" if signature[0] != "0" else "1") + signature[1:])
    other_file = url.replace("part-00000", "part-00001")
    with httpx.Client(timeout=30) as plain:
        wrong = plain.get(tampered)
        moved = plain.get(other_file)
        fresh = plain.get(url)
        clock.now += timedelta(minutes=11)  # past the 10-minute TTL of this service
        expired = plain.get(url)

    assert fresh.status_code == 200
    assert wrong.status_code == 403 and "signature" in wrong.json()["detail"], wrong.text
    assert moved.status_code == 403
    assert expired.status_code == 403 and "expired" in expired.json()["detail"]


def test_snapshot_is_built_once_per_version_and_terms(shared: Shared) -> None:
    folder = shared.snapshots / SHARE / EMPLOYEES
    with shared.recipient() as client:
        first = _file_urls(client)
        built = {path: path.stat().st_mtime_ns for path in folder.rglob("*.parquet")}
        again = _file_urls(client)
    after = {path: path.stat().st_mtime_ns for path in folder.rglob("*.parquet")}

    assert [urlsplit(u).path for u in first] == [urlsplit(u).path for u in again]
    assert built == after
    versions = sorted(
        child.name.split("-")[0] for child in folder.iterdir() if child.name[0].isdigit()
    )
    assert versions == sorted({str(v) for v in shared.published} & set(versions))
    assert len([c for c in folder.iterdir() if c.name.startswith(f"{shared.published[-1]}-")]) == 1


# -- revocation and expiry ---------------------------------------------------------------------


def test_revocation_closes_the_share_its_urls_and_deletes_its_snapshots(
    shared: Shared, tmp_path: Path
) -> None:
    name = "acme-short-lived"
    delta_sharing.load_as_pandas(
        shared.url()
    )  # the other share has its snapshot, whatever ran before
    _agreement(shared.mesh, name, "acme-short")
    profile = _profile(shared.mesh, name, tmp_path)
    url = shared.url(name, profile)
    before = delta_sharing.load_as_pandas(url)
    with shared.recipient(profile) as client:
        urls = [u for u in _file_urls_of(client, name)]
    assert (shared.snapshots / name).is_dir()
    with shared.mesh.as_("hr owner") as owner:
        revoked = owner.post(f"/api/v1/agreements/{name}/revoke", json={"reason": "ended"})
    with httpx.Client(timeout=30) as plain:
        file_after = plain.get(urls[0])
    with pytest.raises(HTTPError) as refused:
        delta_sharing.load_as_pandas(url)
    shares_after = delta_sharing.SharingClient(str(profile)).list_shares()

    assert sorted(before["employee_id"]) == _expected_ids(range(14), {2})
    assert revoked.json()["state"] == "revoked"
    assert not (shared.snapshots / name).exists()
    assert file_after.status_code == 403 and "revoked" in file_after.json()["detail"]
    response = refused.value.response
    assert response is not None and response.status_code == 403
    assert "revoked" in response.text
    assert shares_after == []
    assert (shared.snapshots / SHARE).is_dir()  # the other share keeps its snapshots


def test_listing_shares_sweeps_snapshots_of_closed_agreements(shared: Shared) -> None:
    stray = shared.snapshots / "no-such-agreement" / EMPLOYEES / "0-abc"
    stray.mkdir(parents=True)
    (stray / "part-00000.parquet").write_bytes(b"PAR1")
    with shared.recipient() as client:
        _file_urls(client)  # this share's snapshot, which the sweep must keep
        listed = client.get("/shares")
    assert listed.status_code == 200
    assert not (shared.snapshots / "no-such-agreement").exists()
    assert (shared.snapshots / SHARE).is_dir()


def _file_urls_of(client: httpx.Client, share: str) -> list[str]:
    response = client.post(f"/shares/{share}/schemas/hr/tables/{TABLE}/query", json={})
    assert response.status_code == 200, response.text
    return [line["file"]["url"] for line in _lines(response) if "file" in line]


def test_expiry_closes_the_share_and_deletes_its_snapshots(
    shared: Shared, clock: Clock, tmp_path: Path
) -> None:
    name = "acme-expiring"
    _agreement(shared.mesh, name, "acme-expiring", end=(TODAY + timedelta(days=1)).isoformat())
    profile = _profile(shared.mesh, name, tmp_path)
    with shared.recipient(profile) as client:
        (url,) = _file_urls_of(client, name)
        clock.on(TODAY + timedelta(days=2))
        query = client.post(f"/shares/{name}/schemas/hr/tables/{TABLE}/query", json={})
    with httpx.Client(timeout=30) as plain:
        file_after = plain.get(url)

    assert query.status_code == 403 and "expired" in query.json()["detail"]
    assert file_after.status_code == 403
    assert not (shared.snapshots / name).exists()


def test_recipient_token_is_for_the_providers_owner_and_ends_with_the_agreement(
    shared: Shared,
) -> None:
    with shared.mesh.as_("sales") as sales, shared.mesh.as_("hr owner") as owner:
        refused = sales.post(f"/api/v1/agreements/{SHARE}/recipient-token")
        issued = owner.post(f"/api/v1/agreements/{SHARE}/recipient-token")
        missing = owner.post("/api/v1/agreements/no-such-agreement/recipient-token")

    assert refused.status_code == 403 and "domain_owner:hr" in refused.json()["detail"]
    assert issued.status_code == 201
    body = issued.json()
    assert body["recipient"] == RECIPIENT
    assert set(body["profile"]) == {
        "shareCredentialsVersion",
        "endpoint",
        "bearerToken",
        "expirationTime",
    }
    assert body["profile"]["endpoint"] == shared.mesh.service.url + "/delta-sharing"
    ends = date.fromisoformat(body["expires_at"][:10])
    assert ends <= TODAY + timedelta(days=91)
    assert missing.status_code == 404


def test_the_share_serves_a_snapshot_never_a_raw_table_file(shared: Shared) -> None:
    raw = {Path(uri).name for uri in DeltaTable(shared.location).file_uris()}
    with shared.recipient() as client:
        urls = _file_urls(client)
    served = {Path(urlsplit(url).path).name for url in urls}
    assert served and not served & raw
    assert all("/delta-sharing/files/" + SHARE + "/" in url for url in urls)
    with shared.mesh.as_("admin") as admin:
        audit = admin.get(
            "/api/v1/audit", params={"principal": RECIPIENT, "action": "sharing.query", "limit": 1}
        ).json()
    assert audit[0]["target"] == EMPLOYEES
    assert audit[0]["after"]["share"] == SHARE and audit[0]["after"]["files"] == len(urls)
    assert audit[0]["after"]["rows"] == len(_expected_ids(range(14), {2}))
    table = pq.read_table(shared.snapshots / SHARE / EMPLOYEES)
    assert "email" not in table.column_names and isinstance(table, pa.Table)


def test_profile_command_writes_a_profile_the_client_reads(
    shared: Shared, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_output.console, "width", 200)
    target = tmp_path / "acme.share"
    env = {
        "MESHLAKE_GOVERNANCE_URL": shared.mesh.service.url,
        "MESHLAKE_GOVERNANCE_TOKEN": shared.mesh.tokens["hr owner"],
    }
    written = CliRunner().invoke(sharing, ["profile", SHARE, "--output", str(target)], env=env)
    refused = CliRunner().invoke(
        sharing,
        ["profile", SHARE, "--output", str(tmp_path / "no.share")],
        env={**env, "MESHLAKE_GOVERNANCE_TOKEN": shared.mesh.tokens["sales"]},
    )

    assert written.exit_code == 0, written.output
    assert f"profile for {RECIPIENT} on share {SHARE}" in written.output
    profile = json.loads(target.read_text())
    assert profile["shareCredentialsVersion"] == 1
    assert target.stat().st_mode & 0o777 == 0o600
    frame = delta_sharing.load_as_pandas(shared.url(profile=target))
    assert sorted(frame["employee_id"]) == _expected_ids(range(14), {2})
    assert refused.exit_code == 1 and "domain_owner:hr" in refused.output
    assert not (tmp_path / "no.share").exists()
