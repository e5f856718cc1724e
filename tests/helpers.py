"""Paths and builders the tests share."""

from __future__ import annotations

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
