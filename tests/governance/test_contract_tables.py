"""A contract may describe several tables (ODCS allows it); the catalog gets the one a port publishes.

The platform sends a port's contract with only the port's table, and the service refuses a port's
contract that describes other than one table (422 naming the field), never a 500.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from meshlake.platform import load_mesh
from meshlake.platform._governance import product_payload
from tests.governance._publishing import declared_inputs, register_mesh
from tests.governance.conftest import Service
from tests.helpers import REPO

pytestmark = pytest.mark.integration

CONTRACT = Path("domains/hr/products/employees/contract.yaml")
EXTRA_TABLE = """\
schema:
  - name: employee_codes
    properties:
      - name: code
        logicalType: string
"""


@pytest.fixture(scope="module")
def two_table_mesh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("mesh")
    for folder in ("domains", "infra"):
        shutil.copytree(REPO / folder, project / folder)
    contract = project / CONTRACT
    contract.write_text(contract.read_text().replace("schema:\n", EXTRA_TABLE, 1))
    return project


@pytest.fixture(scope="module")
def registered(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Service:
    register_mesh(service, tmp_path_factory.mktemp("state"))
    return service


def test_the_platform_sends_only_the_ports_table_and_the_catalog_takes_it(
    registered: Service, two_table_mesh: Path, tmp_path: Path
) -> None:
    service = registered
    product = load_mesh(two_table_mesh).product("hr.employees")
    payload = {**product_payload(product, tmp_path / "state"), "inputs": declared_inputs(product)}

    tables = [table["name"] for table in payload["ports"][0]["contract"]["schema"]]
    with service.client() as client:
        response = client.put("/api/v1/products/hr/employees", json=payload)
        columns = client.get("/api/v1/products/hr/employees").json()["datasets"][0]["columns"]

    assert tables == ["employees"]
    assert response.status_code == 200, response.text
    assert columns[0]["name"] == "employee_id"


def test_a_ports_contract_of_two_tables_is_422_naming_it(
    registered: Service, two_table_mesh: Path, tmp_path: Path
) -> None:
    import yaml

    service = registered
    product = load_mesh(two_table_mesh).product("hr.employees")
    payload = product_payload(product, tmp_path / "state")
    payload["ports"][0]["contract"] = yaml.safe_load((two_table_mesh / CONTRACT).read_text())
    with service.client() as client:
        response = client.put("/api/v1/products/hr/employees", json=payload)

    assert response.status_code == 422
    assert response.json()["detail"] == (
        "ports[0].contract.schema: a port's contract describes the one table it publishes "
        "(found 2 schema objects)"
    )
