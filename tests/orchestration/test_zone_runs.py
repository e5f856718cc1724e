"""How `meshlake run` splits a plan into runs of the zones' jobs, and what a raw drop's observation
reports."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest

from meshlake.orchestration._raw import NO_DROP, observe
from meshlake.orchestration._run import zone_waves
from meshlake.platform import load_mesh
from tests.helpers import REPO

pytestmark = pytest.mark.unit

MESH = load_mesh(REPO)


def _names(waves: list) -> list[tuple[str, list[str]]]:
    return [(zone.name, [str(product.ref) for product in wave]) for zone, wave in waves]


def test_the_sample_mesh_takes_one_run_per_zone_upstream_zone_first() -> None:
    waves = _names(zone_waves(MESH.ordered()))

    # americas' account_manager_performance reads hr.employees (emea): emea runs first.
    assert [zone for zone, _ in waves] == ["emea", "americas"]
    assert sorted(waves[0][1]) == sorted(
        str(p.ref) for p in MESH.ordered() if p.zone.name == "emea"
    )
    assert waves[1][1] == [str(p.ref) for p in MESH.ordered() if p.zone.name == "americas"]


def test_a_selection_runs_only_its_zones() -> None:
    plan = [MESH.product(ref) for ref in MESH.products if str(ref).startswith("sales.")]
    assert [zone for zone, _ in _names(zone_waves(plan))] == ["americas"]


def test_a_product_never_runs_before_a_planned_input() -> None:
    waves = zone_waves(MESH.ordered())
    seen: set[str] = set()
    for _, wave in waves:
        names = {str(product.ref) for product in wave}
        for product in wave:
            for binding in product.inputs:
                if binding.output is not None:
                    assert str(binding.output.product_ref) in seen | names, product.ref
        seen |= names


def test_an_observation_reports_files_last_change_and_a_version_that_follows_them(
    tmp_path: Path,
) -> None:
    assert observe(str(tmp_path)).data_version == dg.DataVersion(NO_DROP)
    drop = tmp_path / "part-00000.csv"
    drop.write_text("a,b\n1,2\n")
    os.utime(drop, (1_700_000_000, 1_700_000_000))

    first = observe(str(tmp_path))

    assert first.metadata["dagster/last_updated_timestamp"].value == 1_700_000_000
    assert first.metadata["meshlake/files"] == 1
    assert first.metadata["meshlake/bytes"] == 8
    assert observe(str(tmp_path)).data_version == first.data_version
    drop.write_text("a,b\n1,2\n3,4\n")
    assert observe(str(tmp_path)).data_version != first.data_version
