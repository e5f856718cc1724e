"""`meshlake run` through real Dagster and Spark on the small test mesh: checks, lineage, failures."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from meshlake.governance import start_embedded
from meshlake.orchestration import persistent_instance, run_mesh
from meshlake.orchestration._execution import lineage_run_id
from meshlake.platform import ProductRef, Settings
from meshlake.platform._governance import GovernanceClient
from meshlake.platform.lineage import read_events
from tests.openlineage_schemas import OpenLineageSchemas

pytestmark = pytest.mark.integration


def _settings(project: Path) -> Settings:
    return Settings(project=project, home=project / ".meshlake", spark_master="local[2]")


def test_run_publishes_every_product_with_passing_checks_and_lineage(
    mini_project: Path, spark: object, openlineage_schemas: OpenLineageSchemas
) -> None:
    settings = _settings(mini_project)

    run = run_mesh(settings, governance=False)

    assert run.success
    outcomes = {product.product: product for product in run.products}
    assert {name: outcome.status for name, outcome in outcomes.items()} == {
        "alpha.things": "published",
        "alpha.summary": "published",
    }
    things = outcomes["alpha.things"]
    assert [(port.port, port.rows, port.version) for port in things.ports] == [("things", 100, 0)]
    assert (things.checks_passed, things.checks_failed) == (1, 0)

    instance = persistent_instance(settings)
    record = instance.get_latest_materialization_event(dg.AssetKey(["alpha", "things", "things"]))
    assert record is not None and record.run_id == run.run_id
    metadata = record.asset_materialization.metadata
    assert metadata["dagster/row_count"].value == 100
    assert metadata["meshlake/delta_version"].value == 0
    lineage = metadata["dagster/column_lineage"].value
    assert [dep.column_name for dep in lineage.deps_by_column["weight"]] == ["weight"]

    events = read_events(settings.state_home() / "lineage" / "events.jsonl")
    assert [(event["eventType"], event["job"]["name"]) for event in events] == [
        ("START", "alpha.things"),
        ("COMPLETE", "alpha.things"),
        ("START", "alpha.summary"),
        ("COMPLETE", "alpha.summary"),
    ]
    assert {event["job"]["namespace"] for event in events} == {"lab"}
    assert len({event["run"]["runId"] for event in events}) == 2
    for event in events:
        assert openlineage_schemas.problems(event) == []
    complete = events[1]["outputs"][0]
    assert complete["facets"]["version"]["datasetVersion"] == "0"
    assert complete["outputFacets"]["outputStatistics"]["rowCount"] == 100
    fields = complete["facets"]["columnLineage"]["fields"]
    assert fields["kind"]["inputFields"][0]["field"] == "kind"


def test_a_failing_product_emits_fail_and_leaves_downstream_unmaterialized(
    mini_project: Path, spark: object, openlineage_schemas: OpenLineageSchemas
) -> None:
    settings = _settings(mini_project)
    (mini_project / "domains/alpha/products/things/transform.sql").write_text(
        "SELECT thing_id, label, weight, raise_error('source system outage') AS kind FROM things_raw"
    )

    run = run_mesh(settings, governance=False)

    assert not run.success
    outcomes = {product.product: product for product in run.products}
    assert outcomes["alpha.things"].status == "failed"
    assert "source system outage" in (outcomes["alpha.things"].error or "")
    assert outcomes["alpha.summary"].status == "skipped"
    instance = persistent_instance(settings)
    for key in (["alpha", "things", "things"], ["alpha", "summary", "summary"]):
        assert instance.get_latest_materialization_event(dg.AssetKey(key)) is None
    events = read_events(settings.state_home() / "lineage" / "events.jsonl")
    assert [(event["eventType"], event["job"]["name"]) for event in events] == [
        ("START", "alpha.things"),
        ("FAIL", "alpha.things"),
    ]
    error = events[1]["run"]["facets"]["errorMessage"]["message"]
    assert "source system outage" in error
    assert openlineage_schemas.problems(events[1]) == []


def test_a_governed_run_registers_and_publishes_every_version_in_the_catalog(
    mini_project: Path, spark: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The mini mesh is deliberately bare (no column descriptions, no SLAs), which the publication
    # policies deny; the gate's warn mode publishes and records the denials with each version.
    monkeypatch.setenv("MESHLAKE_POLICY_GATE", "warn")
    settings = _settings(mini_project)

    first = run_mesh(settings)
    second = run_mesh(settings, ["alpha.things"])

    assert first.success and second.success
    # The embedded service stopped with the run; its catalog stays in the state folder.
    service = start_embedded(settings.state_home())
    try:
        with GovernanceClient(service.url, service.token) as client:
            things = client.request("GET", "/api/v1/datasets/alpha.things.things")
            summary = client.request("GET", "/api/v1/datasets/alpha.summary.summary")
            audit = client.request("GET", "/api/v1/audit", params={"action": "product.published"})
    finally:
        service.stop()
    assert [(v["delta_version"], v["row_count"]) for v in things["versions"]] == [
        (0, 100),
        (1, 100),
    ]
    assert [(v["delta_version"], v["row_count"]) for v in summary["versions"]] == [(0, 4)]
    assert {v["run_id"] for v in things["versions"]} == {
        lineage_run_id(first.run_id, ProductRef("alpha", "things")),
        lineage_run_id(second.run_id, ProductRef("alpha", "things")),
    }
    assert [entry["target"] for entry in audit].count("alpha.things") == 2
