"""`meshlake run` through real Dagster and Spark on the small test mesh: checks, lineage, failures."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

import dagster as dg
import pytest
from deltalake import DeltaTable

from meshlake.governance import start_embedded
from meshlake.governance._glossary_file import GLOSSARY_FILE
from meshlake.orchestration import persistent_instance, run_mesh
from meshlake.orchestration._execution import lineage_run_id
from meshlake.platform import Platform, PortRef, ProductRef, Settings
from meshlake.platform._governance import GovernanceClient
from meshlake.platform.lineage import read_events
from tests.openlineage_schemas import OpenLineageSchemas

pytestmark = pytest.mark.integration


def _settings(project: Path) -> Settings:
    return Settings(project=project, home=project / ".meshlake", spark_master="local[2]")


@pytest.fixture(autouse=True)
def warn_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mini mesh is deliberately bare (no column descriptions, no SLAs), which the publication
    policies deny; the gate's warn mode publishes it and records the denials with each version."""
    monkeypatch.setenv("MESHLAKE_POLICY_GATE", "warn")


def test_run_publishes_every_product_with_passing_checks_and_lineage(
    mini_project: Path, spark: object, openlineage_schemas: OpenLineageSchemas
) -> None:
    settings = _settings(mini_project)
    environment = dict(os.environ)

    run = run_mesh(settings)

    assert run.success
    assert (
        dict(os.environ) == environment
    )  # Settings carry everything; the process env is not written
    outcomes = {product.product: product for product in run.products}
    assert {name: outcome.status for name, outcome in outcomes.items()} == {
        "alpha.things": "published",
        "alpha.summary": "published",
    }
    things = outcomes["alpha.things"]
    assert [(port.port, port.rows, port.version) for port in things.ports] == [("things", 100, 0)]
    # The mini mesh's zone keeps the default engine: both products ran on Spark, and say so.
    assert {name: outcome.engine for name, outcome in outcomes.items()} == {
        "alpha.things": "spark",
        "alpha.summary": "spark",
    }
    # The schema check, one per contract rule (here the primary key), and drift.
    assert (things.checks_passed, things.checks_failed) == (3, 0)

    instance = persistent_instance(settings)
    record = instance.get_latest_materialization_event(dg.AssetKey(["alpha", "things", "things"]))
    assert record is not None and record.run_id == run.run_id
    # The run is one of the code location's job (the UI can show and re-execute it) ...
    assert [(zone_run.zone, zone_run.job) for zone_run in run.runs] == [("lab", "lab_products")]
    dagster_run = instance.get_run_by_id(run.run_id)
    assert dagster_run is not None and dagster_run.job_name == "lab_products"
    assert dagster_run.remote_job_origin is not None
    assert dagster_run.remote_job_origin.location_name == "lab"
    # ... which observed the raw drop before reading it: schema, last change, data version.
    (observation,) = instance.fetch_observations(
        dg.AssetKey(["alpha", "raw", "things_raw"]), limit=1
    ).records
    assert observation.run_id == run.run_id
    observed = observation.asset_observation
    assert observed is not None and observed.data_version not in (None, "no drop yet")
    assert observed.metadata["dagster/last_updated_timestamp"].value > 0
    assert observed.metadata["meshlake/files"].value >= 1
    metadata = record.asset_materialization.metadata
    assert metadata["dagster/row_count"].value == 100
    assert metadata["meshlake/delta_version"].value == 0
    assert metadata["meshlake/engine"].value == "spark"
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

    run = run_mesh(settings)

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
    mini_project: Path, spark: object
) -> None:
    settings = _settings(mini_project)
    glossary = mini_project / GLOSSARY_FILE
    glossary.parent.mkdir(parents=True, exist_ok=True)
    glossary.write_text(
        "terms:\n  - name: Thing\n    definition: One catalogued thing.\n"
        "    columns: [alpha.things.things.thing_id]\n"
    )

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
            term = client.request("GET", "/api/v1/glossary/Thing")
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
    # The glossary is registered with the products, as `meshlake governance sync` does.
    assert term["definition"] == "One catalogued thing."
    assert [(c["ref"], c["in_catalog"]) for c in term["columns"]] == [
        ("alpha.things.things.thing_id", True)
    ]


QUALITY_RULES = """
      - name: kind
        logicalType: string
        required: true
        quality:
          - type: library
            name: kind_is_known
            metric: invalidValues
            arguments:
              validValues: [a, b, c, d]
            mustBe: 0
            customProperties:
              - property: quarantine
                value: true
"""


def _with_quality_rules(project: Path) -> None:
    """The things contract with a quarantine rule on kind and a blocking range on weight."""
    contract = project / "domains/alpha/products/things/contract.yaml"
    text = contract.read_text()
    text = text.replace(
        "        physicalType: DECIMAL(8,3)\n",
        "        physicalType: DECIMAL(8,3)\n        logicalTypeOptions:\n          maximum: 50\n",
    )
    text = text.replace(
        "      - name: kind\n        logicalType: string\n        required: true\n", ""
    )
    contract.write_text(text.rstrip("\n") + "\n" + QUALITY_RULES.lstrip("\n"))


