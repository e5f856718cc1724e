"""``meshlake ingest``, and the progress and summary lines of a publication.

``meshlake materialize`` itself is registered by orchestration (meshlake.orchestration.cli): it needs a
governance service, and only orchestration may start the embedded one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from meshlake.platform.cli._output import note, say
from meshlake.platform.cli._summary import summary_table

if TYPE_CHECKING:
    from meshlake.platform._publish import ProductResult
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
    drops = platform.ingest(scale, progress=dropped)
    say(f"dropped {len(drops)} raw files, {sum(drop.rows for drop in drops):,} rows")


def summarize(results: list[ProductResult]) -> None:
    rows: list[tuple[object, ...]] = []
    for result in results:
        gate = result.gate or "-"
        if not result.ports:
            rows.append(
                (
                    result.product,
                    "-",
                    result.status,
                    "-",
                    "-",
                    "-",
                    gate,
                    result.engine or "-",
                    f"{result.seconds:.1f}",
                )
            )
        for port in result.ports:
            rows.append(
                (
                    result.product,
                    port.ref.port,
                    result.status if result.recorded else f"{result.status} (record pending)",
                    f"{port.rows:,}",
                    port.version,
                    _checks(port.quality),
                    gate,
                    result.engine or "-",
                    f"{result.seconds:.1f}",
                )
            )
    columns = [
        "product",
        "port",
        "status",
        "rows",
        "version",
        "checks",
        "gate",
        "engine",
        "seconds",
    ]
    summary_table("published", columns, rows)
    for result in results:
        for warning in result.warnings:
            say(
                f"{result.product} policy {'(not enforced) ' if result.gate == 'warn' else ''}{warning}"
            )
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


def dropped(drop: RawDrop) -> None:
    note(f"  raw {drop.source_id}: {drop.rows:,} rows -> {drop.location} ({drop.seconds:.1f}s)")


def starting(index: int, total: int, product: ProductSpec) -> None:
    note(f"[{index}/{total}] {product.ref} ...")


def finished(index: int, total: int, result: ProductResult) -> None:
    detail = ", ".join(
        f"{port.ref.port} v{port.version} {port.rows:,} rows" for port in result.ports
    )
    note(f"[{index}/{total}] {result.product} {result.status} {detail} ({result.seconds:.1f}s)")


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
