"""The persistent Dagster instance of the embedded default, under the state folder.

Runs started by `meshlake run` and the UI opened by `meshlake ui` share it, so the UI shows the runs,
checks and freshness of the last run.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import yaml

from meshlake.platform import Settings, load_mesh
from meshlake.platform.specs import code_locations


def dagster_home(settings: Settings) -> Path:
    home = settings.state_home() / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(yaml.safe_dump({"telemetry": {"enabled": False}}))
    return home


def persistent_instance(settings: Settings) -> dg.DagsterInstance:
    """The instance in the state folder, opened from its directory: the process's environment
    (DAGSTER_HOME) is left as it was."""
    return dg.DagsterInstance.from_config(str(dagster_home(settings)))


def write_workspace(settings: Settings) -> Path:
    """A Dagster workspace file with one code location per data landing zone."""
    root = settings.project_root()
    from meshlake.platform.specs import MESH_CACHE_DIR

    mesh = load_mesh(root, cache=settings.state_home() / MESH_CACHE_DIR)  # the locations reuse it
    locations = code_locations(mesh, root)
    path = dagster_home(settings) / "workspace.yaml"
    path.write_text(yaml.safe_dump({"load_from": locations}, sort_keys=False))
    return path
