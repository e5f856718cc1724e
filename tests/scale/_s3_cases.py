"""The small mesh with its data landing zone on S3 (a moto server on 127.0.0.1), end to end.

Run by ``test_s3_storage.py`` in a process of its own: this process's one Spark session must carry
the s3a connector from its start, and the test suite's shared session (``tests/conftest.py``'s
``spark``) does not. Here the platform starts it, seeing the zone's ``s3://`` storage root.

``alpha.things`` runs on DuckDB (delta-rs writes on S3, the raw drop is read from S3) and
``alpha.summary`` on Spark (Delta through s3a, reading what delta-rs wrote); governance reads each
Delta log on S3 with delta-rs before it records a version. The last case runs the mesh once more in
a zone that computes on a standalone cluster, its data on S3 (``make s3`` and ``make scale`` only).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable

from meshlake.orchestration._raw import NO_DROP, observe
from meshlake.platform import (
    Platform,
    PortRef,
    ProductResult,
    Settings,
    raw_location,
    stop_spark,
    storage_options,
)
from tests.helpers import MINI_MESH, governed_platform
from tests.scale._s3_server import S3Server, s3_server

pytestmark = [pytest.mark.scale, pytest.mark.integration]

BUCKET = "lake"
ROOT = f"s3://{BUCKET}/lab"
THINGS = PortRef("alpha", "things", "things")
SUMMARY = PortRef("alpha", "summary", "summary")
_PARQUET = re.compile(r"part-[^/]*\.parquet$")


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        server.create_bucket(BUCKET)
        wanted = {**server.environment(), "MESHLAKE_POLICY_GATE": "warn"}  # the mini mesh is bare
        saved = {name: os.environ.get(name) for name in wanted}
        os.environ.update(wanted)
        try:
            yield server
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


@pytest.fixture(scope="module")
def platform(s3: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    project = tmp_path_factory.mktemp("s3-mesh") / "project"
    shutil.copytree(MINI_MESH, project)
    zone = project / "infra" / "landing-zones" / "lab.yaml"
    zone.write_text(zone.read_text().replace("storageRoot: lake/lab", f"storageRoot: {ROOT}"))
    product = project / "domains" / "alpha" / "products" / "things" / "product.yaml"
    product.write_text(product.read_text() + "  - property: engine\n    value: duckdb\n")
    try:
        with governed_platform(project) as platform:
            yield platform
    finally:
        # Before the S3 server goes: a session left to the interpreter's exit waits on s3a.
        stop_spark()


def _table(location: str, version: int | None = None) -> DeltaTable:
    return DeltaTable(location, version=version, storage_options=storage_options(location))


def _data_keys(s3: S3Server, ref: PortRef, zone: str = "lab") -> set[str]:
    prefix = f"{zone}/{ref.domain}/{ref.product}/{ref.port}/"
    return {key for key in s3.keys(BUCKET, prefix) if _PARQUET.search(key)}


def _referenced(location: str, version: int | None = None) -> set[str]:
    prefix = location.removeprefix(f"s3://{BUCKET}/")
    paths = _table(location, version).get_add_actions(flatten=True).column("path").to_pylist()
    return {f"{prefix}/{path}" for path in paths}


def _published_on_s3(platform: Platform, s3: S3Server, result: ProductResult, ref: PortRef) -> None:
    """``result`` published ``ref``'s version 0 on S3, as governance read it from the log there,
    under a writer lease taken and given back."""
    from meshlake.platform._lease import holder_of

    assert result.status == "published", result.error
    location = platform.location(ref)
    assert location == f"{ROOT}/{ref.domain}/{ref.product}/{ref.port}"
    table = _table(location)
    assert table.version() == 0
    commit = table.history(1)[0]
    assert json.loads(commit["userMetadata"])["meshlake.run_id"] == result.run_id
    assert _data_keys(s3, ref) == _referenced(location)
    client = platform.governance(platform.mesh.product(f"{ref.domain}.{ref.product}"))
    assert client.published_version(ref) == 0
    lease = holder_of(f"{ROOT}/_leases/{ref.domain}/{ref.product}")
    assert lease["state"] == "released"
    assert lease["run_id"] == result.run_id
    # Nothing of the zone was written to the local disk.
    assert not (Path(platform.state_home) / "lake").exists()


def test_duckdb_publishes_on_s3_and_governance_records_the_log(
    platform: Platform, s3: S3Server
) -> None:
    platform.ingest(scale=1.0)
    assert s3.keys(BUCKET, "lab/_raw/alpha/things_raw/") == [
        "lab/_raw/alpha/things_raw/part-00000.csv"
    ]

    # The raw source's Dagster observation lists the drop on S3: one file, its size and time.
    zone = platform.mesh.zones["lab"]
    observed = observe(raw_location(zone, "alpha", "things_raw", platform.state_home))
    assert observed.metadata["meshlake/files"] == 1
    assert observed.metadata["meshlake/bytes"] > 0
    assert observed.data_version is not None and observed.data_version.value != NO_DROP

    (result,) = platform.publish(["alpha.things"])

    assert result.engine == "duckdb"
    _published_on_s3(platform, s3, result, THINGS)
    (port,) = result.ports
    assert port.rows == 100


def test_spark_publishes_on_s3_and_governance_records_the_log(
    platform: Platform, s3: S3Server
) -> None:
    (result,) = platform.publish(["alpha.summary"])

    assert result.engine == "spark"
    _published_on_s3(platform, s3, result, SUMMARY)
    (port,) = result.ports
    assert port.rows == 4


def test_a_new_version_is_recorded_and_freshness_reads_it_on_s3(platform: Platform) -> None:
    (result,) = platform.publish(["alpha.things"])

    assert result.status == "published", result.error
    (port,) = result.ports
    assert port.version == 1
    client = platform.governance(platform.mesh.product("alpha.things"))
    assert client.published_version(THINGS) == 1
    fresh = client.request("GET", "/api/v1/datasets/alpha.things.things/freshness")
    assert fresh["delta_version"] == 1
    assert fresh["published_version"] == 1
    assert fresh["row_count"] == 100
    assert fresh["location"] == platform.location(THINGS)


def test_staged_duckdb_files_on_s3_are_removed_when_not_committed(
    platform: Platform, s3: S3Server
) -> None:
    from meshlake.platform._duck._staged import stage as stage_duck

    things = platform.location(THINGS)
    kept = _data_keys(s3, THINGS)
    staged_duck = stage_duck(_table(things).to_pyarrow_table(), things, "append")
    assert len(_data_keys(s3, THINGS)) == len(kept) + 1
    staged_duck.abort()
    assert _data_keys(s3, THINGS) == kept


def test_staged_spark_files_on_s3_are_removed_when_not_committed(
    platform: Platform, s3: S3Server
) -> None:
    from meshlake.platform._staged import stage as stage_spark

    spark = platform.spark()
    location = platform.location(SUMMARY)
    before = _data_keys(s3, SUMMARY)
    staged = stage_spark(spark, spark.read.format("delta").load(location), location, "append")
    assert staged is not None
    assert len(_data_keys(s3, SUMMARY)) > len(before)  # written, not committed
    staged.abort()
    assert _data_keys(s3, SUMMARY) == before
    assert _table(location).version() == 0


def test_vacuum_removes_old_versions_files_on_s3_with_the_hour_floor_lowered(
    platform: Platform, s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Objects cannot be aged on the S3 server, so the one-hour floor under every retention is
    lowered to zero for this test: what it checks is that vacuum lists, chooses and deletes on
    S3 through Hadoop's s3a, keeping every file the current version needs."""
    from meshlake.platform import _vacuum

    monkeypatch.setattr(_vacuum, "MIN_RETENTION", timedelta(0))
    location = platform.location(THINGS)
    old = _referenced(location, 0)
    current = _referenced(location)
    assert old and not old & current  # an overwrite: version 1 replaced every file

    result = _vacuum.vacuum_table(platform.spark(), location, timedelta(0))

    assert result is not None
    removed = {path.split(f"{BUCKET}/", 1)[1] for path in result.files}
    assert removed == old
    assert _data_keys(s3, THINGS) == current
    assert _table(location).to_pyarrow_table().num_rows == 100


