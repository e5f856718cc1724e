"""The small mesh on a real Spark Connect server (spark-submit with the Delta package): the zone's
``compute: sc://...`` is honoured beside a classic local session in the same process, the Python
transform runs through the Connect client, and every port holds what local Spark publishes, with
the contract's required columns NOT NULL in the Delta log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scale._mesh_runs import publish_on, published_rows, published_schemas
from tests.scale._spark_cluster import connect_server

pytestmark = [pytest.mark.scale, pytest.mark.integration]


@pytest.fixture(scope="module")
def connect_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with connect_server(tmp_path_factory.mktemp("connect")) as url:
        yield url


def test_the_small_mesh_on_spark_connect_publishes_what_local_spark_does(
    connect_url: str, mini_project: Path, tmp_path: Path
) -> None:
    local, remote = publish_on(mini_project, tmp_path / "home", ["local[2]", connect_url])

    for run in (local, remote):
        statuses = {ref: product["status"] for ref, product in run["products"].items()}
        errors = {ref: product["error"] for ref, product in run["products"].items()}
        assert statuses == {"alpha.things": "published", "alpha.summary": "published"}, errors
    assert not any(s["connect"] for s in local["sessions"].values())
    assert all(s["connect"] for s in remote["sessions"].values())

    assert published_rows(remote) == published_rows(local)
    assert published_schemas(remote) == published_schemas(local)
    assert len(published_rows(local)["alpha.summary.summary"]) == 4  # one row per kind
