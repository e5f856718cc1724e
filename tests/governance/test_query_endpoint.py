"""POST /api/v1/query over real HTTP, on SQLite and PostgreSQL: what a consumer sees under its
agreement (masked, scoped), what its own domain sees, what is refused and why, versions and pages,
Arrow answers, limits and the audit trail.

The data is the sample mesh's hr.employees, published with delta-rs through the governed flow; the
expected answers are computed from the Delta table itself at the published version, with hashlib.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from meshlake.governance.services._query import QueryBounds
from tests.governance._publishing import MESH, Publisher, commit, contract_table
from tests.governance._sharing import TODAY, Clock, Mesh, serve_mesh

pytestmark = pytest.mark.integration

EMPLOYEES = "hr.employees.employees"
READER = "sales.account_manager_performance"
GRANTED = ["employee_id", "full_name", "department", "job_title", "is_active"]
ROWS = 25
ARROW = "application/vnd.apache.arrow.stream"
_names = itertools.count()


@pytest.fixture(scope="module")
def mesh(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    for served in serve_mesh(database_url, tmp_path_factory.mktemp("state")):
        Publisher(served.service).publish(MESH.product("hr.employees"), "run-query-1", rows=ROWS)
        yield served


@pytest.fixture
def clock(mesh: Mesh) -> Iterator[Clock]:
    mesh.clock.on(TODAY)
    yield mesh.clock
    mesh.clock.on(TODAY)


@pytest.fixture
def bounds(mesh: Mesh) -> Iterator[None]:
    """Put back the service's query limits after a test that narrows them."""
    saved = mesh.app.state.query_bounds
    yield
    mesh.app.state.query_bounds = saved


def _agreement(mesh: Mesh, days: int = 300) -> str:
    """A fresh active agreement: sales reads five columns of employees, names masked, active
    employees only."""
    name = f"sales-queries-{next(_names)}"
    body = {
        "name": name,
        "consumer": {"kind": "product", "id": READER},
        "purpose": "sales_performance_reporting",
        "start": TODAY.isoformat(),
        "end": (TODAY + timedelta(days=days)).isoformat(),
        "ports": [
            {
                "port": EMPLOYEES,
                "columns": GRANTED,
                "masked": ["full_name"],
                "rows": {"is_active": [True]},
            }
        ],
    }
    with mesh.as_("sales") as sales, mesh.as_("hr owner") as owner:
        sales.post("/api/v1/agreements", json=body).raise_for_status()
        approved = owner.post(f"/api/v1/agreements/{name}/approve", json={})
    assert approved.json()["state"] == "active", approved.text
    return name


@pytest.fixture
def agreement(mesh: Mesh, clock: Clock) -> Iterator[str]:
    """The one active agreement of the sales domain on employees during a test."""
    name = _agreement(mesh)
    yield name
    with mesh.as_("hr owner") as owner:
        owner.post(f"/api/v1/agreements/{name}/revoke", json={"reason": "test over"})


def _query(client: httpx.Client, sql: str, **extra: Any) -> httpx.Response:
    return client.post("/api/v1/query", json={"sql": sql, **extra})


def _published(mesh: Mesh) -> tuple[int, pa.Table]:
    publisher = Publisher(mesh.service)
    version = publisher.published_version(EMPLOYEES)
    assert version is not None
    location = publisher.location(EMPLOYEES)
    return version, DeltaTable(location, version=version).to_pyarrow_table()


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _as_consumer(table: pa.Table) -> list[list[Any]]:
    """What the agreement lets through, computed here: active rows, GRANTED columns, names hashed."""
    rows = []
    for row in sorted(table.to_pylist(), key=lambda r: r["employee_id"]):
        if row["is_active"] is True:
            rows.append(
                [_sha(row[c]) if c == "full_name" else row[c] for c in GRANTED]  # type: ignore[arg-type]
            )
    return rows


