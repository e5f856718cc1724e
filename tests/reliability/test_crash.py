"""Kill -9 a publication at random moments: the previous version stays intact, readers never see
half-written data, the next run succeeds, and the catalog agrees with the Delta log.

Each trial runs `meshlake materialize alpha.things` as a user does (a subprocess with its own Spark)
against a governance service in this process (real HTTP), and kills it with SIGKILL at a random
moment between Spark's start and the end of the publication. The suite runs a small sample;
`make reliability` runs 20 trials (MESHLAKE_CRASH_TRIALS).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from deltalake import DeltaTable

from meshlake.governance import (
    GovernanceSettings,
    create_app,
    serve_in_thread,
    sync_catalog,
    upgrade,
)
from meshlake.platform import GovernanceClient, Platform, PortRef, Settings

pytestmark = pytest.mark.integration

TRIALS = int(os.environ.get("MESHLAKE_CRASH_TRIALS", "1"))
SEED = int(os.environ.get("MESHLAKE_CRASH_SEED", "14"))
THINGS = PortRef("alpha", "things", "things")
TOKEN = "mlk_crash-trials-admin"


@pytest.fixture
def governed_project(mini_project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The mini mesh registered in a governance service on 127.0.0.1 (warn gate: the mesh is bare)."""
    monkeypatch.setenv("MESHLAKE_POLICY_GATE", "warn")
    home = mini_project / ".meshlake"
    database = f"sqlite:///{home / 'governance.db'}"
    home.mkdir(parents=True, exist_ok=True)
    upgrade(database)
    app = create_app(GovernanceSettings(database_url=database, bootstrap_token=TOKEN))
    running = serve_in_thread(app)
    settings = Settings(
        project=mini_project, home=home, governance_url=running.url, governance_token=TOKEN
    )
    with GovernanceClient(running.url, TOKEN) as client:
        sync_catalog(client, Platform(settings).mesh, home)
    Platform(settings).ingest(scale=1.0)
    try:
        yield settings
    finally:
        running.stop()
        app.state.engine.dispose()


def _materialize(settings: Settings) -> subprocess.Popen[str]:
    executable = Path(sys.executable).with_name("meshlake")
    env = {
        **os.environ,
        "MESHLAKE_PROJECT": str(settings.project),
        "MESHLAKE_HOME": str(settings.home),
        "MESHLAKE_GOVERNANCE_URL": str(settings.governance_url),
        "MESHLAKE_GOVERNANCE_TOKEN": TOKEN,
        "MESHLAKE_SPARK_MASTER": "local[2]",
    }
    return subprocess.Popen(
        [str(executable), "materialize", "alpha.things"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _published(settings: Settings) -> dict[str, object] | None:
    response = httpx.get(
        f"{settings.governance_url}/api/v1/datasets/{THINGS}/published",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return dict(response.json())


def _assert_consistent(location: str, settings: Settings) -> None:
    """Readers see whole versions only, and what the catalog holds is what the log says."""
    table = DeltaTable(location)
    assert table.to_pyarrow_table().num_rows == 100  # every version holds the whole drop
    published = _published(settings)
    if published is None:
        return
    at = DeltaTable(location, version=int(published["delta_version"]))  # type: ignore[call-overload]
    assert at.to_pyarrow_table().num_rows == published["row_count"]


def test_kill_9_during_publication_never_corrupts_table_or_catalog(
    governed_project: Settings, spark: object
) -> None:
    settings = governed_project
    platform = Platform(settings)
    location = platform.location(THINGS)
    # The version to protect, published in this process on its Spark session (a subprocess would
    # start a JVM of its own only to set the scene); every trial's runs are subprocesses.
    try:
        (first,) = platform.publish(["alpha.things"])
    finally:
        platform.close()
    assert first.status == "published", first.error
    clean_seconds = 0.0
    chooser = random.Random(SEED)
    for trial in range(TRIALS):
        before = DeltaTable(location).version()
        started = time.monotonic()
        process = _materialize(settings)
        # Kill anywhere from Spark's start to the publication's end (measured on the first rerun).
        delay = chooser.uniform(1.0, max(clean_seconds, 12.0))
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        killed = process.returncode == -signal.SIGKILL
        after = DeltaTable(location).version()
        assert after in (before, before + 1), f"trial {trial}: version {before} -> {after}"
        _assert_consistent(location, settings)

        rerun = _materialize(settings)
        output, _ = rerun.communicate(timeout=300)
        clean_seconds = clean_seconds or time.monotonic() - started
        assert rerun.returncode == 0, (
            f"trial {trial} (killed={killed}, after {delay:.1f}s):\n{output}"
        )
        _assert_consistent(location, settings)
        published = _published(settings)
        assert published is not None
        assert published["delta_version"] == DeltaTable(location).version()
