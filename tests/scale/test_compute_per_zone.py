"""The small mesh on three zones, each on its own compute, published by one process zone after
zone: ``lab`` on local Spark, ``cluster`` on a real standalone cluster (a Master and 2 Workers
from the pyspark wheel) and ``remote`` on a real Spark Connect server (with the Delta package).
The two other zones hold copies of the ``alpha`` domain reading the same raw rows, so each port
must hold exactly what local Spark publishes: same rows, same Delta schema (NOT NULL included).

One module, one child process, one local baseline: the cluster and the server start side by side
(their start-up is most of the cost), and the publications share one Python and one governance.

The suite runs local Spark and Spark Connect (meshlake's own staged write over Connect is the code
most likely to break); the standalone cluster (five JVMs: a Master, two Workers and their
executors) joins them in `make scale` (MESHLAKE_SCALE_TRIAL=full), which runs every zone."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from tests.helpers import MINI_MESH
from tests.scale._mesh_runs import add_zone_copy, publish_zones, published
from tests.scale._spark_cluster import Cluster, connect_server, master_state, standalone_cluster

pytestmark = [pytest.mark.scale, pytest.mark.integration]

FULL = os.environ.get("MESHLAKE_SCALE_TRIAL") == "full"
# On lab (local[2]), remote (sc://) and, in the full trial, cluster (spark://).
DOMAINS = ("alpha", "gamma", "beta") if FULL else ("alpha", "gamma")


@pytest.fixture(scope="module")
def computes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster | None, str]]:
    work = tmp_path_factory.mktemp("computes")
    with ExitStack() as stack:
        server = stack.enter_context(connect_server(work / "connect"))
        cluster = stack.enter_context(standalone_cluster(work / "standalone")) if FULL else None
        server.wait()
        yield cluster, server.url


@pytest.fixture(scope="module")
def runs(
    computes: tuple[Cluster | None, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    cluster, connect_url = computes
    base = tmp_path_factory.mktemp("mesh")
    project = base / "project"
    shutil.copytree(MINI_MESH, project)
    if cluster is not None:
        add_zone_copy(project, "alpha", "cluster", "beta", cluster.url)
    add_zone_copy(project, "alpha", "remote", "gamma", connect_url)
    return publish_zones(project, base / "home", list(DOMAINS))


def test_every_zone_publishes_its_products(runs: dict[str, Any]) -> None:
    for domain in DOMAINS:
        products = runs[domain]["products"]
        errors = {ref: product["error"] for ref, product in products.items()}
        assert {ref: product["status"] for ref, product in products.items()} == {
            f"{domain}.things": "published",
            f"{domain}.summary": "published",
        }, errors


def test_each_zone_ran_on_the_compute_its_file_names(runs: dict[str, Any]) -> None:
    assert {s["master"] for s in runs["alpha"]["sessions"].values()} == {"local[2]"}
    assert all(s["connect"] for s in runs["gamma"]["sessions"].values())


def test_spark_connect_publishes_what_local_spark_does(runs: dict[str, Any]) -> None:
    local = published(runs["alpha"])
    assert len(local["summary.summary"][1]) == 4  # the Python transform: one row per kind
    assert published(runs["gamma"]) == local


if FULL:  # `make scale`: the standalone cluster's zone too

    def test_the_cluster_zone_ran_on_its_executors_with_the_delta_jar(
        runs: dict[str, Any], computes: tuple[Cluster | None, str]
    ) -> None:
        cluster, _ = computes
        assert cluster is not None
        assert {s["master"] for s in runs["beta"]["sessions"].values()} == {cluster.url}
        # The cluster ran the process's application, with an executor on each worker that
        # fetched the Delta jar from the driver (a Delta write needs Delta's classes there).
        apps = master_state(cluster.web_port)["completedapps"]
        assert [app["name"] for app in apps] == ["meshlake"]
        for worker in cluster.worker_dirs:
            logs = [log.read_text() for log in worker.glob("app-*/*/stderr")]
            assert any("Fetching" in log and "delta-spark" in log for log in logs), worker

    def test_the_cluster_publishes_what_local_spark_does(runs: dict[str, Any]) -> None:
        assert published(runs["beta"]) == published(runs["alpha"])
