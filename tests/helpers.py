"""Paths and builders the tests share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from meshlake.platform import Platform, Settings

REPO = Path(__file__).resolve().parents[1]
MINI_MESH = REPO / "tests" / "fixtures" / "mini_mesh"


def make_platform(project: Path, home: Path | None = None) -> Platform:
    """A Platform over ``project`` whose state lives in ``home`` (default: the project's .meshlake)."""
    settings = Settings(
        project=project, home=home or project / ".meshlake", spark_master="local[2]"
    )
    return Platform(settings)


@contextmanager
def governed_platform(project: Path, home: Path | None = None) -> Iterator[Platform]:
    """A Platform over ``project`` that publishes through the embedded governance service (real
    HTTP on 127.0.0.1, SQLite in the state folder), with the mesh registered in its catalog."""
    from meshlake.orchestration._governed import governed

    settings = make_platform(project, home).settings
    with governed(settings) as governed_settings:
        platform = Platform(governed_settings)
        try:
            yield platform
        finally:
            platform.close()
