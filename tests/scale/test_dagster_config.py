"""The instance at scale as configuration: PostgreSQL through psycopg2, one run per product in the
queue, the freshness daemon on; automation switched on only where the setting says so."""

from __future__ import annotations

import stat
from pathlib import Path

import dagster as dg
import pytest
import yaml

from meshlake.orchestration import zone_definitions
from meshlake.orchestration._instance import (
    PRODUCT_TAG,
    DagsterSettings,
    daemon_home,
    psycopg2_url,
    scale_config,
)
from meshlake.platform import ConfigurationError, Settings
from tests.helpers import REPO

pytestmark = [pytest.mark.scale, pytest.mark.unit]

URL = "postgresql://meshlake:secret@127.0.0.1:5432/dagster"


@pytest.mark.parametrize(
    "given",
    [URL, "postgres://meshlake:secret@127.0.0.1:5432/dagster",
     "postgresql+psycopg://meshlake:secret@127.0.0.1:5432/dagster"],
)  # fmt: skip
def test_dagster_storage_goes_through_psycopg2(given: str) -> None:
    assert psycopg2_url(given) == "postgresql+psycopg2://meshlake:secret@127.0.0.1:5432/dagster"


def test_a_url_that_is_not_postgresql_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigurationError, match="must be a postgresql:// URL") as raised:
        psycopg2_url("mysql://someone:hunter2@db/dagster")
    assert "hunter2" not in str(raised.value)


def test_the_queue_runs_one_run_per_product_and_freshness_is_evaluated() -> None:
    config = scale_config(URL, DagsterSettings(max_concurrent_runs=3))
    assert config["storage"]["postgres"]["postgres_url"].startswith("postgresql+psycopg2://")
    coordinator = config["run_coordinator"]
    assert coordinator["class"] == "QueuedRunCoordinator"
    assert coordinator["config"]["max_concurrent_runs"] == 3
    assert coordinator["config"]["tag_concurrency_limits"] == [
        {"key": PRODUCT_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
    ]
    assert config["freshness"] == {"enabled": True}


def test_the_daemon_home_needs_the_setting(tmp_path: Path) -> None:
    settings = Settings(project=REPO, home=tmp_path)
    with pytest.raises(ConfigurationError, match="MESHLAKE_DAGSTER_POSTGRES_URL is not set"):
        daemon_home(settings, DagsterSettings(postgres_url=None))


def test_the_daemon_home_is_private_and_dagster_accepts_it(tmp_path: Path) -> None:
    settings = Settings(project=REPO, home=tmp_path)
    home = daemon_home(settings, DagsterSettings(postgres_url=URL))
    config = home / "dagster.yaml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600  # it holds the database password
    from dagster._core.instance.config import dagster_instance_config

    validated, _ = dagster_instance_config(str(home))
    assert validated["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert yaml.safe_load(config.read_text())["storage"]["postgres"]["postgres_url"].endswith(
        "/dagster"
    )


def test_schedules_and_sensors_run_on_their_own_only_when_automation_is_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(project=REPO, home=tmp_path)
    for automation, expected in (("false", "STOPPED"), ("true", "RUNNING")):
        monkeypatch.setenv("MESHLAKE_DAGSTER_AUTOMATION", automation)
        repository = zone_definitions("emea", settings).get_repository_def()
        instigators = [*repository.schedule_defs, *repository.sensor_defs]
        assert {item.default_status.value for item in instigators} == {expected}
    schedule = repository.get_schedule_def("hr__employees_schedule")
    assert schedule.job_name == "hr__employees_job"
    job = repository.get_job("hr__employees_job")
    assert job.tags[PRODUCT_TAG] == "hr.employees"
    sensors = {sensor.name for sensor in repository.sensor_defs}
    # emea's products read other products' ports; its ports carry sharing agreements.
    assert sensors == {"emea_new_inputs", "emea_agreement_slas"}
    assert isinstance(repository.get_sensor_def("emea_new_inputs"), dg.SensorDefinition)
