"""The Dagster UI, for real: the webserver on 127.0.0.1 loads one code location per landing zone,
and its GraphQL API shows every output port with owners, schema, group and freshness."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from meshlake.orchestration import write_workspace
from meshlake.platform import Settings, load_mesh
from tests.helpers import REPO

pytestmark = pytest.mark.integration

LOCATIONS_QUERY = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""

ASSETS_QUERY = """
{ assetNodes {
    assetKey { path }
    groupName
    kinds
    owners { ... on UserAssetOwner { email } ... on TeamAssetOwner { team } }
    internalFreshnessPolicy { ... on TimeWindowFreshnessPolicy { failWindowSeconds warnWindowSeconds } }
    dependencyKeys { path }
    metadataEntries { label ... on TableSchemaMetadataEntry { schema { columns { name type description } } } }
} }
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _graphql(port: int, query: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body["errors"]
    return body["data"]


@pytest.fixture(scope="module")
def webserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    home = tmp_path_factory.mktemp("ui-home")
    settings = Settings(project=REPO, home=home)
    workspace = write_workspace(settings)
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home / "dagster"),
        "MESHLAKE_PROJECT": str(REPO),
        "MESHLAKE_HOME": str(home),
    }
    executable = Path(sys.executable).with_name("dagster-webserver")
    log = (home / "webserver.log").open("w")
    server = subprocess.Popen(
        [str(executable), "-w", str(workspace), "-h", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, (home / "webserver.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the webserver did not load its locations in 180 s"
            try:
                entries = _graphql(port, LOCATIONS_QUERY)["workspaceOrError"]["locationEntries"]
            except OSError:
                entries = []
            if entries and all(entry["loadStatus"] == "LOADED" for entry in entries):
                break
            time.sleep(1)
        assert {entry["name"]: entry["locationOrLoadError"]["__typename"] for entry in entries} == {
            "americas": "RepositoryLocation",
            "emea": "RepositoryLocation",
        }
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_the_ui_shows_every_port_with_owners_schema_group_and_freshness(webserver: int) -> None:
    mesh = load_mesh(REPO)
    nodes = {
        tuple(node["assetKey"]["path"]): node
        for node in _graphql(webserver, ASSETS_QUERY)["assetNodes"]
    }

    for port in mesh.ports:
        node = nodes[tuple(port.ref.asset_key)]
        product = mesh.product(port.ref.product_ref)
        assert node["groupName"] == port.ref.domain
        assert set(node["kinds"]) == {"spark", "delta"}
        owners = [owner.get("team") or owner.get("email") for owner in node["owners"]]
        assert owners[0] == (product.descriptor.team or product.domain.team).name
        schema = next(
            entry for entry in node["metadataEntries"] if entry["label"] == "dagster/column_schema"
        )
        assert [column["name"] for column in schema["schema"]["columns"]] == [
            prop.name for prop in port.contract.columns
        ]
        assert all(column["description"] for column in schema["schema"]["columns"])
        latency = port.contract.sla("latency")
        assert latency is not None
        assert node["internalFreshnessPolicy"]["failWindowSeconds"] > 0, port.ref


def test_cross_location_dependencies_are_resolved(webserver: int) -> None:
    nodes = {
        tuple(node["assetKey"]["path"]): node
        for node in _graphql(webserver, ASSETS_QUERY)["assetNodes"]
    }

    performance = nodes[("sales", "account_manager_performance", "account_manager_performance")]
    assert ["hr", "employees", "employees"] in [
        key["path"] for key in performance["dependencyKeys"]
    ]
    employees = nodes[("hr", "employees", "employees")]
    assert employees["owners"][1] == {"email": "ines.moreau@example.com"}
    assert employees["internalFreshnessPolicy"] == {
        "failWindowSeconds": 86400,
        "warnWindowSeconds": 43200,
    }


def test_dagster_definitions_validate_accepts_the_workspace(tmp_path: Path) -> None:
    settings = Settings(project=REPO, home=tmp_path)
    workspace = write_workspace(settings)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "dagster"),
        "MESHLAKE_PROJECT": str(REPO),
        "MESHLAKE_HOME": str(tmp_path),
    }
    dagster = Path(sys.executable).with_name("dagster")

    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", str(workspace)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    output = result.stdout + result.stderr
    assert "americas" in output and "emea" in output
