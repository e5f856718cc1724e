"""``meshlake validate`` and ``meshlake list``: read the specs, never run anything."""

from __future__ import annotations

import typer

from meshlake.platform._platform import Platform
from meshlake.platform.cli._output import fail, say, table


def validate() -> None:
    """Check every spec (zones, domains, products, contracts) and report each problem as file:line."""
    report = Platform().validate()
    for problem in [*report.problems, *report.agreement_problems, *report.check_problems]:
        say(str(problem))
    for item in report.notes:  # rules meshlake cannot run: reported, never dropped, never failing
        say(f"note: {item}")
    for item in report.warnings:  # e.g. an expired sharing agreement: worth fixing, not failing
        say(f"warning: {item}")
    if not report.ok:
        count = len(report.problems) + len(report.agreement_problems) + len(report.check_problems)
        fail(f"{count} problem(s) in {report.files_checked} spec files")
    assert report.mesh is not None
    mesh = report.mesh
    ports = sum(len(product.ports) for product in mesh.products.values())
    say(
        f"ok: {report.files_checked} spec files; {len(mesh.zones)} landing zones, "
        f"{len(mesh.domains)} domains, {len(mesh.products)} products, {ports} output ports, "
        f"{len(mesh.agreements)} sharing agreements"
    )


def list_products() -> None:
    """List domains, products, output ports and what each product reads."""
    mesh = Platform().mesh
    rows = []
    for product in mesh.ordered():
        reads = ", ".join(
            str(binding.output) if binding.output else f"raw:{binding.raw.source.name}"  # type: ignore[union-attr]
            for binding in product.inputs
        )
        rows.append(
            (
                product.domain.name,
                product.zone.name,
                product.ref.name,
                product.descriptor.tier,
                ", ".join(product.ports),
                reads or "-",
            )
        )
    table(
        "data products (in dependency order)",
        ["domain", "zone", "product", "tier", "ports", "reads"],
        rows,
    )


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.command("list")(list_products)
