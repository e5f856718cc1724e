"""`meshlake sharing` and `meshlake sla` against a governance service over real HTTP: in process
(typer's runner) for speed, and once as the installed `meshlake` command a user runs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from meshlake.governance import GovernanceSettings, create_app, serve_in_thread, upgrade
from meshlake.governance._sharing_cli import sharing, sla
from meshlake.platform.cli import _output
from tests.governance._publishing import register_mesh
from tests.governance.conftest import BOOTSTRAP, Service

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    database = f"sqlite:///{tmp_path_factory.mktemp('sharing-cli') / 'governance.db'}"
    upgrade(database)
    app = create_app(GovernanceSettings(database_url=database, bootstrap_token=BOOTSTRAP))
    running = serve_in_thread(app)
    service = Service(running.url, database)
    register_mesh(service, tmp_path_factory.mktemp("state"))
    yield service
    running.stop()
    app.state.engine.dispose()


def _meshlake(service: Service, token: str, *args: str) -> Result:
    env = {"MESHLAKE_GOVERNANCE_URL": service.url, "MESHLAKE_GOVERNANCE_TOKEN": token}
    if args[0] == "status":  # alone in its typer app, `sla status` is that app's command
        return CliRunner().invoke(sla, list(args[1:]), env=env)
    return CliRunner().invoke(sharing, list(args), env=env)


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).with_name("meshlake")
    return subprocess.run(
        [str(executable), *args],
        env={**os.environ, **env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_request_approve_and_list_from_the_terminal(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Wide enough that no cell of a table is folded (the console is made at import).
    monkeypatch.setattr(_output.console, "width", 200)
    sales = service.token("cli-sales", grants=[{"role": "domain_member", "domain": "sales"}])
    owner = service.token("cli-hr-owner", grants=[{"role": "domain_owner", "domain": "hr"}])
    request = [
        "request",
        "cli-sales-reads-employees",
        "--consumer",
        "product:sales.account_manager_performance",
        "--port",
        "hr.employees.employees",
        "--purpose",
        "sales_performance_reporting",
        "--end",
        "2099-01-01",
        "--column",
        "employee_id",
        "--column",
        "full_name",
        "--masked",
        "full_name",
    ]

    too_long = _meshlake(service, sales, *request)
    request[request.index("2099-01-01")] = "2027-06-30"
    requested = _meshlake(service, sales, *request[:1], "cli-sales-reads", *request[2:])
    refused = _meshlake(service, sales, "approve", "cli-sales-reads")
    approved = _meshlake(service, owner, "approve", "cli-sales-reads", "--reason", "ok by hr")
    env = {"MESHLAKE_GOVERNANCE_URL": service.url, "MESHLAKE_GOVERNANCE_TOKEN": sales}
    listed = _run(env, "sharing", "list")
    status = _meshlake(service, sales, "status", "cli-sales-reads", "--evaluate")

    assert too_long.exit_code == 0, too_long.output
    assert "cli-sales-reads-employees: requested" in too_long.output
    assert "max_duration [deny]" in too_long.output
    assert requested.exit_code == 0, requested.output
    assert "cli-sales-reads: requested" in requested.output
    assert "hr.employees.employees: employee_id, full_name; masked: full_name" in requested.output
    assert refused.exit_code == 1
    assert "only the owner of the providing domain 'hr'" in " ".join(refused.output.split())
    assert approved.exit_code == 0 and "cli-sales-reads: active" in approved.output
    assert "cli-sales-reads" in listed.stdout and "active" in listed.stdout
    # No table was ever written at the port's location: every measured term is missed.
    assert status.exit_code == 1, status.output
    assert "freshness" in status.output and "missed" in status.output
    assert "open since" in status.output and "(agreements cli-sales-reads)" in status.output