def test_a_second_writer_of_a_product_on_s3_is_refused_while_the_first_holds_it(
    platform: Platform,
) -> None:
    from meshlake.platform._lease import WriterBusy, acquire, holder_of, release

    lease = f"{ROOT}/_leases/alpha/things"
    acquire(lease, "alpha.things", "other-run", 60.0)
    try:
        with pytest.raises(WriterBusy, match="other-run"):
            acquire(lease, "alpha.things", "third-run", 60.0)
        (refused,) = platform.publish(["alpha.things"])
        assert refused.status == "failed"
        assert "is being published by another run (other-run" in (refused.error or "")
        assert _table(platform.location(THINGS)).version() == 1  # nothing written
    finally:
        release(lease, "other-run")
    assert holder_of(lease)["state"] == "released"
    # A lease left by a killed run does not block once it has expired.
    acquire(lease, "alpha.things", "killed-run", 0.001)
    acquire(lease, "alpha.things", "next-run", 60.0)
    assert holder_of(lease)["run_id"] == "next-run"
    release(lease, "next-run")


_RACER = """
import sys, time
from meshlake.platform._lease import WriterBusy, acquire
lease, run_id, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
time.sleep(max(0.0, start - time.time()))
try:
    acquire(lease, "alpha.race", run_id, 60.0)
except WriterBusy:
    print("busy")
else:
    print("held")
"""


