"""The large-mesh benchmark's generator, proven at a small size (issue 19, item 6).

benchmarks/large_mesh.py measures a generated mesh of 1,000 products; its figures mean something only
if that mesh is a valid one. Here the same generator writes 30 products in 3 zones, `meshlake
validate` (a subprocess, as users run it) accepts it, and Dagster builds every zone's code location
from it with an asset per generated port and a schedule per scheduled product.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from benchmarks.large_mesh import Summary, generate

pytestmark = pytest.mark.scale

PRODUCTS, ZONES = 30, 3


@pytest.fixture(scope="module")
def small_mesh(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Summary]:
    root = tmp_path_factory.mktemp("large-mesh")
    return root, generate(root, PRODUCTS, ZONES)


def _environment(root: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MESHLAKE_")}
    env.update({"MESHLAKE_PROJECT": str(root), "MESHLAKE_HOME": str(root / ".meshlake")})
    return env


def test_the_generated_mesh_has_the_promised_shape(small_mesh: tuple[Path, Summary]) -> None:
    root, summary = small_mesh
    assert summary.products == PRODUCTS
    assert summary.domains == ZONES * 4
    assert len(list((root / "infra" / "landing-zones").glob("*.yaml"))) == ZONES + 1
    products = sorted(root.glob("domains/*/products/*/product.yaml"))
    assert len(products) == PRODUCTS
    reads_other_products = 0
    for file in products:
        product = yaml.safe_load(file.read_text())
        assert 1 <= len(product["outputPorts"]) <= 3
        for port in product["inputPorts"]:
            if ".raw." not in port["contractId"]:
                # A DAG: a product reads only ports of products written before it (names end
                # in their position).
                upstream = port["contractId"].split(".")[1]
                assert _position(upstream) < _position(product["name"])
                reads_other_products += 1
    assert reads_other_products > PRODUCTS // 2
    for port in summary.ports_by_ref.values():
        assert 5 <= len(port.columns) <= 30
    contracts = [
        yaml.safe_load(file.read_text()) for file in root.glob("domains/*/products/*/contract.yaml")
    ]
    contracts += [
        yaml.safe_load(f.read_text()) for f in root.glob("domains/*/products/*/contracts/*")
    ]
    assert len(contracts) == summary.ports
    classifications = {
        column["classification"]
        for contract in contracts
        for column in contract["schema"][0]["properties"]
    }
    assert {"personal", "sensitive", "internal"} <= classifications
    assert all(contract["schema"][0]["quality"] for contract in contracts)
    assert summary.agreements == len(list(root.glob("domains/*/agreements/*.yaml"))) > 0
    glossary = yaml.safe_load((root / "infra/landing-zones/governance/glossary.yaml").read_text())
    assert len(glossary["terms"]) == summary.terms > 0


def _position(product: str) -> int:
    return int(product.rsplit("_", 1)[1])


def test_the_generator_is_deterministic(small_mesh: tuple[Path, Summary], tmp_path: Path) -> None:
    root, _ = small_mesh
    generate(tmp_path / "again", PRODUCTS, ZONES)
    comparison = filecmp.dircmp(root / "domains", tmp_path / "again" / "domains")
    assert not comparison.diff_files and not comparison.left_only and not comparison.right_only


def test_meshlake_validate_accepts_the_generated_mesh(small_mesh: tuple[Path, Summary]) -> None:
    root, summary = small_mesh
    command = shutil.which("meshlake", path=str(Path(sys.executable).parent))
    assert command is not None
    done = subprocess.run(
        [command, "validate"], env=_environment(root), cwd=root, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    said = " ".join(done.stdout.split())
    assert f"{PRODUCTS} products, {summary.ports} output ports" in said
    assert f"{summary.agreements} sharing agreements" in said


def test_every_zone_code_location_loads(
    small_mesh: tuple[Path, Summary], monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster as dg

    from meshlake.orchestration import zone_definitions
    from meshlake.platform import Settings

    root, summary = small_mesh
    monkeypatch.setenv("MESHLAKE_PROJECT", str(root))
    monkeypatch.setenv("MESHLAKE_HOME", str(root / ".meshlake"))
    keys: set[dg.AssetKey] = set()
    schedules = 0
    for index in range(ZONES):
        repository = zone_definitions(f"zone_{index:02d}", Settings()).get_repository_def()
        keys |= set(repository.asset_graph.get_all_asset_keys())
        schedules += len(repository.schedule_defs)
    ports = {dg.AssetKey(ref.split(".")) for ref in summary.ports_by_ref}
    assert ports <= keys
    assert schedules == summary.schedules
