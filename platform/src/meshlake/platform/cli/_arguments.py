"""Arguments shared by commands of several parts, so they read and behave the same everywhere."""

from __future__ import annotations

from typing import Annotated

import typer

Products = Annotated[
    list[str] | None,
    typer.Argument(help="domain.product names; all when omitted.", show_default=False),
]
Upstream = Annotated[bool, typer.Option("--upstream", help="Also materialize what they read.")]
