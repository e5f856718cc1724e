"""``meshlake vacuum``: remove the files no version of a port's table needs."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from meshlake.platform.cli._arguments import Products
from meshlake.platform.cli._output import note, say, table

if TYPE_CHECKING:
    from meshlake.platform._vacuum import VacuumResult

DryRun = Annotated[
    bool, typer.Option("--dry-run", help="List what would be removed; remove nothing.")
]


def vacuum(products: Products = None, dry_run: DryRun = False) -> None:
    """Remove files no version references from each port's Delta table and quarantine table,
    keeping old versions for the contract's retention SLA (Delta's 7 days without one); delete
    quarantined rows older than that SLA (else MESHLAKE_QUARANTINE_RETENTION_DAYS, 30)."""
    from meshlake.platform._platform import Platform
    from meshlake.platform._spark import stop_spark
    from meshlake.platform._vacuum import vacuum_products

    platform = Platform()
    note("starting Spark and vacuuming the products' tables")
    try:
        results = vacuum_products(platform, products, dry_run)
    finally:
        stop_spark()
    summarize(results)


def summarize(results: list[VacuumResult]) -> None:
    dry_run = any(result.dry_run for result in results)
    verb = "would remove" if dry_run else "removed"
    table(
        "vacuum (dry run)" if dry_run else "vacuum",
        ["table", "keeps versions", "keeps rows", "rows", "files", "bytes"],
        [
            (
                result.table,
                _duration(result.retention),
                "-" if result.rows_retention is None else _duration(result.rows_retention),
                f"{result.rows:,}",
                len(result.files),
                f"{result.bytes:,}",
            )
            for result in results
        ],
    )
    if dry_run:
        for result in results:
            for path in result.files:
                say(f"{result.table}: {path}")
    files = sum(len(result.files) for result in results)
    size = sum(result.bytes for result in results)
    rows = sum(result.rows for result in results)
    if rows:
        say(f"{verb} {rows:,} quarantined rows past their retention")
    say(f"{verb} {files:,} files, {size:,} bytes, from {len(results)} tables")


def _duration(value: timedelta) -> str:
    if value >= timedelta(days=1):
        return f"{value / timedelta(days=1):g} d"
    return f"{value / timedelta(hours=1):g} h"


def register(app: typer.Typer) -> None:
    app.command("vacuum")(vacuum)
