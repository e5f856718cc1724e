"""Which compute a product runs on: its zone's, unless MESHLAKE_SPARK_MASTER says otherwise; and a
Spark Connect URL with no server behind it fails at once, with what to do."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from meshlake.platform import ConfigurationError, Platform, Settings, spark_session
from tests.scale._spark_cluster import free_port

pytestmark = [pytest.mark.scale, pytest.mark.unit]


def _zone_computes(project: Path, lab: str) -> None:
    zones = project / "infra" / "landing-zones"
    text = (zones / "lab.yaml").read_text().replace("sparkMaster: local[2]", f"compute: {lab}")
    (zones / "lab.yaml").write_text(text)
    (zones / "far.yaml").write_text(
        "name: far\nkind: data\nregion: eastus\nstorageRoot: lake/far\n"
        "compute: sc://127.0.0.1:15002\ndomains: []\n"
    )


def test_a_product_runs_on_its_zones_compute(mini_project: Path) -> None:
    _zone_computes(mini_project, "spark://127.0.0.1:7077")
    platform = Platform(Settings(project=mini_project, home=mini_project / ".meshlake"))

    summary = platform.mesh.product("alpha.summary")
    assert platform.compute(summary) == "spark://127.0.0.1:7077"
    # Zones that disagree leave no one compute for the whole mesh: local Spark.
    assert platform.compute() == "local[*]"


def test_meshlake_spark_master_overrides_every_zone(mini_project: Path) -> None:
    _zone_computes(mini_project, "sc://127.0.0.1:15002")
    settings = Settings(
        project=mini_project, home=mini_project / ".meshlake", spark_master="local[2]"
    )
    platform = Platform(settings)

    assert platform.compute(platform.mesh.product("alpha.things")) == "local[2]"
    assert platform.compute() == "local[2]"


def test_a_connect_url_without_a_server_fails_fast_with_what_to_do(tmp_path: Path) -> None:
    url = f"sc://127.0.0.1:{free_port()}"
    started = time.monotonic()

    with pytest.raises(ConfigurationError) as raised:
        spark_session(Settings(home=tmp_path), url)

    assert time.monotonic() - started < 10
    message = str(raised.value)
    assert url in message and "SparkConnectServer" in message and "delta-spark" in message
