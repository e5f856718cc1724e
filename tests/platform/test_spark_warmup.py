"""Spark is started in the background only when a run holds a product that runs on it.

The start itself is Spark's (tested wherever a product runs on Spark); here a Platform whose
``spark()`` records its calls stands in for it (a fake of the JVM start, named so), to show which
plans start it, that a failed start is not raised from the background, and that nothing is
started for a plan DuckDB runs whole.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from meshlake.platform import Platform
from meshlake.platform._spark_warmup import products_needing_spark, start_spark_early
from tests.helpers import make_platform

pytestmark = pytest.mark.unit


class RecordingSparkPlatform(Platform):
    """A Platform whose Spark start is recorded (and may fail) instead of starting a JVM."""

    fail = False

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.started = threading.Event()

    def spark(self, product=None):  # type: ignore[no-untyped-def, override]
        self.asked_for = product
        self.started.set()
        if self.fail:
            raise RuntimeError("no JVM here")
        return object()


def _platform(project: Path, engine: str) -> RecordingSparkPlatform:
    product = project / "domains/alpha/products/things/product.yaml"
    product.write_text(product.read_text() + f"  - property: engine\n    value: {engine}\n")
    return RecordingSparkPlatform(make_platform(project).settings)


def test_a_plan_duckdb_runs_whole_starts_no_spark_fake(mini_project: Path) -> None:
    platform = _platform(mini_project, "duckdb")
    plan = platform.plan(["alpha.things"])

    assert products_needing_spark(platform, plan) == []
    assert start_spark_early(platform, plan) is None
    assert not platform.started.is_set()


def test_a_python_product_starts_spark_in_the_background_fake(mini_project: Path) -> None:
    platform = _platform(mini_project, "auto")
    plan = platform.plan(["alpha.summary"], with_upstream=True)

    assert [str(p.ref) for p in products_needing_spark(platform, plan)] == ["alpha.summary"]
    thread = start_spark_early(platform, plan)
    assert thread is not None and thread.daemon
    thread.join(10)
    assert platform.started.is_set()
    assert platform.asked_for is not None and str(platform.asked_for.ref) == "alpha.summary"


def test_a_failed_background_start_is_left_to_the_product_fake(
    mini_project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    platform = _platform(mini_project, "spark")
    platform.fail = True
    plan = platform.plan(["alpha.things"])

    thread = start_spark_early(platform, plan)
    assert thread is not None
    thread.join(10)

    assert not thread.is_alive()
    assert "Spark did not start in the background: no JVM here" in caplog.text
