"""`meshlake sharing` as a user runs it: a subprocess talking to a governance service over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from meshlake.governance import GovernanceSettings, create_app, serve_in_thread, upgrade
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


def _meshlake(service: Service, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"MESHLAKE_GOVERNANCE_URL": service.url, "MESHLAKE_GOVERNANCE_TOKEN": token}
    return _run(env, "sharing", *args)


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).with_name("meshlake")
    return subprocess.run(
        [str(executable), *args],
        env={**os.environ, **env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_request_approve_and_list_from_the_terminal(service: Service) -> None:
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
    listed = _meshlake(service, sales, "list")
    env = {"MESHLAKE_GOVERNANCE_URL": service.url, "MESHLAKE_GOVERNANCE_TOKEN": sales}
    status = _run(env, "sla", "status", "cli-sales-reads", "--evaluate")

    assert too_long.returncode == 0, too_long.stderr
    assert "cli-sales-reads-employees: requested" in too_long.stdout
    assert "max_duration [deny]" in too_long.stdout
    assert requested.returncode == 0, requested.stderr
    assert "cli-sales-reads: requested" in requested.stdout
    assert "hr.employees.employees: employee_id, full_name; masked: full_name" in requested.stdout
    assert refused.returncode == 1
    assert "only the owner of the providing domain 'hr'" in " ".join(refused.stderr.split())
    assert approved.returncode == 0 and "cli-sales-reads: active" in approved.stdout
    assert "cli-sales-reads" in listed.stdout and "active" in listed.stdout
    # No table was ever written at the port's location: every measured term is missed.
    assert status.returncode == 1, status.stderr
    assert "freshness" in status.stdout and "missed" in status.stdout
    assert "open since" in status.stdout and "(agreements cli-sales-reads)" in status.stdout