ORDERED = f"SELECT {', '.join(GRANTED)} FROM {EMPLOYEES} ORDER BY employee_id"


def test_a_consumer_reads_masked_columns_and_scoped_rows_only(mesh: Mesh, agreement: str) -> None:
    version, data = _published(mesh)
    with mesh.as_("sales") as sales:
        answer = _query(sales, ORDERED)
        star = _query(sales, f"SELECT * FROM {EMPLOYEES}")
        joined = _query(
            sales,
            f"SELECT count(*) AS n, count(DISTINCT a.full_name) AS names FROM {EMPLOYEES} a "
            f"JOIN {EMPLOYEES} b ON a.employee_id = b.employee_id",
        )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = _as_consumer(data)
    assert body["rows"] == expected and len(expected) == (ROWS + 1) // 2
    assert body["row_count"] == len(expected) and body["truncated"] is False
    assert body["next_page"] is None
    assert body["columns"] == [
        {"name": "employee_id", "type": "string"},
        {"name": "full_name", "type": "string"},
        {"name": "department", "type": "string"},
        {"name": "job_title", "type": "string"},
        {"name": "is_active", "type": "bool"},
    ]
    assert body["ports"] == [{"port": EMPLOYEES, "version": version, "agreement": agreement}]
    # SELECT * delivers the granted columns only, in the table's order.
    assert [c["name"] for c in star.json()["columns"]] == [
        "employee_id",
        "full_name",
        "is_active",
        "department",
        "job_title",
    ]
    # A self-join sees the same masked, scoped table on both sides.
    assert joined.json()["rows"] == [[len(expected), len(expected)]]


def test_a_port_without_an_agreement_is_403_naming_it(mesh: Mesh, agreement: str) -> None:
    with mesh.as_("sales") as sales:
        other = _query(sales, "SELECT * FROM hr.engagement_retention.engagement_retention")
        via_cte = _query(
            sales,
            f"WITH x AS (SELECT * FROM operations.pump_health.pump_health) "
            f"SELECT * FROM x JOIN {EMPLOYEES} e ON true",
        )
    assert other.status_code == 403
    assert "'hr.engagement_retention.engagement_retention' is not granted" in other.json()["detail"]
    assert EMPLOYEES in other.json()["detail"]  # what it may read instead
    assert via_cte.status_code == 403
    assert "operations.pump_health.pump_health" in via_cte.json()["detail"]


def test_a_column_the_agreement_does_not_deliver_is_refused(mesh: Mesh, agreement: str) -> None:
    with mesh.as_("sales") as sales:
        email = _query(sales, f"SELECT employee_id, email FROM {EMPLOYEES}")
        hidden = _query(sales, f"SELECT e.birth_date FROM {EMPLOYEES} e")
        in_where = _query(sales, f"SELECT employee_id FROM {EMPLOYEES} WHERE email LIKE 'v1%'")
    assert email.status_code == 403 and "column 'email' is not granted" in email.json()["detail"]
    assert hidden.status_code == 403 and "'birth_date'" in hidden.json()["detail"]
    assert in_where.status_code == 403 and "'email'" in in_where.json()["detail"]


def test_the_own_domain_reads_its_port_whole(mesh: Mesh) -> None:
    version, data = _published(mesh)
    with mesh.as_("hr member") as hr:
        answer = _query(hr, f"SELECT full_name, email, is_active FROM {EMPLOYEES}")
    assert answer.status_code == 200, answer.text
    expected = sorted(data.select(["full_name", "email", "is_active"]).to_pylist(), key=str)
    got = sorted(
        ({"full_name": r[0], "email": r[1], "is_active": r[2]} for r in answer.json()["rows"]),
        key=str,
    )
    assert got == expected and len(got) == ROWS
    assert answer.json()["ports"] == [{"port": EMPLOYEES, "version": version, "agreement": None}]


