"""``meshlake domain new`` and ``meshlake product new``: a new team's first two commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from meshlake.platform.cli._output import fail, say

domain_app = typer.Typer(help="Create domains.", no_args_is_help=True)
product_app = typer.Typer(help="Create data products.", no_args_is_help=True)


def _root() -> Path:
    from meshlake.platform._settings import Settings

    return Settings().project_root()


def domain_new(
    name: Annotated[str, typer.Argument(help="The domain's name, lower_snake_case.")],
    zone: Annotated[str, typer.Option(help="The data landing zone that hosts it.")],
    owner: Annotated[str, typer.Option(help="The owner's e-mail (team member, role owner).")],
    description: Annotated[str | None, typer.Option(help="The business area it owns.")] = None,
) -> None:
    """Scaffold domains/NAME/domain.yaml and list the domain in its landing zone's file."""
    from meshlake.platform.scaffold import ScaffoldError, new_domain

    root = _root()
    try:
        result = new_domain(root, name, zone=zone, owner=owner, description=description)
    except ScaffoldError as exc:
        fail(str(exc), 2)
    _report(root, result)


def product_new(
    product: Annotated[str, typer.Argument(metavar="DOMAIN.PRODUCT", help="The new product.")],
    ports: Annotated[
        str,
        typer.Option(
            "--from",
            help="Ports it reads, comma-separated: domain.product.port or a raw source id.",
        ),
    ],
    python: Annotated[
        bool, typer.Option("--python/--sql", help="Transform in Python (DataFrame) or SQL.")
    ] = False,
    from_contract: Annotated[
        Path | None,
        typer.Option("--from-contract", help="An ODCS contract to import as the output contract."),
    ] = None,
    purpose: Annotated[
        str, typer.Option(help="Purpose of the sharing agreements requested for other domains.")
    ] = "analytics",
) -> None:
    """Scaffold a product: descriptor, contract from its inputs, transform, agreement requests."""
    from meshlake.platform.scaffold import ProductRequest, ScaffoldError, new_product

    root = _root()
    request = ProductRequest(
        product=product,
        ports=[item.strip() for item in ports.split(",") if item.strip()],
        language="python" if python else "sql",
        contract_file=from_contract,
        purpose=purpose,
    )
    try:
        result = new_product(root, request)
    except ScaffoldError as exc:
        fail(str(exc), 2)
    _report(root, result)


def _report(root: Path, result: object) -> None:
    from meshlake.platform.scaffold import Scaffolded

    assert isinstance(result, Scaffolded)
    for file in result.written:
        say(f"wrote {_shown(root, file)}")
    for file in result.edited:
        say(f"edited {_shown(root, file)}")
    for text in result.notes:
        say(f"note: {text}")
    for step in result.next_steps:
        say(f"next: {step}")


def _shown(root: Path, file: Path) -> str:
    try:
        return str(file.relative_to(root))
    except ValueError:
        return str(file)


def register(app: typer.Typer) -> None:
    domain_app.command("new")(domain_new)
    product_app.command("new")(product_new)
    app.add_typer(domain_app, name="domain")
    app.add_typer(product_app, name="product")