def _add_raw_row(settings: Settings, row: str) -> None:
    (drop,) = (settings.state_home()).rglob("_raw/alpha/*/*.csv") or [None]
    assert drop is not None, "the run ingested one CSV drop for alpha's raw source"
    drop.write_text(drop.read_text().rstrip("\n") + "\n" + row + "\n")


def _checks(run_id: str, settings: Settings, key: list[str]) -> dict[str, dg.AssetCheckEvaluation]:
    instance = persistent_instance(settings)
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    )
    evaluations = [
        record.event_log_entry.dagster_event.event_specific_data for record in records.records
    ]  # type: ignore[union-attr]
    return {e.check_name: e for e in evaluations if e.asset_key == dg.AssetKey(key)}


def test_quality_rules_run_as_checks_quarantine_bad_rows_and_block_publication(
    mini_project: Path, spark: object, openlineage_schemas: OpenLineageSchemas
) -> None:
    settings = _settings(mini_project)
    _with_quality_rules(mini_project)
    run_mesh(settings, ["alpha.things"])  # ingests the drop, version 0
    _add_raw_row(settings, "T9001,bad kind,5.000,zzz")

    quarantined = run_mesh(settings)

    assert quarantined.success
    outcomes = {product.product: product for product in quarantined.products}
    assert [(p.rows, p.version) for p in outcomes["alpha.things"].ports] == [(100, 1)]
    checks = _checks(quarantined.run_id, settings, ["alpha", "things", "things"])
    kind = checks["kind_is_known"]
    assert not kind.passed
    assert kind.severity == dg.AssetCheckSeverity.WARN
    assert kind.metadata["quarantined_rows"].value == 1
    assert kind.metadata["unexpected_count"].value == 1
    assert kind.metadata["failing_sample"].value == "zzz"
    assert checks["weight_range"].passed and checks["weight_range"].blocking
    assert checks["distribution_drift"].metadata["compared_with_version"].value == 0
    quarantine = spark.read.format("delta").load(  # type: ignore[attr-defined]
        kind.metadata["quarantine_table"].value
    )
    assert [row["thing_id"] for row in quarantine.collect()] == ["T9001"]
    # Data Docs: a URL on the Data Docs server (`meshlake ui` serves the folder) of a real page.
    docs = checks["weight_range"].metadata["data_docs"]
    assert isinstance(docs, dg.UrlMetadataValue)
    assert docs.value.startswith("http://127.0.0.1:3001/")
    page = unquote(urlparse(docs.value).path).lstrip("/")
    assert (settings.state_home() / "quality" / "data_docs" / page).is_file()
    assert outcomes["alpha.things"].failed_checks == [
        "things.kind_is_known [warn]: " + (kind.description or "")
    ]

    _add_raw_row(settings, "T9002,too heavy,99.000,a")
    blocked = run_mesh(settings)

    assert not blocked.success
    outcomes = {product.product: product for product in blocked.products}
    assert outcomes["alpha.things"].status == "failed"
    assert "weight_range" in (outcomes["alpha.things"].error or "")
    assert outcomes["alpha.summary"].status == "skipped"
    checks = _checks(blocked.run_id, settings, ["alpha", "things", "things"])
    weight = checks["weight_range"]
    assert not weight.passed and weight.severity == dg.AssetCheckSeverity.ERROR
    assert weight.metadata["unexpected_count"].value == 1
    assert weight.metadata["failing_sample"].value == "99.000"
    # Nothing was committed: the table is still at the quarantining run's version.
    history = spark.sql(  # type: ignore[attr-defined]
        f"DESCRIBE HISTORY delta.`{Platform(settings).location(PortRef('alpha', 'things', 'things'))}`"
    )
    assert max(row["version"] for row in history.collect()) == 1
    events = read_events(settings.state_home() / "lineage" / "events.jsonl")
    fail = events[-1]
    assert (fail["eventType"], fail["job"]["name"]) == ("FAIL", "alpha.things")
    assertions = fail["outputs"][0]["facets"]["dataQualityAssertions"]["assertions"]
    assert {a["name"]: a["success"] for a in assertions}["weight_range"] is False
    assert openlineage_schemas.problems(fail) == []


def test_a_denied_publication_through_dagster_leaves_the_previous_version(
    mini_project: Path, spark: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(mini_project)
    assert run_mesh(settings, ["alpha.things"]).success  # the warn gate: version 0
    monkeypatch.setenv("MESHLAKE_POLICY_GATE", "enforce")

    denied = run_mesh(settings)

    assert not denied.success
    outcomes = {product.product: product for product in denied.products}
    assert outcomes["alpha.things"].status == "failed"
    assert "governance denied the publication" in (outcomes["alpha.things"].error or "")
    assert outcomes["alpha.summary"].status == "skipped"
    location = Platform(settings).location(PortRef("alpha", "things", "things"))
    assert DeltaTable(location).version() == 0
    instance = persistent_instance(settings)
    latest = instance.get_latest_materialization_event(dg.AssetKey(["alpha", "things", "things"]))
    assert latest is not None and latest.run_id != denied.run_id
