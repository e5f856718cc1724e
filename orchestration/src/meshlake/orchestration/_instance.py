"""The Dagster instances: the embedded one under the state folder, and the one at scale on PostgreSQL.

Runs started by `meshlake run` and the UI opened by `meshlake ui` share the embedded instance
(SQLite), so the UI shows the runs, checks and freshness of the last run. With
``MESHLAKE_DAGSTER_POSTGRES_URL`` set, `meshlake daemon` runs Dagster's daemon on a second instance
whose runs, events and schedules live in PostgreSQL, with a run queue that holds a product's run
while another run of the same product is in progress.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import dagster as dg
import yaml
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from meshlake.platform import ConfigurationError, Settings, load_mesh
from meshlake.platform.specs import code_locations

PRODUCT_TAG = "meshlake/product"
"""The run tag naming the product a run publishes; the run queue allows one run per value."""


class DagsterSettings(BaseSettings):
    """``MESHLAKE_DAGSTER_*``: the Dagster instance at scale and what its daemon evaluates."""

    model_config = SettingsConfigDict(env_prefix="MESHLAKE_DAGSTER_", extra="ignore")

    postgres_url: SecretStr | None = None
    """Runs, event log and schedules on this PostgreSQL database (``postgresql://...``)."""
    automation: bool = False
    """Schedules and sensors start running when a code location loads (`meshlake daemon` sets
    it); in the embedded default they wait to be switched on in the UI."""
    sensor_interval: int = Field(default=30, ge=1)
    """Seconds between two evaluations of a zone's new-inputs sensor."""
    sla_interval: int = Field(default=900, ge=1)
    """Seconds between two measurements of the sharing agreements' SLAs by the daemon."""
    max_concurrent_runs: int = Field(default=4, ge=1)


def dagster_home(settings: Settings) -> Path:
    """The embedded instance's folder (SQLite under the state folder)."""
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


def daemon_home(settings: Settings, dagster: DagsterSettings | None = None) -> Path:
    """The folder of the instance at scale, with its dagster.yaml written from the settings.

    The file holds the database URL (password included), so it is readable by its owner only.
    """
    dagster = dagster or DagsterSettings()
    if dagster.postgres_url is None:
        raise ConfigurationError(
            "MESHLAKE_DAGSTER_POSTGRES_URL is not set: the Dagster daemon runs on PostgreSQL "
            "(e.g. postgresql://user:password@host:5432/dagster); the embedded default runs "
            "its daemon inside `meshlake ui`"
        )
    if importlib.util.find_spec("dagster_postgres") is None:
        raise ConfigurationError(
            "MESHLAKE_DAGSTER_POSTGRES_URL is set but dagster-postgres is not installed: "
            "install the deploy dependency group (uv sync --group deploy)"
        )
    home = settings.state_home() / "dagster-daemon"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    config.touch(mode=0o600)
    os.chmod(config, 0o600)
    text = yaml.safe_dump(scale_config(dagster.postgres_url.get_secret_value(), dagster))
    config.write_text(text)
    return home


def daemon_instance(
    settings: Settings, dagster: DagsterSettings | None = None
) -> dg.DagsterInstance:
    """The instance at scale (PostgreSQL), as the daemon and its runs see it."""
    return dg.DagsterInstance.from_config(str(daemon_home(settings, dagster)))


def scale_config(postgres_url: str, dagster: DagsterSettings) -> dict[str, Any]:
    """dagster.yaml of the instance at scale: PostgreSQL storage, a run queue with one run at a
    time per product, runs in processes beside the daemon, freshness policies evaluated."""
    return {
        "telemetry": {"enabled": False},
        "storage": {"postgres": {"postgres_url": psycopg2_url(postgres_url)}},
        "run_coordinator": {
            "module": "dagster.core.run_coordinator",
            "class": "QueuedRunCoordinator",
            "config": {
                "max_concurrent_runs": dagster.max_concurrent_runs,
                "tag_concurrency_limits": [
                    {"key": PRODUCT_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
                ],
            },
        },
        "run_launcher": {"module": "dagster.core.launcher", "class": "DefaultRunLauncher"},
        "freshness": {"enabled": True},
    }


def psycopg2_url(url: str) -> str:
    """The URL with the psycopg2 driver: with SQLAlchemy 2.1 and psycopg 3, Dagster's run queue
    never starts a run (its NOTIFY statement is rejected), so its storage uses psycopg2."""
    scheme, separator, rest = url.partition("://")
    if not separator or scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise ConfigurationError(
            "MESHLAKE_DAGSTER_POSTGRES_URL must be a postgresql:// URL "
            f"(postgresql://user:password@host:5432/database), not a {scheme or 'schemeless'!r} one"
        )
    return f"postgresql+psycopg2://{rest}"


def write_workspace(settings: Settings, home: Path | None = None) -> Path:
    """A Dagster workspace file with one code location per data landing zone, in ``home`` (the
    embedded instance's folder by default)."""
    root = settings.project_root()
    from meshlake.platform.specs import MESH_CACHE_DIR

    mesh = load_mesh(root, cache=settings.state_home() / MESH_CACHE_DIR)  # the locations reuse it
    locations = code_locations(mesh, root)
    path = (home or dagster_home(settings)) / "workspace.yaml"
    path.write_text(yaml.safe_dump({"load_from": locations}, sort_keys=False))
    return path
