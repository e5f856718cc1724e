"""Each broken spec, kept as files, gives exactly the problems its expected.txt lists.

A case is a folder: ``overlay/`` files copied over the small test mesh, an optional ``remove.txt`` of
paths to delete, and ``expected.txt`` with the exact report lines.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from meshlake.platform import SpecError, load_mesh, validate_mesh
from tests.helpers import MINI_MESH

pytestmark = pytest.mark.unit

CASES = Path(__file__).parent / "broken"


def _build(case: Path, target: Path) -> Path:
    shutil.copytree(MINI_MESH, target)
    if (case / "overlay").is_dir():
        shutil.copytree(case / "overlay", target, dirs_exist_ok=True)
    if (case / "remove.txt").is_file():
        for relative in (case / "remove.txt").read_text().split():
            (target / relative).unlink()
    return target


@pytest.mark.parametrize("case", sorted(CASES.iterdir()), ids=lambda path: path.name)
def test_broken_spec_reports_its_exact_problems(case: Path, tmp_path: Path) -> None:
    project = _build(case, tmp_path / "mesh")
    expected = (case / "expected.txt").read_text().splitlines()

    report = validate_mesh(project)

    assert [str(problem) for problem in report.problems] == expected
    assert report.mesh is None


def test_there_are_at_least_eight_broken_spec_cases() -> None:
    assert len([case for case in CASES.iterdir() if (case / "expected.txt").is_file()]) >= 8


def test_load_mesh_raises_with_every_problem(tmp_path: Path) -> None:
    project = _build(CASES / "bad_logical_type", tmp_path / "a")
    shutil.copytree(CASES / "unknown_landing_zone" / "overlay", project, dirs_exist_ok=True)

    with pytest.raises(SpecError) as caught:
        load_mesh(project)

    assert len(caught.value.problems) == 2
    message = str(caught.value)
    assert message.startswith("2 problems in the specs:")
    assert "domain.yaml:3: landingZone: unknown landing zone 'labs'" in message
    assert "contract.yaml:15: schema[0].properties[1].logicalType: 'strng'" in message
