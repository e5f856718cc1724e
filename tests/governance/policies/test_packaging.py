"""The wheel carries the policies where the engine looks for them, so an installed service (no
workspace beside it) loads the same bundle as the editable install."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from meshlake.governance.policies import SHIPPED_POLICIES, _engine
from tests.helpers import REPO

pytestmark = pytest.mark.unit


def test_the_wheel_puts_the_policy_folder_where_the_engine_looks_first() -> None:
    project = REPO / "governance"
    wheel = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    included = wheel["targets"]["wheel"]["force-include"]
    package_root = project / "src"
    looked_for = Path(_engine.__file__).resolve().parent / "_shipped"

    assert included == {"policies": str(looked_for.relative_to(package_root))}
    # In the workspace there is no packaged copy: the editable install reads governance/policies/.
    assert not looked_for.exists()
    shipped = SHIPPED_POLICIES
    assert shipped == (project / "policies").resolve()
    assert sorted(path.name for path in shipped.iterdir() if path.is_dir()) == [
        "access",
        "data",
        "lib",
        "publication",
        "review",
        "schemas",
        "sharing",
    ]
