"""Shared fixtures: the project's paths, the standards' schemas, one Spark session per test process."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import MINI_MESH, REPO
from tests.openlineage_schemas import OpenLineageSchemas
from tests.postgres_server import stop_postgres

SPECS = REPO / "tests" / "fixtures" / "specs"
"""A copy of the standards' JSON Schemas with their licences, so a fresh clone validates against
them (MESHLAKE_SHARED_SPECS points at another copy, e.g. newer releases)."""


LONG_MODULES = (
    "tests/scale/test_compute_per_zone.py",
    "tests/scale/test_dagster_daemon.py",
    "tests/scale/test_s3_storage.py",
    "tests/ui/",
    "tests/e2e/",
    "tests/reliability/",
    "tests/test_install_alone.py",
)
"""Modules of minutes (clusters, the Dagster daemon's ticks, S3, a browser, whole runs, installs):
collected first, so that pytest-xdist (``--no-loadscope-reorder``, see the Makefile) hands them
out at the start and the short files fill the end, instead of leaving one worker alone with a
long file at the end (xdist's default order puts files with few tests last)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(LONG_MODULES))  # stable otherwise


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stops the throwaway PostgreSQL server, if a governance test started one."""
    stop_postgres()


@pytest.fixture(scope="session")
def shared_specs() -> Path:
    """The official JSON Schemas (OpenLineage, ODCS, ODPS), for validation."""
    configured = os.environ.get("MESHLAKE_SHARED_SPECS")
    folder = Path(configured) if configured else SPECS
    assert (folder / "odcs").is_dir(), f"the standards' JSON Schemas are not at {folder}"
    return folder


@pytest.fixture(scope="session")
def openlineage_schemas(shared_specs: Path) -> OpenLineageSchemas:
    """The OpenLineage core and facet schemas, for validating emitted events."""
    return OpenLineageSchemas(shared_specs / "openlineage")


@pytest.fixture(scope="session")
def spark_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("spark-home")


@pytest.fixture(scope="session")
def spark(spark_home: Path) -> Iterator[object]:
    """The test process's one Spark session (starting Spark costs seconds; never one per test)."""
    from meshlake.platform import Settings, spark_session, stop_spark

    session = spark_session(Settings(home=spark_home, spark_master="local[2]"))
    yield session
    stop_spark()


@pytest.fixture
def mini_project(tmp_path: Path) -> Path:
    """A private copy of the small test mesh, free to edit."""
    target = tmp_path / "project"
    shutil.copytree(MINI_MESH, target)
    return target
