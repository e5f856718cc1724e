"""The run summary of `meshlake materialize` and `meshlake run` reads in an 80-column terminal: no line
is wider than the terminal and every product and port name of the sample mesh is printed whole."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from meshlake.platform import ProductResult
from meshlake.platform.cli import _output
from meshlake.platform.cli.output import summarize, summary_table
from meshlake.platform.specs import load_mesh
from tests.helpers import REPO

pytestmark = pytest.mark.unit

ANSI = re.compile(r"\x1b\[[0-9;]*m")
RUN_COLUMNS = ["product", "port", "status", "engine", "rows", "version", "checks", "seconds"]


@pytest.fixture
def sample_results() -> list[ProductResult]:
    """A publication of every product of the sample mesh, with the widest figures a run shows."""
    from meshlake.platform import PortResult

    mesh = load_mesh(REPO)
    results = []
    for index, product in enumerate(mesh.ordered()):
        ports = [
            PortResult(
                spec.ref, f"/lake/{spec.ref}", 120 + index, 12_345_678 * (index + 1), "overwrite"
            )
            for spec in product.ports.values()
        ]
        results.append(
            ProductResult(
                str(product.ref),
                "published",
                "run-1",
                seconds=123.4,
                ports=ports,
                gate="enforce" if index % 2 else "warn",
                recorded=index % 3 != 0,  # "published (record pending)"
            )
        )
    return results


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setattr(_output.console, "width", 80)
    yield monkeypatch


def _printed(results: list[ProductResult]) -> list[str]:
    with _output.console.capture() as captured:
        summarize(results)
    return ANSI.sub("", captured.get()).splitlines()


def _words(lines: list[str]) -> set[str]:
    return {word for line in lines for word in line.split()}


@pytest.mark.parametrize("width", [80, 60, 40])
def test_the_materialize_summary_fits_and_keeps_every_name_whole(
    sample_results: list[ProductResult], terminal: pytest.MonkeyPatch, width: int
) -> None:
    terminal.setattr(_output.console, "width", width)
    lines = _printed(sample_results)
    assert max(len(line) for line in lines) <= width
    assert not any("…" in line for line in lines)
    names = {result.product for result in sample_results} | {
        port.ref.port for result in sample_results for port in result.ports
    }
    assert len(names) > 10
    assert names <= _words(lines), sorted(names - _words(lines))
    assert any(word.endswith("12,345,678") for word in _words(lines))
    assert {"(record", "pending)"} <= _words(lines)


def test_the_sample_mesh_needs_more_than_one_line_per_port_at_80(
    sample_results: list[ProductResult], terminal: pytest.MonkeyPatch
) -> None:
    """At 80 columns the names do not fit beside the figures: each product gets a line of its own."""
    lines = _printed(sample_results)
    longest = max(sample_results, key=lambda result: len(result.product)).product
    assert any(line.strip() == longest for line in lines)


def test_a_wide_terminal_keeps_one_row_per_port(
    sample_results: list[ProductResult], terminal: pytest.MonkeyPatch
) -> None:
    terminal.setattr(_output.console, "width", 200)
    lines = _printed(sample_results)
    for result in sample_results:
        for port in result.ports:
            assert any(
                line.split()[:2] == [result.product, port.ref.port] for line in lines if line
            ), (result.product, port.ref.port)


def test_the_run_summary_fits_80_columns(
    sample_results: list[ProductResult], terminal: pytest.MonkeyPatch
) -> None:
    rows = [
        (
            result.product,
            port.ref.port,
            "failed",
            "duckdb",
            f"{port.rows:,}",
            port.version,
            "11/12",
            "9.5",
        )
        for result in sample_results
        for port in result.ports
    ]
    with _output.console.capture() as captured:
        summary_table("dagster run 0a1b2c3d-4e5f-6789-abcd-ef0123456789", RUN_COLUMNS, rows)
    lines = ANSI.sub("", captured.get()).splitlines()
    assert max(len(line) for line in lines) <= 80
    assert {row[0] for row in rows} | {row[1] for row in rows} <= _words(lines)
    assert "0a1b2c3d-4e5f-6789-abcd-ef0123456789" in lines[0]
