"""``meshlake review`` asks the governance service's lineage store who a column change hits."""

from __future__ import annotations

import json
import uuid

import pytest
from openlineage.client.serde import Serde

from meshlake.governance.review._changes import Change
from meshlake.governance.review._consumers import (
    GovernanceConsumers,
    SpecConsumers,
    attach_consumers,
)
from meshlake.platform import PortRef, load_mesh
from meshlake.platform.lineage import product_column_lineage, product_run_event
from tests.governance.conftest import BOOTSTRAP, Service
from tests.helpers import REPO

pytestmark = pytest.mark.integration

MESH = load_mesh(REPO)
AMP = "sales.account_manager_performance"


@pytest.fixture(scope="module")
def with_lineage(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Service:
    """The account manager product's run, with its column lineage, recorded by the service."""
    home = tmp_path_factory.mktemp("state")
    spec = MESH.product(AMP)
    event = product_run_event(
        "COMPLETE",
        mesh=MESH,
        product=spec,
        run_id=str(uuid.uuid4()),
        state_home=home,
        column_lineage=product_column_lineage(MESH, spec),
    )
    with service.client() as client:
        response = client.post("/api/v1/lineage", json=json.loads(Serde.to_json(event)))
        assert response.status_code in (200, 201, 204), response.text
    return service


def _removed(column: str) -> Change:
    return Change(
        f"hr.employees.employees.{column}",
        "column_removed",
        f"column {column} removed",
        True,
        "hr.employees",
        "employees",
        column,
        contract_id="hr.employees.employees",
        version_before="1.0.0",
        version_after="1.0.0",
    )


def test_consumers_come_from_the_lineage_store_down_to_the_column(with_lineage: Service) -> None:
    governance = GovernanceConsumers(with_lineage.url, BOOTSTRAP)
    try:
        assert governance.reachable()
        consumers = governance.of_column(PortRef.parse("hr.employees.employees"), "full_name")
    finally:
        governance.close()
    assert consumers is not None
    assert [(consumer.product, consumer.source) for consumer in consumers] == [(AMP, "governance")]
    assert "account_manager_performance.full_name" in consumers[0].columns


def test_the_review_prefers_the_service_and_falls_back_to_the_specs(with_lineage: Service) -> None:
    governance = GovernanceConsumers(with_lineage.url, BOOTSTRAP)
    # The service knows the account manager product's lineage only: it reads full_name, not
    # hire_date, which hr.engagement_retention (no run recorded) reads.
    recorded, unknown_to_service = _removed("full_name"), _removed("hire_date")
    try:
        attach_consumers([recorded, unknown_to_service], SpecConsumers(MESH), governance)
    finally:
        governance.close()
    assert [(c.product, c.source) for c in recorded.consumers] == [(AMP, "governance")]
    assert [(c.product, c.source) for c in unknown_to_service.consumers] == [
        ("hr.engagement_retention", "specs")
    ]


def test_an_unreachable_service_is_not_used() -> None:
    governance = GovernanceConsumers("http://127.0.0.1:9", None, timeout=1.0)
    try:
        assert not governance.reachable()
    finally:
        governance.close()
