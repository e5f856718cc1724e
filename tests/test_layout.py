"""The workspace layout keeps the standard library's ``platform`` module reachable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.unit

TOP_LEVEL_PARTS = (
    "platform",
    "governance",
    "orchestration",
    "domains",
    "infra",
    "tests",
    "benchmarks",
)


def test_import_platform_from_the_repository_root_gives_the_standard_library() -> None:
    # "" first on sys.path, as pytest, dagster and `python -c` put the working directory there.
    code = "import platform, sys; print(platform.__file__); print(platform.python_version())"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    module_file, version = result.stdout.split()
    assert not module_file.startswith(str(REPO)), module_file
    assert version.startswith("3.11")


@pytest.mark.parametrize("folder", TOP_LEVEL_PARTS)
def test_no_top_level_folder_is_a_package(folder: str) -> None:
    assert not (REPO / folder / "__init__.py").exists()


def test_meshlake_is_one_namespace_over_every_part() -> None:
    import meshlake
    import meshlake.governance
    import meshlake.orchestration
    import meshlake.platform

    assert not hasattr(meshlake, "__file__") or meshlake.__file__ is None
    parts = {Path(path).parts[-3] for path in meshlake.__path__}
    assert {"platform", "governance", "orchestration"} <= parts
