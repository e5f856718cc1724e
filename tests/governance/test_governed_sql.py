"""Governed SQL: hostile queries are refused with a message saying what and where; allowed ones run
on a locked DuckDB with masks and row filters applied to every reference."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pyarrow as pa
import pytest

from meshlake.governance._errors import ForbiddenError, InvalidRequestError
from meshlake.governance.services._sql import (
    LimitExceeded,
    QueryLimits,
    QueryRefused,
    StatementRefused,
    TableGrant,
    TableRefused,
    check,
    filtered,
    run,
)

pytestmark = pytest.mark.unit

GRANTS = {
    "hr.employees.employees": TableGrant(
        relation="employees_0",
        columns=("id", "name", "dept", "salary"),
        masked=frozenset({"name"}),
        row_filter={"dept": frozenset({"eng", "ops"})},
    ),
    "hr.departments.departments": TableGrant(relation="departments_1", columns=("dept", "floor")),
}
DATA = {
    "employees_0": pa.table(
        {
            "id": [1, 2, 3, 4],
            "name": ["ann", "bob", "cy", "dee"],
            "dept": ["eng", "ops", "legal", "eng"],
            "salary": [100, 200, 300, 400],
            "ssn": ["111", "222", "333", "444"],
        }
    ),
    "departments_1": pa.table({"dept": ["eng", "ops", "legal"], "floor": [1, 2, 3]}),
}


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def query(sql: str, limits: QueryLimits | None = None) -> list[dict[str, object]]:
    checked = check(sql, GRANTS, limits)
    return run(checked, DATA, limits).to_pylist()


REFUSED_AT_CHECK = [
    # file readers and table functions
    ("SELECT * FROM read_csv('/etc/passwd')", StatementRefused, "not allowed"),
    ("SELECT * FROM read_parquet('/tmp/x.parquet')", StatementRefused, "not allowed"),
    ("SELECT * FROM read_json('/tmp/x.json')", StatementRefused, "not allowed"),
    ("SELECT * FROM parquet_scan('/tmp/x.parquet')", StatementRefused, "not allowed"),
    ("SELECT * FROM sqlite_scan('/tmp/x.db', 't')", StatementRefused, "sqlite_scan"),
    ("SELECT * FROM '/etc/passwd'", TableRefused, "'/etc/passwd' is not granted"),
    ("FROM 'data.csv'", TableRefused, "'data.csv' is not granted"),
    ("SELECT * FROM glob('/*')", StatementRefused, "glob"),
    ("SELECT * FROM query('SELECT * FROM finance.pay.pay')", StatementRefused, "query()"),
    ("SELECT * FROM query_table('employees_0')", StatementRefused, "query_table()"),
    ("SELECT * FROM range(10)", StatementRefused, "not allowed"),
    ("SELECT * FROM generate_series(1, 10)", StatementRefused, "not allowed"),
    # statements other than SELECT
    ("COPY hr.employees.employees TO '/tmp/x.csv'", StatementRefused, "only SELECT"),
    ("ATTACH '/tmp/x.db' AS x", StatementRefused, "only SELECT"),
    ("INSTALL httpfs", StatementRefused, "only SELECT"),
    ("LOAD httpfs", StatementRefused, "only SELECT"),
    ("PRAGMA database_list", StatementRefused, "only SELECT"),
    ("SET enable_external_access = true", StatementRefused, "only SELECT"),
    ("CREATE TABLE x AS SELECT 1", StatementRefused, "only SELECT"),
    ("CREATE TEMP VIEW v AS SELECT * FROM hr.employees.employees", StatementRefused, "CREATE"),
    ("DROP TABLE employees_0", StatementRefused, "only SELECT"),
    ("EXPORT DATABASE '/tmp/out'", StatementRefused, "does not parse at line 1"),
    ("CALL pragma_version()", StatementRefused, "only SELECT"),
    ("SUMMARIZE hr.employees.employees", StatementRefused, "only SELECT"),
    ("PIVOT hr.employees.employees ON name USING count(*)", StatementRefused, "only SELECT"),
    (
        "SELECT * FROM hr.employees.employees PIVOT (count(*) FOR name IN ('ann'))",
        StatementRefused,
        "PIVOT",
    ),
    # several statements, hidden or not
    ("SELECT 1; SELECT 2", StatementRefused, "exactly one statement, got 2"),
    ("SELECT 1 /* harmless */; DROP TABLE employees_0", StatementRefused, "got 2"),
    ("SELECT 1 -- comment\n; COPY employees_0 TO '/tmp/x'", StatementRefused, "got 2"),
    # tables outside the grants, however reached
    ("SELECT * FROM finance.payroll.payroll", TableRefused, "'finance.payroll.payroll'"),
    ('SELECT * FROM "finance"."payroll"."payroll"', TableRefused, "'finance.payroll.payroll'"),
    ('SELECT * FROM "FINANCE.PAYROLL.PAYROLL"', TableRefused, "'FINANCE.PAYROLL.PAYROLL'"),
    ("SELECT * FROM employees_0", TableRefused, "'employees_0' is not granted"),
    (
        "SELECT id FROM hr.employees.employees WHERE id IN (SELECT id FROM finance.pay.pay)",
        TableRefused,
        "'finance.pay.pay'",
    ),
    (
        "SELECT id FROM hr.employees.employees UNION SELECT id FROM finance.pay.pay",
        TableRefused,
        "'finance.pay.pay'",
    ),
    (
        "SELECT * FROM hr.employees.employees e JOIN finance.pay.pay p ON e.id = p.id",
        TableRefused,
        "'finance.pay.pay'",
    ),
    (
        "WITH x AS (SELECT * FROM finance.pay.pay) SELECT * FROM x",
        TableRefused,
        "'finance.pay.pay'",
    ),
    ("SELECT * FROM information_schema.tables", TableRefused, "'information_schema.tables'"),
    ("SELECT * FROM duckdb_tables()", StatementRefused, "not allowed"),
    ("SELECT * FROM duckdb_settings()", StatementRefused, "not allowed"),
    ("SELECT * FROM pragma_version()", StatementRefused, "not allowed"),
    # a CTE that would capture the rewritten reference
    (
        "WITH employees_0 AS (SELECT 'x' AS name) SELECT name FROM hr.employees.employees",
        StatementRefused,
        "CTE name 'employees_0' is reserved",
    ),
    # environment and settings
    ("SELECT getenv('HOME')", StatementRefused, "getenv()"),
    ("SELECT 'HOME'.getenv()", StatementRefused, "getenv()"),
    ("SELECT * FROM memory.main.employees_0", TableRefused, "'memory.main.employees_0'"),
    ("SELECT unnest([1, 2])", StatementRefused, "UNNEST([1, 2])"),
    ("SELECT typeof(name) FROM hr.employees.employees", StatementRefused, "TYPEOF"),
    ("DESCRIBE hr.employees.employees", StatementRefused, "only SELECT"),
    ("SELECT current_setting('threads')", StatementRefused, "not allowed"),
    ("SELECT \"getenv\"('HOME')", StatementRefused, "not allowed"),
    ("SELECT GetEnv('HOME')", StatementRefused, "not allowed"),
    # recursion, lambdas, parameters, odd limits
    (
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT * FROM r",
        StatementRefused,
        "WITH RECURSIVE",
    ),
    ("SELECT list_transform([1, 2], x -> x + 1)", StatementRefused, "not allowed"),
    ("SELECT list_filter([1, 2], x -> x > 1)", StatementRefused, "not allowed"),
    ("SELECT $1", StatementRefused, "not allowed"),
    ("SELECT * FROM hr.employees.employees LIMIT (SELECT 5)", StatementRefused, "LIMIT"),
    ("SELEC * FROM hr.employees.employees", StatementRefused, "does not parse"),
    # nesting deep enough to exhaust the parser's recursion
    ("SELECT " + "(" * 3000 + "1" + ")" * 3000, StatementRefused, "nests too deeply"),
]


@pytest.mark.parametrize(("sql", "kind", "fragment"), REFUSED_AT_CHECK)
def test_hostile_query_is_refused_before_running(
    sql: str, kind: type[QueryRefused], fragment: str
) -> None:
    with pytest.raises(kind) as caught:
        check(sql, GRANTS)
    assert isinstance(caught.value, QueryRefused)
    assert fragment in str(caught.value)


def test_refusals_map_to_forbidden_or_invalid_request() -> None:
    with pytest.raises(ForbiddenError):
        check("SELECT * FROM finance.pay.pay", GRANTS)
    with pytest.raises(InvalidRequestError):
        check("COPY hr.employees.employees TO '/tmp/x'", GRANTS)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT ssn FROM hr.employees.employees",
        "SELECT e.ssn FROM hr.employees.employees e JOIN hr.departments.departments d USING (dept)",
        "SELECT id FROM hr.employees.employees WHERE ssn = '111'",
        "SELECT id FROM hr.employees.employees ORDER BY ssn",
        'SELECT "SSN" FROM HR.Employees.Employees',
    ],
)
def test_ungranted_column_is_refused_naming_it(sql: str) -> None:
    with pytest.raises(TableRefused, match=r"column '(ssn|SSN)' is not granted"):
        check(sql, GRANTS)


def test_ungranted_column_the_checker_cannot_attribute_fails_at_run() -> None:
    # Unqualified in a two-table scope: the run connection simply has no such column.
    with pytest.raises(StatementRefused, match="ssn"):
        query(
            "SELECT ssn FROM hr.employees.employees e "
            "JOIN hr.departments.departments d ON e.dept = d.dept"
        )


def test_column_names_compare_case_insensitively() -> None:
    rows = query('SELECT SALARY, "Id" FROM hr.employees.employees e ORDER BY E.ID LIMIT 1')
    assert rows == [{"salary": 100, "id": 1}]


def test_subquery_columns_are_judged_in_their_own_scope() -> None:
    rows = query(
        "SELECT floor FROM hr.departments.departments WHERE dept IN "
        "(SELECT dept FROM hr.employees.employees WHERE salary > 150) ORDER BY floor"
    )
    assert rows == [{"floor": 1}, {"floor": 2}]
    with pytest.raises(TableRefused, match="column 'ssn'"):
        check(
            "SELECT floor FROM hr.departments.departments WHERE dept IN "
            "(SELECT dept FROM hr.employees.employees WHERE ssn = '111')",
            GRANTS,
        )


def test_select_alias_is_not_taken_for_a_column() -> None:
    rows = query("SELECT salary * 2 AS doubled FROM hr.employees.employees ORDER BY doubled")
    assert rows == [{"doubled": 200}, {"doubled": 400}, {"doubled": 800}]


def test_huge_cross_join_is_stopped_by_the_time_limit() -> None:
    limits = QueryLimits(timeout_seconds=0.5)
    sql = "SELECT count(*) FROM hr.employees.employees a, hr.employees.employees b, " + ", ".join(
        f"hr.departments.departments d{i}" for i in range(30)
    )
    with pytest.raises(LimitExceeded, match=r"0\.5 s limit"):
        query(sql, limits)


def test_row_limit_is_added_and_clamped() -> None:
    limits = QueryLimits(row_limit=2)
    assert check("SELECT id FROM hr.employees.employees", GRANTS, limits).sql.endswith("LIMIT 2")
    assert check("SELECT 1 LIMIT 500", GRANTS, limits).sql.endswith("LIMIT 2")
    assert check("SELECT 1 LIMIT 1", GRANTS, limits).sql.endswith("LIMIT 1")
    rows = query("SELECT a.id FROM hr.employees.employees a, hr.employees.employees b", limits)
    assert len(rows) == 2


def test_masked_and_filtered_rows() -> None:
    rows = query("SELECT * FROM hr.employees.employees ORDER BY id")
    assert rows == [
        {"id": 1, "name": sha("ann"), "dept": "eng", "salary": 100},
        {"id": 2, "name": sha("bob"), "dept": "ops", "salary": 200},
        {"id": 4, "name": sha("dee"), "dept": "eng", "salary": 400},
    ]


def test_quoted_single_identifier_names_the_same_table() -> None:
    rows = query('SELECT e.id FROM "hr.employees.employees" e ORDER BY 1')
    assert rows == [{"id": 1}, {"id": 2}, {"id": 4}]


def test_join_of_two_governed_tables() -> None:
    rows = query(
        "SELECT e.name, d.floor FROM hr.employees.employees e "
        "JOIN hr.departments.departments d ON e.dept = d.dept ORDER BY e.id"
    )
    assert rows == [
        {"name": sha("ann"), "floor": 1},
        {"name": sha("bob"), "floor": 2},
        {"name": sha("dee"), "floor": 1},
    ]


def test_cte_named_like_the_governed_table_still_sees_masked_data() -> None:
    rows = query(
        "WITH employees AS (SELECT name FROM hr.employees.employees WHERE dept = 'legal') "
        "SELECT count(*) AS n FROM employees"
    )
    assert rows == [{"n": 0}]
    rows = query(
        'WITH "hr.employees.employees" AS (SELECT name FROM hr.employees.employees) '
        'SELECT name FROM "hr.employees.employees" ORDER BY name LIMIT 1'
    )
    assert rows == [{"name": min(sha("ann"), sha("bob"), sha("dee"))}]


def test_window_function() -> None:
    rows = query(
        "SELECT id, sum(salary) OVER (PARTITION BY dept) AS total "
        "FROM hr.employees.employees ORDER BY id"
    )
    assert rows == [
        {"id": 1, "total": Decimal(500)},
        {"id": 2, "total": Decimal(200)},
        {"id": 4, "total": Decimal(500)},
    ]


def test_set_operation_masks_both_sides() -> None:
    rows = query(
        "SELECT name FROM hr.employees.employees WHERE id = 1 "
        "UNION ALL SELECT name FROM hr.employees.employees WHERE id = 3 "
        "UNION ALL SELECT dept FROM hr.departments.departments WHERE floor = 3"
    )
    assert rows == [{"name": sha("ann")}, {"name": "legal"}]


def test_subquery_sees_only_filtered_rows() -> None:
    rows = query(
        "SELECT d.dept FROM hr.departments.departments d WHERE d.dept IN "
        "(SELECT dept FROM hr.employees.employees) ORDER BY 1"
    )
    assert rows == [{"dept": "eng"}, {"dept": "ops"}]


def test_locked_connection_keeps_its_settings() -> None:
    # Even if a SET slipped past the checker, the run connection refuses to change settings.
    checked = check("SELECT 1 AS x", GRANTS)
    unsafe = type(checked)(sql="SET enable_external_access = true", grants={}, row_limit=10)
    with pytest.raises(QueryRefused, match="configuration has been locked"):
        run(unsafe, DATA)
    reader = type(checked)(sql="SELECT * FROM read_csv('/etc/hostname')", grants={}, row_limit=1)
    with pytest.raises(QueryRefused, match="file system operations are disabled"):
        run(reader, DATA)
    assert run(checked, DATA).to_pylist() == [{"x": 1}]


def test_table_statement_and_hashing_see_only_masked_values() -> None:
    assert query("TABLE hr.departments.departments")[0] == {"dept": "eng", "floor": 1}
    rows = query("SELECT sha256(name) AS h FROM hr.employees.employees WHERE id = 1")
    assert rows == [{"h": sha(sha("ann"))}]


def test_masks_keep_the_schema_strings_hashed_other_types_null() -> None:
    """The platform's rule: a masked string is its SHA-256 hex, any other masked type is null."""
    table = pa.table(
        {
            "name": pa.array(["ann", None], type=pa.large_string()),
            "born": pa.array([19800101, 19900101], type=pa.int64()),
            "dept": ["eng", "eng"],
        }
    )
    grant = TableGrant("t", ("name", "born", "dept"), masked=frozenset({"name", "born"}))
    result = filtered(table, grant)
    assert result.schema == table.schema
    assert result.to_pylist() == [
        {"name": sha("ann"), "born": None, "dept": "eng"},
        {"name": None, "born": None, "dept": "eng"},
    ]
