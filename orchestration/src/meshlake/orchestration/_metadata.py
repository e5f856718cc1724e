"""What the Dagster UI shows for an output port: schema, table name, URI, tags, owners."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from meshlake.platform import is_uri
from meshlake.platform.specs import (
    Contract,
    PortSpec,
    ProductSpec,
    highest_classification,
    spark_type,
)


def column_schema(contract: Contract) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=prop.name,
                type=spark_type(prop.logical_type, prop.physical_type).lower(),
                description=prop.description,
                constraints=dg.TableColumnConstraints(
                    nullable=not prop.required,
                    unique=prop.unique or (prop.primary_key and len(contract.primary_key) == 1),
                ),
                tags={"classification": prop.classification} if prop.classification else None,
            )
            for prop in contract.columns
        ]
    )


def contract_classification(contract: Contract) -> str:
    return (
        highest_classification(prop.classification for prop in contract.columns) or "unclassified"
    )


def owners(product: ProductSpec) -> list[str]:
    """Dagster owners: the product team (``team:<name>``) and its owners' e-mail addresses."""
    team = product.descriptor.team or product.domain.team
    names = [f"team:{team.name}"] if team.name else []
    return names + [name for name in team.owners if "@" in name]


def uri(location: str) -> str:
    return location if is_uri(location) else Path(location).as_uri()


def port_description(product: ProductSpec, port: PortSpec) -> str:
    contract = port.contract
    parts = [
        port.port.description or contract.table.description or "",
        contract.description.purpose
        if contract.description and contract.description.purpose
        else "",
    ]
    text = "\n\n".join(part for part in parts if part)
    return f"{text}\n\nContract `{contract.id}` v{contract.version} ({port.contract_file.name}); product `{product.ref}`."


def tags(product: ProductSpec, port: PortSpec) -> dict[str, str]:
    return {
        "meshlake/tier": product.descriptor.tier,
        "meshlake/landing_zone": product.zone.name,
        "meshlake/classification": contract_classification(port.contract),
    }
