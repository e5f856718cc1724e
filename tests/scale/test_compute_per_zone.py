"""The small mesh on three zones, each on its own compute, published by one process zone after
zone: ``lab`` on local Spark, ``cluster`` on a real standalone cluster (a Master and 2 Workers
from the pyspark wheel) and ``remote`` on a real Spark Connect server (with the Delta package).
The two other zones hold copies of the ``alpha`` domain reading the same raw rows, so each port
must hold exactly what local Spark publishes: same rows, same Delta schema (NOT NULL included).

One module, one child process, one local baseline: the cluster and the server start side by side
(their start-up is most of the cost), and the publications share one Python and one governance."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from tests.helpers import MINI_MESH
from tests.scale._mesh_runs import add_zone_copy, publish_zones, published
from tests.scale._spark_cluster import Cluster, connect_server, master_state, standalone_cluster

pytestmark = [pytest.mark.scale, pytest.mark.integration]

DOMAINS = ("alpha", "beta", "gamma")  # on lab (local[2]), cluster (spark://), remote (sc://)


@pytest.fixture(scope="module")
def computes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, str]]:
    work = tmp_path_factory.mktemp("computes")
    with ExitStack() as stack:
        server = stack.enter_context(connect_server(work / "connect"))
        cluster = stack.enter_context(standalone_cluster(work / "standalone"))
        server.wait()
        yield cluster, server.url


@pytest.fixture(scope="module")
def runs(computes: tuple[Cluster, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    cluster, connect_url = computes
    base = tmp_path_factory.mktemp("mesh")
    project = base / "project"
    shutil.copytree(MINI_MESH, project)
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


def test_each_zone_ran_on_the_compute_its_file_names(
    runs: dict[str, Any], computes: tuple[Cluster, str]
) -> None:
    cluster, _ = computes
    assert {s["master"] for s in runs["alpha"]["sessions"].values()} == {"local[2]"}
    assert {s["master"] for s in runs["beta"]["sessions"].values()} == {cluster.url}
    assert all(s["connect"] for s in runs["gamma"]["sessions"].values())
    # The cluster ran the process's application, with an executor on each worker that fetched
    # the Delta jar from the driver (a Delta write needs Delta's classes on the executors).
    assert [app["name"] for app in master_state(cluster.web_port)["completedapps"]] == ["meshlake"]
    for worker in cluster.worker_dirs:
        logs = [log.read_text() for log in worker.glob("app-*/*/stderr")]
        assert any("Fetching" in log and "delta-spark" in log for log in logs), worker


def test_the_cluster_and_spark_connect_publish_what_local_spark_does(
    runs: dict[str, Any],
) -> None:
    local = published(runs["alpha"])
    assert len(local["summary.summary"][1]) == 4  # the Python transform: one row per kind
    assert published(runs["beta"]) == local
    assert published(runs["gamma"]) == local