def test_a_revoked_agreement_stops_the_next_query(mesh: Mesh, clock: Clock) -> None:
    name = _agreement(mesh)
    with mesh.as_("sales") as sales, mesh.as_("hr owner") as owner:
        before = _query(sales, ORDERED)
        owner.post(f"/api/v1/agreements/{name}/revoke", json={"reason": "reorg"})
        after = _query(sales, ORDERED)
    assert before.status_code == 200
    assert after.status_code == 403
    assert f"'{EMPLOYEES}' is not granted" in after.json()["detail"]


def test_an_expired_agreement_stops_the_next_query(mesh: Mesh, clock: Clock) -> None:
    name = _agreement(mesh, days=10)
    with mesh.as_("sales") as sales:
        clock.on(TODAY + timedelta(days=10))
        last_day = _query(sales, ORDERED)
        clock.on(TODAY + timedelta(days=11))
        after = _query(sales, ORDERED)
        state = sales.get(f"/api/v1/agreements/{name}").json()["state"]
    assert last_day.status_code == 200
    assert after.status_code == 403 and EMPLOYEES in after.json()["detail"]
    assert state == "expired"


def test_the_published_version_is_read_not_a_later_unrecorded_commit(
    mesh: Mesh, agreement: str
) -> None:
    version, data = _published(mesh)
    location = Publisher(mesh.service).location(EMPLOYEES)
    contract = MESH.product("hr.employees").ports["employees"].contract
    unrecorded = commit(location, contract_table(contract, ROWS + 40), "run-not-recorded")
    with mesh.as_("sales") as sales, mesh.as_("hr member") as hr:
        consumer = _query(sales, f"SELECT count(*) FROM {EMPLOYEES}")
        owner = _query(hr, f"SELECT count(*) FROM {EMPLOYEES}")
    assert unrecorded > version
    assert consumer.json()["rows"] == [[len(_as_consumer(data))]]
    assert consumer.json()["ports"][0]["version"] == version
    assert owner.json()["rows"] == [[data.num_rows]]
    assert owner.json()["ports"][0]["version"] == version


HOSTILE = [
    ("SELECT * FROM read_csv('/etc/passwd')", 422, "not allowed"),
    ("SELECT * FROM '/etc/passwd'", 403, "'/etc/passwd' is not granted"),
    ("SELECT * FROM query('SELECT * FROM hr.employees.employees')", 422, "query()"),
    (f"COPY {EMPLOYEES} TO '/tmp/x.csv'", 422, "only SELECT"),
    ("ATTACH '/tmp/x.db' AS x", 422, "only SELECT"),
    ("SET enable_external_access = true", 422, "only SELECT"),
    ("SELECT 1; DROP TABLE hr__employees__employees", 422, "exactly one statement, got 2"),
    ("SELECT * FROM hr__employees__employees", 403, "is not granted"),
    ("SELECT * FROM information_schema.tables", 403, "'information_schema.tables'"),
    ("SELECT * FROM duckdb_tables()", 422, "not allowed"),
    ("SELECT getenv('HOME')", 422, "getenv()"),
    (
        "WITH hr__employees__employees AS (SELECT 'x' AS full_name) "
        f"SELECT full_name FROM {EMPLOYEES}",
        422,
        "is reserved for a governed relation",
    ),
    (
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT * FROM r",
        422,
        "WITH RECURSIVE",
    ),
    ("SELEC * FROM hr.employees.employees", 422, "does not parse"),
    ("SELECT " + "(" * 3000 + "1" + ")" * 3000, 422, "nests too deeply"),
]


@pytest.mark.parametrize(("sql", "status", "fragment"), HOSTILE)
def test_a_hostile_query_is_a_4xx_with_the_reason(
    mesh: Mesh, agreement: str, sql: str, status: int, fragment: str
) -> None:
    with mesh.as_("sales") as sales:
        refused = _query(sales, sql)
    assert refused.status_code == status, refused.text
    assert fragment in refused.json()["detail"]
    if status == 422:
        assert refused.json()["problems"][0]["field"] == "sql"


