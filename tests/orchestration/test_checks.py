"""Asset checks declared from the specs: a rule meshlake cannot run is a check, never dropped."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from meshlake.orchestration._checks import (
    DRIFT_CHECK,
    SCHEMA_CHECK,
    not_evaluated_result,
    port_check_specs,
)
from meshlake.platform import PortRef, validate_mesh
from meshlake.platform.quality import not_evaluated_rules, port_rules
from tests.helpers import MINI_MESH

pytestmark = pytest.mark.unit

NOTES = Path(__file__).parents[1] / "platform" / "specs" / "notes" / "contract.yaml"
THINGS = PortRef("alpha", "things", "things")


def test_rules_not_evaluated_are_declared_non_blocking_and_answered_as_skipped(
    tmp_path: Path,
) -> None:
    project = tmp_path / "mesh"
    shutil.copytree(MINI_MESH, project)
    shutil.copy(NOTES, project / "domains/alpha/products/things/contract.yaml")
    mesh = validate_mesh(project).mesh
    assert mesh is not None
    port = mesh.port(THINGS)
    skipped = not_evaluated_rules(port)

    specs = {spec.name: spec for spec in port_check_specs(port)}

    assert skipped, "the case contract holds rules meshlake cannot run"
    names = [rule.name for rule in port_rules(port)] + [rule.name for rule in skipped]
    assert set(specs) == {SCHEMA_CHECK, DRIFT_CHECK, *names}
    for rule in skipped:
        assert not specs[rule.name].blocking
        assert (specs[rule.name].description or "").startswith("not evaluated: ")
        result = not_evaluated_result(rule)
        assert result.passed and result.severity == dg.AssetCheckSeverity.WARN
        assert result.metadata["skipped"].value is True
