"""The Dagster definitions load, and their asset graph is the specs' graph, with what the UI shows."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

from meshlake.orchestration import (
    DRIFT_CHECK,
    SCHEMA_CHECK,
    mesh_definitions,
    port_key,
    raw_key,
    zone_definitions,
)
from meshlake.orchestration._keys import input_key
from meshlake.platform import PortRef, Settings, load_mesh
from meshlake.platform.quality import port_rules
from tests.helpers import REPO

pytestmark = pytest.mark.unit

MESH = load_mesh(REPO)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(project=REPO, home=tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def graph(settings: Settings) -> dg.Definitions:
    return mesh_definitions(settings)


def _specs(definitions: dg.Definitions) -> dict[dg.AssetKey, dg.AssetSpec]:
    return {spec.key: spec for spec in definitions.resolve_all_asset_specs()}


def _defined(definitions: dg.Definitions) -> set[dg.AssetKey]:
    """Keys a location runs itself (not the other locations' assets it references)."""
    keys: set[dg.AssetKey] = set()
    for assets in definitions.assets or []:
        if isinstance(assets, dg.AssetsDefinition) and assets.is_executable:
            keys |= set(assets.keys)
    return keys


def test_definitions_load_as_dagster_validates_them(
    graph: dg.Definitions, settings: Settings
) -> None:
    dg.Definitions.validate_loadable(graph)
    for zone in ("emea", "americas"):
        dg.Definitions.validate_loadable(zone_definitions(zone, settings))


def test_asset_graph_equals_the_specs_graph(graph: dg.Definitions) -> None:
    specs = _specs(graph)
    expected_ports = {port_key(port.ref) for port in MESH.ports}
    expected_raw = {raw_key(source) for source in MESH.raw_sources.values()}
    assert set(specs) == expected_ports | expected_raw
    for product in MESH.products.values():
        for port in product.ports.values():
            deps = {dep.asset_key for dep in specs[port_key(port.ref)].deps}
            assert deps == {input_key(binding) for binding in product.inputs}, port.ref


def test_each_port_carries_owners_group_kinds_tags_schema_and_freshness(
    graph: dg.Definitions, settings: Settings
) -> None:
    employees = _specs(graph)[dg.AssetKey(["hr", "employees", "employees"])]

    assert employees.group_name == "hr"
    assert employees.owners == ["team:hr-data", "ines.moreau@example.com"]
    assert employees.kinds == {"spark", "delta"}
    assert {key: value for key, value in employees.tags.items() if key.startswith("meshlake/")} == {
        "meshlake/tier": "bronze",
        "meshlake/landing_zone": "emea",
        "meshlake/classification": "sensitive",
    }
    schema = employees.metadata["dagster/column_schema"]
    contract = MESH.port(MESH.product("hr.employees").ports["employees"].ref).contract
    assert [column.name for column in schema.columns] == [prop.name for prop in contract.columns]
    salary = next(column for column in schema.columns if column.name == "annual_salary")
    assert (salary.type, salary.tags) == ("decimal(12,2)", {"classification": "sensitive"})
    employee_id = schema.columns[0]
    assert (employee_id.constraints.nullable, employee_id.constraints.unique) == (False, True)
    assert employees.metadata["dagster/table_name"] == "hr.employees.employees"
    location = settings.state_home() / "lake" / "emea" / "hr" / "employees" / "employees"
    assert employees.metadata["dagster/uri"] == location.as_uri()
    assert employees.freshness_policy == dg.FreshnessPolicy.time_window(
        fail_window=timedelta(days=1), warn_window=timedelta(hours=12)
    )
    assert "Conformed" in (employees.description or "")


def test_every_port_has_a_schema_check_one_check_per_rule_and_drift(graph: dg.Definitions) -> None:
    checks = {
        (spec.asset_key, spec.name): spec.blocking
        for assets in graph.assets or []
        if isinstance(assets, dg.AssetsDefinition)
        for spec in assets.check_specs
    }
    expected = {}
    for port in MESH.ports:
        key = port_key(port.ref)
        expected[(key, SCHEMA_CHECK)] = True
        if port_rules(port):
            expected[(key, DRIFT_CHECK)] = False
        for rule in port_rules(port):
            expected[(key, rule.name)] = rule.severity == "error" and not rule.quarantine
    assert checks == expected


def test_each_agreement_sla_is_a_warning_check_on_the_port_it_covers(
    graph: dg.Definitions, settings: Settings
) -> None:
    checks = {
        (spec.asset_key, spec.name): spec
        for definition in graph.asset_checks or []
        for spec in definition.check_specs
    }
    today = date.today()
    expected = {
        (port_key(ref), "sla_" + agreement.name.replace("-", "_"))
        for agreement in MESH.agreements.values()
        if not agreement.expired_on(today)
        for ref in agreement.port_refs
    }
    emea = {
        spec.name
        for definition in zone_definitions("emea", settings).asset_checks or []
        for spec in definition.check_specs
    }

    # The sample's 2025 agreement has expired: it owes no SLA, so it has no check.
    assert set(checks) == expected and len(expected) == len(MESH.agreements) - 1
    assert not any(spec.blocking for spec in checks.values())
    tight = checks[
        (
            port_key(PortRef.parse("operations.pump_health.pump_health")),
            "sla_hr_field_staffing_reads_pump_health_tight_sla",
        )
    ]
    assert "team hr-data, for field_staffing_planning" in (tight.description or "")
    # A zone's location holds the checks of the ports it hosts: sales (americas) is elsewhere.
    assert "sla_hr_field_staffing_reads_pump_health_tight_sla" in emea
    assert "sla_sales_account_managers_read_employees" in emea  # hr.employees is in emea


def test_rule_checks_say_what_they_check_and_where_the_rule_is(graph: dg.Definitions) -> None:
    specs = {
        (tuple(spec.asset_key.path), spec.name): spec
        for assets in graph.assets or []
        if isinstance(assets, dg.AssetsDefinition)
        for spec in assets.check_specs
    }
    key = ("sales", "customers", "customers")
    rules = [
        name for (asset, name) in specs if asset == key and name not in (SCHEMA_CHECK, DRIFT_CHECK)
    ]
    assert rules, "the sample customers port has contract rules"
    for name in rules:
        spec = specs[(key, name)]
        assert "contract rule at" in (spec.description or "")
        assert spec.metadata["kind"]
        assert spec.metadata["expectation"]


def test_schedules_come_from_the_product_schedule(graph: dg.Definitions) -> None:
    schedules = {schedule.name: schedule.cron_schedule for schedule in graph.schedules or []}
    assert schedules["hr__employees_schedule"] == "0 5 * * *"
    assert set(schedules) == {
        f"{p.ref.domain}__{p.ref.name}_schedule" for p in MESH.products.values()
    }


def test_each_zone_location_holds_its_own_domains_and_points_across_zones(
    settings: Settings,
) -> None:
    americas = _specs(zone_definitions("americas", settings))
    defined_in = {zone: _defined(zone_definitions(zone, settings)) for zone in ("americas", "emea")}

    assert {key.path[0] for key in defined_in["americas"]} == {"sales"}
    assert {key.path[0] for key in defined_in["emea"]} == {"hr", "operations"}
    performance = americas[
        dg.AssetKey(["sales", "account_manager_performance", "account_manager_performance"])
    ]
    assert dg.AssetKey(["hr", "employees", "employees"]) in {
        dep.asset_key for dep in performance.deps
    }


def test_unknown_zone_names_the_known_ones(settings: Settings) -> None:
    with pytest.raises(
        ValueError, match="no landing zone 'asia'; known: americas, emea, governance"
    ):
        zone_definitions("asia", settings)


def test_workspace_file_lists_one_location_per_data_zone(
    settings: Settings, tmp_path: Path
) -> None:
    import yaml

    from meshlake.orchestration import write_workspace

    workspace = yaml.safe_load(write_workspace(settings).read_text())

    names = [entry["python_module"]["location_name"] for entry in workspace["load_from"]]
    assert names == ["americas", "emea"]
    assert {entry["python_module"]["module_name"] for entry in workspace["load_from"]} == {
        "meshlake.orchestration.locations"
    }


def test_no_location_has_a_default_group(settings: Settings) -> None:
    for zone in ("americas", "emea"):
        graph = zone_definitions(zone, settings).get_repository_def().asset_graph
        groups = {key: graph.get(key).group_name for key in graph.get_all_asset_keys()}
        assert "default" not in groups.values(), (zone, groups)
        assert all(group == key.path[0] for key, group in groups.items()), groups
    # americas reads hr's employees, which emea publishes: a reference in hr's group, not run here.
    americas = zone_definitions("americas", settings).get_repository_def().asset_graph
    employees = americas.get(dg.AssetKey(["hr", "employees", "employees"]))
    assert employees.group_name == "hr"
    assert not employees.is_materializable and not employees.is_observable


def test_raw_sources_are_observable_with_their_schema(graph: dg.Definitions) -> None:
    asset_graph = graph.get_repository_def().asset_graph
    for source in MESH.raw_sources.values():
        node = asset_graph.get(raw_key(source))
        assert node.is_observable and not node.is_materializable, source.source.id
        assert node.group_name == source.domain.name
        schema = node.metadata["dagster/column_schema"]
        assert [column.name for column in schema.columns], source.source.id
    hris = asset_graph.get(dg.AssetKey(["hr", "raw", "hris_employees"]))
    # Its readers (hr.employees) promise a latency: the drop is fresh within the shortest one.
    assert hris.freshness_policy is not None


def test_each_zone_location_defines_its_products_job(settings: Settings) -> None:
    for zone in ("americas", "emea"):
        definitions = zone_definitions(zone, settings)
        job = definitions.resolve_job_def(f"{zone}_products")
        selected = job.asset_layer.selected_asset_keys
        assert selected == _defined(definitions), zone
        assert job.executor_def.name == "in_process"  # one Spark session for the run