def test_of_runs_taking_the_lease_at_the_same_moment_exactly_one_gets_it(s3: S3Server) -> None:
    lease = f"{ROOT}/_leases/alpha/race"
    start = time.time() + 8.0  # every process imported and waiting by then
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, lease, f"racer-{index}", str(start)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for index in range(3)
    ]
    outcomes = sorted(racer.communicate(timeout=120)[0].strip() for racer in racers)

    assert outcomes == ["busy", "busy", "held"]
    from meshlake.platform._lease import holder_of

    assert holder_of(lease)["state"] == "held"


CLUSTER_ROOT = f"s3://{BUCKET}/cluster"


def test_spark_on_a_standalone_cluster_publishes_on_s3(
    s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scale-out in one: a zone computing on a standalone cluster (a Master and 2 Workers) with
    its storage root on S3. The executors run the Python transform and read and write the objects
    through s3a, with the connector's jars fetched from the driver. Last in this module: the
    process's local session is stopped for the cluster's."""
    from tests.scale._spark_cluster import master_state, spark_env, standalone_cluster

    project = tmp_path / "project"
    shutil.copytree(MINI_MESH, project, ignore=shutil.ignore_patterns("__pycache__"))
    product = project / "domains" / "alpha" / "products" / "things" / "product.yaml"
    product.write_text(product.read_text() + "  - property: engine\n    value: duckdb\n")
    from meshlake.orchestration._governed import governed

    for name in ("SPARK_LOCAL_IP", "PYSPARK_PYTHON"):  # executors call back on the loopback
        monkeypatch.setenv(name, spark_env(tmp_path)[name])
    monkeypatch.delenv("MESHLAKE_SPARK_MASTER", raising=False)
    stop_spark()
    with standalone_cluster(tmp_path / "standalone") as cluster:
        zone = project / "infra" / "landing-zones" / "lab.yaml"
        zone.write_text(
            zone.read_text()
            .replace("storageRoot: lake/lab", f"storageRoot: {CLUSTER_ROOT}")
            .replace("sparkMaster: local[2]", f"compute: {cluster.url}")
        )
        # Settings of its own: the tests' platforms run on local[2], whatever the zones say.
        settings = Settings(project=project, home=project / ".meshlake")
        try:
            with governed(settings) as governed_settings:
                on_cluster = Platform(governed_settings)
                try:
                    on_cluster.ingest(scale=1.0)
                    things, summary = on_cluster.publish(["alpha.things", "alpha.summary"])
                    summary_spec = on_cluster.mesh.product("alpha.summary")
                    assert on_cluster.compute(summary_spec) == cluster.url
                finally:
                    on_cluster.close()
        finally:
            stop_spark()
        apps = master_state(cluster.web_port)["completedapps"]

    assert (things.status, things.engine) == ("published", "duckdb"), things.error
    assert (summary.status, summary.engine) == ("published", "spark"), summary.error
    location = f"{CLUSTER_ROOT}/alpha/summary/summary"
    written = _table(location)
    assert written.version() == 0
    assert json.loads(written.history(1)[0]["userMetadata"])["meshlake.run_id"] == summary.run_id
    assert _data_keys(s3, SUMMARY, "cluster") == _referenced(location)
    # What the transform must give: things per kind, computed here from the published input.
    source = _table(f"{CLUSTER_ROOT}/alpha/things/things").to_pyarrow_table()
    expected = source.group_by("kind").aggregate([("kind", "count"), ("weight", "sum")])
    got = written.to_pyarrow_table().select(["things", "total_weight", "kind"])
    assert _rows(got) == _rows(expected.select(["kind_count", "weight_sum", "kind"]))
    # The cluster ran the application, each Worker's executor fetching the s3a connector.
    assert [app["name"] for app in apps] == ["meshlake"]
    for worker in cluster.worker_dirs:
        logs = [log.read_text() for log in worker.glob("app-*/*/stderr")]
        assert any("Fetching" in log and "hadoop-aws" in log for log in logs), worker


def _rows(table: Any) -> list[tuple[Any, ...]]:
    """A table's rows, sorted, numbers with a fraction as floats rounded (the contract types the
    sum a double; summed apart, doubles differ in their last bits)."""
    return sorted(
        tuple(
            round(float(value), 6) if isinstance(value, float | Decimal) else value for value in row
        )
        for row in zip(*(table[name].to_pylist() for name in table.column_names), strict=True)
    )
