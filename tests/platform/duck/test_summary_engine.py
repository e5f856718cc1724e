"""The materialize summary names each product's engine, within 80 columns."""

from __future__ import annotations

import re

import pytest

from meshlake.platform import PortRef, ProductResult
from meshlake.platform._prepared import PortResult
from meshlake.platform.cli import _output
from meshlake.platform.cli.output import summarize

pytestmark = pytest.mark.unit

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_the_summary_shows_the_engine_of_each_product(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_output.console, "width", 80)
    results = [
        ProductResult(
            product,
            "published",
            "run-1",
            seconds=1.5,
            ports=[PortResult(PortRef(*product.split("."), port), "/lake", 0, 10, "overwrite")],
            gate="enforce",
            engine=engine,
        )
        for product, port, engine in (
            ("hr.employees", "employees", "duckdb"),
            ("operations.pump_health", "pump_health", "spark"),
        )
    ]
    results.append(ProductResult("sales.orders", "skipped", "run-2", error="upstream failed"))

    with _output.console.capture() as captured:
        summarize(results)
    lines = ANSI.sub("", captured.get()).splitlines()

    assert max(len(line) for line in lines) <= 80
    assert any("engine" in line.split() for line in lines[:4]), lines
    text = "\n".join(lines)
    # Each product's row (or, in the stacked layout, its port's row beneath it) names the engine.
    assert re.search(r"hr\.employees(\s.*)?\n?.*employees .*duckdb", text), text
    assert re.search(r"pump_health .*spark", text), text
    assert re.search(r"skipped(\s+-){5}\s+0\.0", text), text  # no engine: it did not run
