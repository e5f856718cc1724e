"""The four sample topologies (infra/topologies/): each validates, plans and applies idempotently
against a governance service, and registers its products and agreements; the regional one shows
residency at work; the one-zone topology is materialized end to end with Spark (only that one, to
keep the suite's cost down)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from deltalake import DeltaTable

from meshlake.governance import start_embedded, sync_catalog
from meshlake.governance._zones import apply_zones, plan_zones
from meshlake.platform import GovernanceClient, zone_root
from meshlake.platform.specs import load_mesh, validate_mesh
from tests.helpers import REPO, governed_platform

TOPOLOGIES = REPO / "infra" / "topologies"
NAMES = ("one-zone", "source-consumer-aligned", "hub", "regional")


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("topologies", TOPOLOGIES / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Its dataclasses resolve their annotations through sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def governance(tmp_path: Path) -> Iterator[tuple[GovernanceClient, Path]]:
    """The embedded governance service on a fresh state folder, as `meshlake zones apply` starts
    it without MESHLAKE_GOVERNANCE_URL."""
    home = tmp_path / "home"
    embedded = start_embedded(home)
    try:
        with GovernanceClient(embedded.url, embedded.token) as client:
            yield client, home
    finally:
        embedded.stop()


@pytest.mark.unit
def test_the_committed_topologies_are_what_the_generator_writes() -> None:
    generator = _generator()
    assert tuple(topology.name for topology in generator.TOPOLOGIES) == NAMES
    for topology in generator.TOPOLOGIES:
        folder = TOPOLOGIES / topology.name
        expected = generator.files(topology)
        on_disk = {
            str(path.relative_to(folder)): path.read_text()
            for path in folder.rglob("*")
            if path.is_file()
            and not any(part.startswith((".", "__")) for part in path.relative_to(folder).parts)
        }
        assert on_disk == expected, f"run python infra/topologies/generate.py ({topology.name})"


@pytest.mark.integration
@pytest.mark.parametrize("name", NAMES)
def test_a_topology_validates_and_applies_idempotently(
    name: str, tmp_path: Path, governance: tuple[GovernanceClient, Path]
) -> None:
    client, home = governance
    root = TOPOLOGIES / name
    report = validate_mesh(root)
    assert report.ok, [str(problem) for problem in report.problems]
    mesh = report.mesh
    assert mesh is not None

    first = plan_zones(client, mesh, home)
    data_zones = [zone for zone in mesh.zones.values() if zone.kind == "data"]
    assert {(c.group, c.action, c.target) for c in first.changes} >= {
        *{("catalog", "create", zone) for zone in mesh.zones},
        *{("principals", "create", zone.principal) for zone in data_zones},
        *{("code locations", "create", zone.location_name) for zone in data_zones},
    }
    apply_zones(client, mesh, home)
    assert plan_zones(client, mesh, home).changes == []

    synced = sync_catalog(client, mesh, home)
    assert sorted(synced.products) == sorted(str(ref) for ref in mesh.products)
    # Registering products does not disturb the zones: still nothing to change.
    assert plan_zones(client, mesh, home).changes == []
    for zone in data_zones:
        assert Path(zone_root(zone, home)).is_dir()


@pytest.mark.integration
def test_regional_zones_keep_data_in_region_unless_an_allowance_says_so(
    governance: tuple[GovernanceClient, Path],
) -> None:
    client, home = governance
    mesh = load_mesh(TOPOLOGIES / "regional")
    apply_zones(client, mesh, home)
    synced = {
        agreement.name: agreement for agreement in sync_catalog(client, mesh, home).agreements
    }

    # emea -> americas for hr.employees.employees is in the shipped cross-region allowances.
    americas = synced["sales-staff-by-region-reads-hr"]
    assert americas.state == "active", americas.note
    # emea -> apac has none: the residency policy denies it, and it stays requested.
    apac = synced["support-staff-by-region-reads-hr"]
    assert apac.state == "requested"
    assert apac.note is not None
    assert "without a cross-region allowance" in apac.note and "apac" in apac.note


@pytest.mark.e2e
def test_the_one_zone_topology_materializes_end_to_end(tmp_path: Path) -> None:
    """Zones applied, then the mesh published through governance on the zone's engine (auto:
    DuckDB for these small SQL products, as the sample mesh's zones), then plan again."""
    root = tmp_path / "one-zone"
    shutil.copytree(TOPOLOGIES / "one-zone", root)
    home = tmp_path / "home"
    embedded = start_embedded(home)
    try:
        with GovernanceClient(embedded.url, embedded.token) as client:
            apply_zones(client, load_mesh(root), home)
    finally:
        embedded.stop()

    started = time.monotonic()
    with governed_platform(root, home) as platform:
        platform.ingest(scale=1.0)
        results = platform.publish()
    seconds = time.monotonic() - started

    assert [(r.product, r.status, r.engine) for r in results] == [
        ("sales.orders", "published", "duckdb"),
        ("finance.revenue_by_region", "published", "duckdb"),
    ], [r.error for r in results]
    lake = Path(zone_root(load_mesh(root).zones["lake"], home))
    orders = DeltaTable(str(lake / "sales" / "orders" / "orders")).to_pyarrow_table()
    totals = DeltaTable(
        str(lake / "finance" / "revenue_by_region" / "revenue_by_region")
    ).to_pyarrow_table()
    assert orders.num_rows == 40
    assert sorted(totals.column("region").to_pylist()) == ["east", "north", "south", "west"]
    assert sum(totals.column("record_count").to_pylist()) == orders.num_rows
    assert (
        abs(
            sum(totals.column("total_amount").to_pylist())
            - sum(orders.column("amount").to_pylist())
        )
        < 1e-6
    )

    embedded = start_embedded(home)
    try:
        with GovernanceClient(embedded.url, embedded.token) as client:
            assert plan_zones(client, load_mesh(root), home).changes == []
    finally:
        embedded.stop()
    print(f"one-zone topology materialized in {seconds:.1f} s")
