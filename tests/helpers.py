"""Paths and builders the tests share."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from meshlake.platform import Platform, ProductResult, Settings

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


class EnginePlatform(Platform):
    """The publish engine alone (``Materializer.materialize_ungoverned``: stage, check, commit),
    with no governance decision in between: for the tests of the checks themselves. The governed
    path has its own tests (tests/platform/test_publish.py); users never publish this way."""

    def materialize_product(self, name: str, run_id: str | None = None) -> list[Any]:
        from meshlake.platform._materialize import Materializer

        materializer = Materializer(
            self.mesh, self.spark(), self.state_home, validator=self.settings.quality_validator
        )
        return materializer.materialize_ungoverned(self.mesh.product(name), run_id)

    def materialize(self, products: list[str] | None = None) -> list[ProductResult]:
        from meshlake.platform import MeshlakeError

        failed: set[str] = set()
        results = []
        for product in self.plan(products):
            ref = str(product.ref)
            blocked = sorted(str(up) for up in product.upstream if str(up) in failed)
            if blocked:
                failed.add(ref)
                results.append(
                    ProductResult(
                        ref, "skipped", "", error=f"upstream failed: {', '.join(blocked)}"
                    )
                )
                continue
            run_id = str(uuid.uuid4())
            try:
                ports = self.materialize_product(ref, run_id)
                results.append(ProductResult(ref, "published", run_id, ports=ports))
            except MeshlakeError as exc:
                failed.add(ref)
                results.append(ProductResult(ref, "failed", run_id, error=str(exc)))
        return results


def engine_platform(project: Path, home: Path | None = None) -> EnginePlatform:
    settings = Settings(
        project=project, home=home or project / ".meshlake", spark_master="local[2]"
    )
    return EnginePlatform(settings)
