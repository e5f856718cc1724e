"""The meshlake command, run as a user runs it (a subprocess), on the test mesh and on broken specs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import MINI_MESH

pytestmark = pytest.mark.unit

BROKEN = Path(__file__).parents[1] / "specs" / "broken"


def meshlake(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).with_name("meshlake")
    env = {**os.environ, "MESHLAKE_PROJECT": str(project), "COLUMNS": "200"}
    return subprocess.run(
        [str(executable), *args], capture_output=True, text=True, env=env, check=False
    )


def test_validate_passes_on_a_valid_mesh() -> None:
    result = meshlake(MINI_MESH, "validate")

    assert result.returncode == 0, result.stderr
    assert (
        "ok: 7 spec files; 2 landing zones, 1 domains, 2 products, 2 output ports" in result.stdout
    )


def test_validate_fails_with_file_line_messages(tmp_path: Path) -> None:
    project = tmp_path / "mesh"
    shutil.copytree(MINI_MESH, project)
    shutil.copytree(BROKEN / "bad_logical_type" / "overlay", project, dirs_exist_ok=True)

    result = meshlake(project, "validate")

    assert result.returncode == 1
    assert (
        result.stdout.splitlines()
        == (BROKEN / "bad_logical_type" / "expected.txt").read_text().splitlines()
    )
    assert "1 problem(s) in 7 spec files" in result.stderr


def test_list_shows_products_in_dependency_order() -> None:
    result = meshlake(MINI_MESH, "list")

    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "alpha" in line]
    assert "things" in lines[0] and "raw:things_raw" in lines[0]
    assert "summary" in lines[1] and "alpha.things.things" in lines[1]


def test_unknown_product_is_a_clear_error() -> None:
    result = meshlake(MINI_MESH, "materialize", "alpha.nothing")

    assert result.returncode == 1
    assert (
        "error: no product 'alpha.nothing' in the mesh; known: alpha.summary, alpha.things"
        in result.stderr
    )


def test_outside_a_project_the_error_says_what_to_do(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MESHLAKE_PROJECT"}
    executable = Path(sys.executable).with_name("meshlake")
    result = subprocess.run(
        [str(executable), "validate"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )

    assert result.returncode == 1
    assert "no meshlake project here" in result.stderr and "MESHLAKE_PROJECT" in result.stderr


@pytest.mark.integration
def test_materialize_is_governed_and_a_denial_writes_nothing(mini_project: Path) -> None:
    # The bare mini mesh (no column descriptions, no SLAs) is denied by the enforcing gate. The
    # gate is the engines' one publish path; DuckDB spares this process a JVM (Spark's denial is
    # tests/platform/test_publish.py's).
    product = mini_project / "domains/alpha/products/things/product.yaml"
    product.write_text(product.read_text() + "  - property: engine\n    value: duckdb\n")

    result = meshlake(mini_project, "materialize", "alpha.things")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "alpha.things failed: alpha.things: governance denied the publication" in result.stdout
    assert "column_documentation [deny]" in result.stdout
    table = mini_project / ".meshlake" / "lake" / "lab" / "alpha" / "things" / "things"
    assert not list(table.glob("_delta_log/*.json"))
    assert not list(table.glob("*.parquet"))
