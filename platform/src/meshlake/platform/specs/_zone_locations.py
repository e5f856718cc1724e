"""The Dagster workspace of a mesh: one code location per data landing zone.

Kept here, free of Dagster, so that ``meshlake zones plan`` (in governance, which never imports
orchestration) and orchestration's workspace writer describe the same file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from meshlake.platform.specs._mesh import Mesh

LOCATIONS_MODULE = "meshlake.orchestration.locations"
"""The module whose attribute ``<zone>`` is that zone's Definitions."""


def workspace_file(state_home: Path) -> Path:
    """Where the embedded Dagster instance reads its workspace (under the state folder)."""
    return state_home / "dagster" / "workspace.yaml"


def code_locations(mesh: Mesh, working_directory: Path) -> list[dict[str, Any]]:
    """The workspace's ``load_from`` entries, in zone order: each data zone's location, named by
    its ``codeLocation`` (the zone's name by default)."""
    return [
        {
            "python_module": {
                "module_name": LOCATIONS_MODULE,
                "attribute": zone.name,
                "location_name": zone.location_name,
                "working_directory": str(working_directory),
            }
        }
        for zone in sorted(mesh.zones.values(), key=lambda zone: zone.name)
        if zone.kind == "data"
    ]
