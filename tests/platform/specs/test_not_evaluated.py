"""Rules meshlake cannot run (type text, type custom, another engine) are notes in validate:
listed as file:line: field: message, failing nothing, and never silently dropped."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from meshlake.platform import PortRef, validate_mesh
from meshlake.platform.quality import not_evaluated_rules, port_rules
from tests.helpers import MINI_MESH

pytestmark = pytest.mark.unit

CASE = Path(__file__).parent / "notes"
THINGS = PortRef("alpha", "things", "things")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    target = tmp_path / "mesh"
    shutil.copytree(MINI_MESH, target)
    shutil.copy(CASE / "contract.yaml", target / "domains/alpha/products/things/contract.yaml")
    return target


def test_rules_meshlake_cannot_run_are_notes_not_problems(project: Path) -> None:
    report = validate_mesh(project)

    assert report.ok, report.problems
    assert [str(note) for note in report.notes] == (CASE / "expected.txt").read_text().splitlines()


def test_they_are_named_like_checks_beside_the_rules_that_run(project: Path) -> None:
    mesh = validate_mesh(project).mesh
    assert mesh is not None
    port = mesh.port(THINGS)

    skipped = not_evaluated_rules(port)

    assert [(rule.name, rule.kind, rule.column, rule.source) for rule in skipped] == [
        ("label_custom", "custom", "label", "contract.yaml:17"),
        ("things_text", "text", None, "contract.yaml:30"),
        ("dbt_freshness", "sql", None, "contract.yaml:32"),
    ]
    assert skipped[0].description == "labels are catalogued"
    ran = [rule.name for rule in port_rules(port)]
    assert ran == ["things_primary_key", "things_row_count"]
    assert not {rule.name for rule in skipped} & set(ran)


def test_a_mesh_without_such_rules_has_no_notes() -> None:
    assert validate_mesh(MINI_MESH).notes == []
