"""The small mesh on a real standalone cluster (a Master and 2 Workers from the pyspark wheel):
the zone's ``compute: spark://...`` is honoured, the Delta jars reach the executors, the Python
transform runs there, and every port holds what local Spark publishes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scale._mesh_runs import publish_on, published_rows, published_schemas
from tests.scale._spark_cluster import Cluster, master_state, standalone_cluster

pytestmark = [pytest.mark.scale, pytest.mark.integration]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with standalone_cluster(tmp_path_factory.mktemp("standalone")) as found:
        yield found


def test_the_small_mesh_on_a_standalone_cluster_publishes_what_local_spark_does(
    cluster: Cluster, mini_project: Path, tmp_path: Path
) -> None:
    url = cluster.url
    local, clustered = publish_on(mini_project, tmp_path / "home", ["local[2]", url])

    for run in (local, clustered):
        statuses = {ref: product["status"] for ref, product in run["products"].items()}
        errors = {ref: product["error"] for ref, product in run["products"].items()}
        assert statuses == {"alpha.things": "published", "alpha.summary": "published"}, errors
    # Each run's products ran on the compute its zone file named, one process switching between.
    assert {s["master"] for s in local["sessions"].values()} == {"local[2]"}
    assert {s["master"] for s in clustered["sessions"].values()} == {url}
    # The cluster ran the application, with an executor on each worker that fetched the Delta
    # jar from the driver (a Delta write needs Delta's classes on the executors).
    apps = [app["name"] for app in master_state(cluster.web_port)["completedapps"]]
    assert apps == ["meshlake"]
    for worker in cluster.worker_dirs:
        logs = [log.read_text() for log in worker.glob("app-*/*/stderr")]
        assert any("delta-spark" in log and "Fetching" in log for log in logs), worker

    assert published_rows(clustered) == published_rows(local)
    assert published_schemas(clustered) == published_schemas(local)
    assert len(published_rows(local)["alpha.summary.summary"]) == 4  # one row per kind
