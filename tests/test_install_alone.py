"""meshlake-governance installs alone, from uv.lock with only its declared dependencies, into a fresh
environment: Spark, delta-spark and Great Expectations are absent there, every governance module
imports, and the ``meshlake`` command offers the governance commands."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.integration

ABSENT = ("pyspark", "delta", "great_expectations", "py4j", "dagster")

IMPORT_EVERY_MODULE = """
import importlib, importlib.util, json, pkgutil, sys
import meshlake.governance as governance
failed, names = {}, []
for info in pkgutil.walk_packages(governance.__path__, "meshlake.governance."):
    names.append(info.name)
    try:
        importlib.import_module(info.name)
    except Exception as exc:
        failed[info.name] = repr(exc)
absent = sys.argv[1:]
print(json.dumps({
    "modules": names,
    "failed": failed,
    "installed": [name for name in absent if importlib.util.find_spec(name) is not None],
    "imported": sorted({m.split(".")[0] for m in sys.modules} & set(absent)),
}))
"""


def _uv() -> str:
    # `uv run` names itself in UV; otherwise uv on PATH (make's bootstrap puts it there).
    found = os.environ.get("UV") or shutil.which("uv")
    assert found, "uv is needed to build the environment (it is how `make setup` installs)"
    return found


@pytest.fixture(scope="module")
def governance_alone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh environment with meshlake-governance and its locked dependencies, nothing else
    (offline: uv's cache holds every wheel once the workspace is synced)."""
    environment = tmp_path_factory.mktemp("governance-alone") / "venv"
    result = subprocess.run(
        [_uv(), "sync", "--frozen", "--offline", "--no-dev", "--package", "meshlake-governance"],
        cwd=REPO,
        env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(environment)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return environment


def test_governance_installs_without_spark_and_every_module_imports(
    governance_alone: Path,
) -> None:
    python = governance_alone / "bin" / "python"
    result = subprocess.run(
        [str(python), "-c", IMPORT_EVERY_MODULE, *ABSENT],
        cwd=governance_alone,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(result.stdout)
    assert report["installed"] == [], "the governance install pulled these in"
    assert report["imported"] == []
    assert report["failed"] == {}
    assert "meshlake.governance.api.routes.catalog" in report["modules"]
    assert len(report["modules"]) > 50


def test_the_workspace_environment_does_have_spark() -> None:
    """The contrast: the full environment (orchestration, the platform's spark extra) keeps it."""
    import importlib.util

    assert importlib.util.find_spec("pyspark") is not None
    assert importlib.util.find_spec("great_expectations") is not None


def test_the_meshlake_command_serves_governance_alone(governance_alone: Path) -> None:
    command = governance_alone / "bin" / "meshlake"
    listed = subprocess.run(
        [str(command), "--help"], capture_output=True, text=True, timeout=120, check=True
    )
    assert "governance" in listed.stdout
    assert "sharing" in listed.stdout
    migrated = subprocess.run(
        [str(command), "governance", "migrate"],
        cwd=governance_alone,
        env={
            **os.environ,
            "MESHLAKE_DATABASE_URL": f"sqlite:///{governance_alone.parent / 'governance.db'}",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    assert (governance_alone.parent / "governance.db").stat().st_size > 0


def test_a_spark_command_says_what_to_install_without_a_traceback(governance_alone: Path) -> None:
    result = subprocess.run(
        [str(governance_alone / "bin" / "meshlake"), "ingest"],
        cwd=governance_alone,
        env={**os.environ, "MESHLAKE_PROJECT": str(REPO), "MESHLAKE_HOME": str(governance_alone)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "meshlake-platform[spark]" in result.stderr
    assert "Traceback" not in result.stderr
