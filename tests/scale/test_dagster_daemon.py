"""The Dagster daemon on PostgreSQL runs the mesh: a scheduled run, a sensor run after an input
publishes a new version, a queue that holds a product's second run, freshness evaluated.

One daemon (`meshlake daemon`, as a user starts it) serves every observation, so the wait for the
every-minute schedule (the scheduler ticks on minute boundaries: up to 60 s) overlaps the rest.
Both products run on DuckDB, so no run process starts a JVM.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest

from meshlake.orchestration import PRODUCT_TAG, DagsterSettings, daemon_instance, write_workspace
from meshlake.orchestration._sensors import INPUTS_TAG
from meshlake.platform import Settings
from tests.helpers import make_platform
from tests.postgres_server import INSTALL_HINT
from tests.scale._dagster_daemon import (
    Daemon,
    fresh_database,
    launch,
    quick_mesh,
    wait_all,
)

pytestmark = [pytest.mark.scale, pytest.mark.integration]

THINGS = "alpha.things"
THINGS_JOB = "alpha__things_job"
SUMMARY_JOB = "alpha__summary_job"
SCHEDULE = "alpha__things_schedule"
SENSOR = "lab_new_inputs"
DEADLINE_S = 600
"""Generous: on a loaded machine a run of the small product takes a minute (about 10 s idle)."""
DONE = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def test_the_daemon_runs_schedules_sensors_and_the_queue(
    mini_project: Path, tmp_path: Path
) -> None:
    quick_mesh(mini_project)
    home = tmp_path / "home"
    make_platform(mini_project, home).ingest()  # the raw drop that alpha.things reads
    with fresh_database() as url:
        if url is None:
            pytest.skip(INSTALL_HINT)
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("MESHLAKE_GOVERNANCE", "DAGSTER_"))
        }
        env.update(
            MESHLAKE_PROJECT=str(mini_project),
            MESHLAKE_HOME=str(home),
            MESHLAKE_DAGSTER_POSTGRES_URL=url,
            MESHLAKE_DAGSTER_SENSOR_INTERVAL="5",
            # The small mesh's specs lack what the organisation's policies ask (descriptions,
            # classifications): the gate's warn mode publishes and records the denials.
            MESHLAKE_POLICY_GATE="warn",
        )
        settings = Settings(project=mini_project, home=home)
        instance = daemon_instance(settings, DagsterSettings(postgres_url=url))
        # Its storages create their tables now, before the daemon's would race to.
        instance.get_runs(limit=1)
        instance.all_instigator_state()
        instance.get_freshness_state_records([_things_key()])
        write_workspace(settings, home / "dagster-daemon")  # the runs are submitted right away
        started = time.monotonic()
        daemon = Daemon(env, mini_project, tmp_path / "daemon.log")
        try:
            _observe(instance, daemon, env, mini_project, home, started)
        finally:
            stopped_in = daemon.stop()
            instance.dispose()
        print(f"meshlake daemon stopped in {stopped_in:.1f} s")


def _observe(
    instance: dg.DagsterInstance,
    daemon: Daemon,
    env: dict[str, str],
    project: Path,
    home: Path,
    started: float,
) -> None:
    # Two runs of the same product, submitted together while the daemon starts: the queue lets
    # one run at a time.
    workspace = home / "dagster-daemon" / "workspace.yaml"
    launch_env = {**env, "DAGSTER_HOME": str(home / "dagster-daemon")}
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    launchers = [
        launch(workspace, "lab", THINGS_JOB, run_id, launch_env, project)
        for run_id in (first, second)
    ]
    try:
        for launcher in launchers:
            output, _ = launcher.communicate(timeout=300)
            assert launcher.returncode == 0, output.decode(errors="replace")
    finally:
        for launcher in launchers:
            if launcher.poll() is None:
                launcher.kill()
                launcher.wait()
    print(f"two runs submitted after {time.monotonic() - started:.1f} s")

    def finished(filters: dg.RunsFilter) -> list[dg.RunRecord]:
        records = instance.get_run_records(filters)
        return [record for record in records if record.dagster_run.status in DONE]

    def fresh() -> object | None:
        record = instance.get_freshness_state_records([_things_key()]).get(_things_key())
        return record if record and record.freshness_state.value == "PASS" else None

    # Every observation is awaited at once, under one deadline: each is named when it is missing.
    probes: dict[str, Callable[[], object | None]] = {
        # The sensor's first evaluation records the versions published so far; from then on, a
        # new version of alpha.things (from these runs, or the schedule's) runs alpha.summary.
        "a sensor cursor": lambda: _sensor_cursor(instance),
        "two finished runs of alpha.things": lambda: (
            runs if len(runs := finished(dg.RunsFilter(run_ids=[first, second]))) == 2 else None
        ),
        "a finished sensor run of alpha.summary": lambda: (
            finished(dg.RunsFilter(tags={"dagster/sensor_name": SENSOR})) or None
        ),
        "a finished scheduled run of alpha.things": lambda: (
            finished(dg.RunsFilter(tags={"dagster/schedule_name": SCHEDULE})) or None
        ),
        "a passing freshness evaluation of alpha.things": fresh,
    }
    seen = wait_all(probes, DEADLINE_S, daemon, started)
    queued = seen["two finished runs of alpha.things"]
    sensed = seen["a finished sensor run of alpha.summary"]
    scheduled = seen["a finished scheduled run of alpha.things"]
    freshness = seen["a passing freshness evaluation of alpha.things"]
    assert "alpha.things.things" in str(seen["a sensor cursor"])

    # The queue: both runs carry the product tag, succeeded, and never overlapped, though the
    # later one was submitted while the earlier one was still running.
    earlier, later = sorted(queued, key=lambda record: record.start_time or 0)
    for record in (earlier, later):
        assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS, _failure(instance, record)
        assert record.dagster_run.tags[PRODUCT_TAG] == THINGS
    assert earlier.end_time is not None and later.start_time is not None
    assert later.create_timestamp.timestamp() < earlier.end_time, "submitted after the first ended"
    assert later.start_time >= earlier.end_time, "the queue let two runs of alpha.things overlap"

    # The sensor: the run of alpha.summary says which version of its input it was for.
    sensor_run = sensed[0].dagster_run
    assert sensor_run.job_name == SUMMARY_JOB
    assert sensor_run.status == dg.DagsterRunStatus.SUCCESS, _failure(instance, sensed[0])
    assert sensor_run.tags[PRODUCT_TAG] == "alpha.summary"
    assert sensor_run.tags[INPUTS_TAG].startswith("alpha.things.things@")

    # The schedule: launched by the daemon's scheduler, through the same queue (product tag).
    schedule_run = scheduled[0].dagster_run
    assert schedule_run.job_name == THINGS_JOB
    assert schedule_run.status == dg.DagsterRunStatus.SUCCESS, _failure(instance, scheduled[0])
    assert schedule_run.tags[PRODUCT_TAG] == THINGS

    # Freshness: the daemon's freshness evaluation found the published port within its latency.
    assert freshness is not None

    statuses = instance.get_daemon_statuses()
    for daemon_type in ("SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR", "FRESHNESS_DAEMON"):
        assert daemon_type in statuses, sorted(statuses)


def _things_key() -> dg.AssetKey:
    return dg.AssetKey(["alpha", "things", "things"])


def _sensor_cursor(instance: dg.DagsterInstance) -> str | None:
    for state in instance.all_instigator_state():
        if state.instigator_name == SENSOR and state.instigator_data is not None:
            return getattr(state.instigator_data, "cursor", None)
    return None


def _failure(instance: dg.DagsterInstance, record: dg.RunRecord) -> str:
    """The run's failure messages, for an assertion that a run succeeded."""
    logs = instance.all_logs(record.dagster_run.run_id)
    errors = [entry.message for entry in logs if entry.level >= 40 or "FAILURE" in entry.message]
    return f"run {record.dagster_run.run_id} {record.dagster_run.status}: {errors[-5:]}"
