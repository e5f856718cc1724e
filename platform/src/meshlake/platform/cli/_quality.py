"""``meshlake quality export``: a product's rules as Great Expectations suites (JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from meshlake.platform.cli._output import fail, note, say

quality_app = typer.Typer(help="Quality contracts: the rules compiled from the contracts.")


@quality_app.command("export")
def export(
    product: Annotated[str, typer.Argument(help="domain.product")],
    port: Annotated[str | None, typer.Option(help="One output port; all when omitted.")] = None,
    output: Annotated[
        Path | None, typer.Option(help="Write to this file instead of standard output.")
    ] = None,
) -> None:
    """Write the port's Great Expectations ExpectationSuite as JSON (one per port, in a list)."""
    from meshlake.platform._platform import Platform

    text = Platform().export_suites(product, port)
    if text is None:
        fail(f"{product} has no quality rules" + (f" on port {port!r}" if port else ""))
    if output is None:
        say(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        note(f"wrote {output}")


def register(app: typer.Typer) -> None:
    app.add_typer(quality_app, name="quality")
