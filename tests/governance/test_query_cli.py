"""`meshlake query` against a governance service over real HTTP: in process (typer's runner) for
each format and refusal, and once as the installed `meshlake` command a user runs."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest
import typer
from click.testing import Result
from typer.testing import CliRunner

from meshlake.governance._query_cli import register
from meshlake.platform.cli import _output
from tests.governance._publishing import MESH, Publisher
from tests.governance._sharing import TODAY, Mesh, serve_mesh

pytestmark = pytest.mark.integration

EMPLOYEES = "hr.employees.employees"
ROWS = 9
SQL = f"SELECT employee_id, full_name, is_active FROM {EMPLOYEES} ORDER BY employee_id"


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    database = f"sqlite:///{tmp_path_factory.mktemp('query-cli') / 'governance.db'}"
    for served in serve_mesh(database, tmp_path_factory.mktemp("state")):
        Publisher(served.service).publish(MESH.product("hr.employees"), "run-cli-1", rows=ROWS)
        body = {
            "name": "cli-sales-queries",
            "consumer": {"kind": "product", "id": "sales.account_manager_performance"},
            "purpose": "sales_performance_reporting",
            "start": TODAY.isoformat(),
            "end": (TODAY + timedelta(days=300)).isoformat(),
            "ports": [
                {
                    "port": EMPLOYEES,
                    "columns": ["employee_id", "full_name", "is_active"],
                    "masked": ["full_name"],
                    "rows": {"is_active": [True]},
                }
            ],
        }
        with served.as_("sales") as sales, served.as_("hr owner") as owner:
            sales.post("/api/v1/agreements", json=body).raise_for_status()
            owner.post("/api/v1/agreements/cli-sales-queries/approve", json={}).raise_for_status()
        yield served


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command("other")  # a second command, so `query` is addressed by name as in meshlake
    def other() -> None: ...

    return app


def _meshlake(mesh: Mesh, who: str, *args: str) -> Result:
    env = {
        "MESHLAKE_GOVERNANCE_URL": mesh.service.url,
        "MESHLAKE_GOVERNANCE_TOKEN": mesh.tokens[who],
    }
    return CliRunner().invoke(_app(), ["query", *args], env=env)


def _expected() -> list[list[str]]:
    """Active employees of the published sample (even rows), names as SHA-256 hex."""
    return [
        [f"v{n}", hashlib.sha256(f"v{n}".encode()).hexdigest(), "true"]
        for n in sorted(range(0, ROWS, 2), key=lambda n: f"v{n}")
    ]


def test_csv_and_json_carry_the_masked_scoped_rows(mesh: Mesh) -> None:
    as_csv = _meshlake(mesh, "sales", SQL, "--format", "csv")
    as_json = _meshlake(mesh, "sales", SQL, "--format", "json")
    assert as_csv.exit_code == 0, as_csv.output
    rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert rows[0] == ["employee_id", "full_name", "is_active"]
    assert rows[1:] == _expected()
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.stdout)
    assert [[r[0], r[1], "true" if r[2] else "false"] for r in body["rows"]] == _expected()
    assert body["ports"][0]["agreement"] == "cli-sales-queries"


def test_the_table_follows_pages_and_limit_stops_early(
    mesh: Mesh, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_output.console, "width", 200)
    monkeypatch.setattr("meshlake.governance._query_cli._PAGE", 2)  # several pages for 5 rows
    shown = _meshlake(mesh, "sales", SQL)
    limited = _meshlake(mesh, "sales", SQL, "--format", "csv", "--limit", "3")
    assert shown.exit_code == 0, shown.output
    assert "5 rows" in shown.stdout
    for _, digest, _ in _expected():
        assert digest in shown.stdout
    assert limited.exit_code == 0, limited.output
    assert list(csv.reader(io.StringIO(limited.stdout)))[1:] == _expected()[:3]
    assert "more rows than shown" in limited.stderr


def test_arrow_to_a_file_reads_back_with_pyarrow(mesh: Mesh, tmp_path: Path) -> None:
    target = tmp_path / "employees.arrows"
    written = _meshlake(mesh, "sales", SQL, "--format", "arrow", "--output", str(target))
    without_file = _meshlake(mesh, "sales", SQL, "--format", "arrow")
    assert written.exit_code == 0, written.output
    table = pa.ipc.open_stream(target.read_bytes()).read_all()
    assert table.schema.field("is_active").type == pa.bool_()
    assert [[r["employee_id"], r["full_name"], "true"] for r in table.to_pylist()] == _expected()
    assert without_file.exit_code == 2 and "--output" in without_file.output


def test_refusals_print_the_service_reason_and_exit_1(mesh: Mesh) -> None:
    ungranted = _meshlake(mesh, "sales", f"SELECT email FROM {EMPLOYEES}")
    hostile = _meshlake(mesh, "sales", "SELECT * FROM read_csv('/etc/passwd')")
    bad_format = _meshlake(mesh, "sales", SQL, "--format", "xml")
    assert ungranted.exit_code == 1
    assert "column 'email' is not granted" in ungranted.stderr
    assert hostile.exit_code == 1 and "not allowed" in hostile.stderr
    assert bad_format.exit_code == 2 and "table, json, csv or arrow" in bad_format.output


def test_an_unreachable_service_exits_2(tmp_path: Path) -> None:
    env = {"MESHLAKE_GOVERNANCE_URL": "http://127.0.0.1:9", "MESHLAKE_GOVERNANCE_TOKEN": "x"}
    result = CliRunner().invoke(_app(), ["query", "SELECT 1"], env=env)
    assert result.exit_code == 2 and "cannot be reached" in result.stderr


def test_the_installed_command_answers(mesh: Mesh) -> None:
    executable = Path(sys.executable).with_name("meshlake")
    env = {
        **os.environ,
        "MESHLAKE_GOVERNANCE_URL": mesh.service.url,
        "MESHLAKE_GOVERNANCE_TOKEN": mesh.tokens["hr member"],
    }
    done = subprocess.run(
        [str(executable), "query", f"SELECT count(*) AS n FROM {EMPLOYEES}", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"] == [[ROWS]]
    assert f"read {EMPLOYEES}@" in done.stderr
