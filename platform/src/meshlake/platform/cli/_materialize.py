"""``meshlake ingest`` and ``meshlake materialize``: drop raw files, publish products."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from meshlake.platform.cli._arguments import Products, Upstream
from meshlake.platform.cli._output import fail, note, say, table

if TYPE_CHECKING:
    from meshlake.platform._materialize import ProductResult
    from meshlake.platform._raw import RawDrop
    from meshlake.platform.quality import QualityReport
    from meshlake.platform.specs import ProductSpec


def ingest(
    scale: Annotated[
        float | None, typer.Option(help="Data volume; 1.0 is small (default MESHLAKE_SCALE).")
    ] = None,
) -> None:
    """Generate the sample raw drops (deterministic synthetic files) in each zone's raw area."""
    from meshlake.platform._platform import Platform

    platform = Platform()
    drops = platform.ingest(scale, progress=_dropped)
    say(f"dropped {len(drops)} raw files, {sum(drop.rows for drop in drops):,} rows")


def materialize(products: Products = None, upstream: Upstream = False) -> None:
    """Materialize products in dependency order, with progress and a summary."""
    from meshlake.platform._platform import Platform
    from meshlake.platform._spark import stop_spark

    platform = Platform()
    plan = platform.plan(products, upstream)
    missing = platform.missing_drops(plan)
    if missing:
        note(f"no raw drop yet for {', '.join(missing)}: generating the sample drops first")
        platform.ingest(only=missing, progress=_dropped)
    note(f"starting Spark and materializing {len(plan)} products")
    try:
        results = platform.materialize(products, upstream, progress=_finished, on_start=_starting)
    finally:
        stop_spark()
    summarize(results)
    failures = [result for result in results if not result.ok]
    if failures:
        fail(f"{len(failures)} of {len(results)} products were not published")


def summarize(results: list[ProductResult]) -> None:
    rows: list[tuple[object, ...]] = []
    for result in results:
        if not result.ports:
            rows.append(
                (result.product, "-", result.status, "-", "-", "-", f"{result.seconds:.1f}")
            )
        for port in result.ports:
            rows.append(
                (
                    result.product,
                    port.ref.port,
                    result.status,
                    f"{port.rows:,}",
                    port.version,
                    _checks(port.quality),
                    f"{result.seconds:.1f}",
                )
            )
    table("published", ["product", "port", "status", "rows", "version", "checks", "seconds"], rows)
    for result in results:
        if result.error:
            say(f"{result.product} {result.status}: {result.error}")


def _checks(report: QualityReport | None) -> str:
    """``12/12``, ``11/12 2 quarantined``, ``12/12 drift: weight``: the port's checks at a glance."""
    if report is None:
        return "-"
    summary = report.summary()
    text = f"{summary['passed']}/{summary['rules']}"
    if report.quarantined_rows:
        text += f" {report.quarantined_rows:,} quarantined"
    drifted = [d.column for d in report.drift if d.drifted]
    if drifted:
        text += f" drift: {', '.join(drifted)}"
    return text


def _dropped(drop: RawDrop) -> None:
    note(f"  raw {drop.source_id}: {drop.rows:,} rows -> {drop.location} ({drop.seconds:.1f}s)")


def _starting(index: int, total: int, product: ProductSpec) -> None:
    note(f"[{index}/{total}] {product.ref} ...")


def _finished(index: int, total: int, result: ProductResult) -> None:
    detail = ", ".join(
        f"{port.ref.port} v{port.version} {port.rows:,} rows" for port in result.ports
    )
    note(f"[{index}/{total}] {result.product} {result.status} {detail} ({result.seconds:.1f}s)")


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
    app.command("materialize")(materialize)