def test_pages_return_the_rest_at_the_same_versions(mesh: Mesh, agreement: str) -> None:
    version, data = _published(mesh)
    expected = _as_consumer(data)
    with mesh.as_("sales") as sales:
        first = _query(sales, ORDERED, page_size=5).json()
        # A new version is published between two pages: the pages go on at the pinned one.
        Publisher(mesh.service).publish(MESH.product("hr.employees"), "run-query-2", rows=ROWS + 6)
        pages = [first]
        while pages[-1]["next_page"]:
            answer = _query(sales, ORDERED, page_size=5, page=pages[-1]["next_page"])
            assert answer.status_code == 200, answer.text
            pages.append(answer.json())
        fresh = _query(sales, f"SELECT count(*) FROM {EMPLOYEES}").json()
        other_sql = _query(sales, "SELECT 1", page=first["next_page"])

    assert [page["row_count"] for page in pages] == [5, 5, 3]
    assert [row for page in pages for row in page["rows"]] == expected
    assert {page["ports"][0]["version"] for page in pages} == {version}
    assert fresh["ports"][0]["version"] > version
    assert fresh["rows"] == [[(ROWS + 6 + 1) // 2]]
    assert other_sql.status_code == 422 and "belongs to another query" in other_sql.text


def test_a_cursor_cannot_reach_a_version_that_was_not_published(mesh: Mesh, agreement: str) -> None:
    import base64
    import json

    version, _ = _published(mesh)
    location = Publisher(mesh.service).location(EMPLOYEES)
    contract = MESH.product("hr.employees").ports["employees"].contract
    unrecorded = commit(location, contract_table(contract, 3), "run-never-recorded")
    with mesh.as_("sales") as sales:
        first = _query(sales, ORDERED, page_size=2).json()
        raw = json.loads(base64.urlsafe_b64decode(first["next_page"] + "=="))
        forged = []
        for pinned in (unrecorded, version + 100):
            raw["v"][EMPLOYEES] = pinned
            cursor = base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")
            forged.append(_query(sales, ORDERED, page_size=2, page=cursor))
        garbage = _query(sales, ORDERED, page="not-a-cursor")
    for answer in forged:
        assert answer.status_code == 422
        assert "is not a published version" in answer.json()["detail"]
    assert garbage.status_code == 422
    assert garbage.json()["problems"][0]["field"] == "page"


def test_arrow_answers_round_trip_with_pyarrow(mesh: Mesh, agreement: str) -> None:
    version, data = _published(mesh)
    with mesh.as_("sales") as sales:
        by_format = _query(sales, ORDERED, format="arrow")
        by_accept = sales.post("/api/v1/query", json={"sql": ORDERED}, headers={"Accept": ARROW})
        paged = _query(sales, ORDERED, format="arrow", page_size=4)
        as_json = sales.post(
            "/api/v1/query", json={"sql": ORDERED, "format": "json"}, headers={"Accept": ARROW}
        )

    for answer in (by_format, by_accept):
        assert answer.status_code == 200
        assert answer.headers["content-type"] == ARROW
        table = pa.ipc.open_stream(answer.content).read_all()
        assert table.column_names == GRANTED
        assert table.schema.field("is_active").type == pa.bool_()
        assert [list(row.values()) for row in table.to_pylist()] == _as_consumer(data)
        assert answer.headers["meshlake-ports"] == f"{EMPLOYEES}@{version}:{agreement}"
        assert answer.headers["meshlake-truncated"] == "false"
        assert "meshlake-next-page" not in answer.headers
    assert pa.ipc.open_stream(paged.content).read_all().num_rows == 4
    assert paged.headers["meshlake-row-count"] == "4" and paged.headers["meshlake-next-page"]
    assert as_json.headers["content-type"].startswith("application/json")


def test_every_query_and_refusal_is_audited(mesh: Mesh, agreement: str) -> None:
    version, _ = _published(mesh)
    marker = f"audit-{next(_names)}"
    answered = f'SELECT employee_id AS "{marker}" FROM {EMPLOYEES} LIMIT 3'
    refused = f'SELECT email AS "{marker}" FROM {EMPLOYEES}'
    with mesh.as_("sales") as sales:
        assert _query(sales, answered).status_code == 200
        assert _query(sales, refused).status_code == 403
    with mesh.as_("admin") as admin:
        log = admin.get("/api/v1/audit", params={"action": "query", "limit": 50}).json()
        generic = admin.get(
            "/api/v1/audit", params={"action": "POST /api/v1/query", "limit": 50}
        ).json()
    assert generic == []  # the refusal is recorded once, by the query's own entry
    mine = {entry["after"]["sql"]: entry for entry in log if marker in entry["after"]["sql"]}
    ok, no = mine[answered], mine[refused]
    assert ok["principal"] == "sales-dev" and ok["outcome"] == "ok"
    assert ok["after"]["tables"] == {EMPLOYEES: version} and ok["after"]["rows"] == 3
    assert ok["target"] == EMPLOYEES
    assert no["principal"] == "sales-dev" and no["outcome"] == "refused"
    assert "column 'email' is not granted" in no["reason"]


def test_the_row_limit_truncates_and_a_timeout_is_422(
    mesh: Mesh, agreement: str, bounds: None
) -> None:
    _, data = _published(mesh)
    mesh.app.state.query_bounds = QueryBounds(row_limit=4, timeout_seconds=0.5)
    heavy = "SELECT sum(length(a.full_name || b.full_name || c.full_name)) FROM " + ", ".join(
        f"{EMPLOYEES} {alias}" for alias in "abcdefgh"
    )
    with mesh.as_("sales") as sales:
        first = _query(sales, ORDERED, page_size=3).json()
        rest = _query(sales, ORDERED, page_size=3, page=first["next_page"]).json()
        within = _query(sales, f"{ORDERED} LIMIT 2").json()
        slow = _query(sales, heavy)
    assert first["truncated"] is True and first["row_count"] == 3
    assert rest["truncated"] is True and rest["row_count"] == 1 and rest["next_page"] is None
    assert first["rows"] + rest["rows"] == _as_consumer(data)[:4]
    assert within["truncated"] is False and within["row_count"] == 2
    assert slow.status_code == 422, slow.text
    assert "ran past its 0.5 s limit" in slow.json()["detail"]


def test_a_query_over_the_bytes_limit_is_refused_before_reading(
    mesh: Mesh, agreement: str, bounds: None
) -> None:
    mesh.app.state.query_bounds = QueryBounds(max_bytes_read=100)
    with mesh.as_("sales") as sales:
        refused = _query(sales, ORDERED)
        no_table = _query(sales, "SELECT 1 AS one")
    assert refused.status_code == 422
    assert "over the limit of 100 (MESHLAKE_QUERY_MAX_BYTES_READ)" in refused.json()["detail"]
    assert no_table.status_code == 200 and no_table.json()["rows"] == [[1]]


def test_without_a_token_the_query_is_401(mesh: Mesh) -> None:
    with httpx.Client(base_url=mesh.service.url) as anonymous:
        answer = _query(anonymous, ORDERED)
    assert answer.status_code == 401


def test_values_of_every_type_come_back_as_json(mesh: Mesh, agreement: str) -> None:
    with mesh.as_("hr member") as hr:
        answer = _query(
            hr,
            "SELECT DATE '2026-01-02' AS d, TIMESTAMP '2026-01-02 03:04:05' AS t, "
            "CAST('1.50' AS DECIMAL(10, 2)) AS n, CAST('nan' AS DOUBLE) AS x, "
            "CAST('inf' AS DOUBLE) AS y, NULL AS z",
        )
        same_names = _query(hr, "SELECT 1 AS a, 2 AS a")
    assert answer.status_code == 200, answer.text
    assert answer.json()["rows"] == [
        ["2026-01-02", "2026-01-02T03:04:05", "1.50", "NaN", "Infinity", None]
    ]
    assert same_names.json()["rows"] == [[1, 2]]


def test_queries_naming_few_columns_answer_as_over_the_whole_grant(
    mesh: Mesh, agreement: str
) -> None:
    # Only the columns a query names are read and masked; these shapes must not notice.
    _, data = _published(mesh)
    expected = _as_consumer(data)
    departments: dict[str, int] = {}
    for row in expected:
        departments[row[2]] = departments.get(row[2], 0) + 1
    with mesh.as_("sales") as sales:
        counted = _query(sales, f"SELECT count(*) FROM {EMPLOYEES}").json()
        # The checker takes a table alias used as a value for a column and refuses it; were it
        # let through, referred_names keeps every column for it.
        whole_row = _query(sales, f"SELECT e FROM {EMPLOYEES} e ORDER BY e.employee_id")
        using = _query(
            sales,
            f"SELECT a.department, count(*) AS n FROM {EMPLOYEES} a JOIN {EMPLOYEES} b "
            "USING (employee_id) GROUP BY a.department ORDER BY a.department",
        ).json()
        by_alias = _query(sales, f'SELECT "FULL_NAME" AS h FROM {EMPLOYEES} ORDER BY h').json()
    assert counted["rows"] == [[len(expected)]]
    assert whole_row.status_code == 403 and "column 'e'" in whole_row.json()["detail"]
    assert using["rows"] == [[name, n] for name, n in sorted(departments.items())]
    assert by_alias["rows"] == [[r[1]] for r in sorted(expected, key=lambda r: r[1])]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("sql", "referred"),
    [
        ("SELECT department, count(*) FROM t GROUP BY 1", {"department", "t"}),
        ('SELECT "Full_Name" AS h FROM t AS e ORDER BY h', {"full_name", "h", "t", "e"}),
        ("SELECT * FROM t", None),
        ("SELECT e.* FROM t AS e", None),
        ("SELECT e FROM t AS e", None),
        ("SELECT a FROM (SELECT x AS a FROM t) AS s WHERE s.a > 1", {"a", "x", "t", "s"}),
    ],
)
def test_only_the_columns_a_query_can_name_are_read_and_masked(
    sql: str, referred: set[str] | None
) -> None:
    from meshlake.governance.services._query import referred_names

    assert referred_names(sql) == referred


def test_a_query_over_the_memory_limit_is_422(mesh: Mesh, bounds: None) -> None:
    mesh.app.state.query_bounds = QueryBounds(memory_limit="4MB", timeout_seconds=30)
    names = " || ".join(f"{alias}.full_name" for alias in "abcd")
    tables = ", ".join(f"{EMPLOYEES} {alias}" for alias in "abcd")
    with mesh.as_("hr member") as hr:
        hungry = _query(hr, f"SELECT string_agg({names}, ',') AS all_names FROM {tables}")
        small = _query(hr, f"SELECT count(*) FROM {EMPLOYEES}")
    assert hungry.status_code == 422, hungry.text[:300]
    assert "needed more than 4MB of memory" in hungry.json()["detail"]
    assert small.status_code == 200


@pytest.mark.unit
def test_the_query_limits_come_from_the_settings() -> None:
    from pydantic import ValidationError

    from meshlake.governance import GovernanceSettings, create_app

    settings = GovernanceSettings(
        database_url="sqlite://",
        query_row_limit=7,
        query_timeout_seconds=2.5,
        query_memory_limit="1GiB",
        query_threads=2,
        query_max_bytes_read=1000,
    )
    app = create_app(settings)
    app.state.engine.dispose()
    assert app.state.query_bounds == QueryBounds(7, 2.5, "1GiB", 2, 1000)
    with pytest.raises(ValidationError) as refused:
        GovernanceSettings(query_memory_limit="lots")
    assert "query_memory_limit" in str(refused.value)
