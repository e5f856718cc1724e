"""Decision inputs built from specs or from the catalog, in the shapes of schemas/*.schema.json.

The same builders serve the publication gate (catalog rows), the review (specs at two git refs)
and the tests, so every caller hands the policies the same shape.
"""

from __future__ import annotations

from typing import Any

from meshlake.platform.specs import (
    Contract,
    Mesh,
    ProductSpec,
    custom_property,
    sla_duration,
    spark_type,
)

SLA_DURATIONS = ("latency", "frequency", "retention")


def column_input(contract: Contract) -> list[dict[str, Any]]:
    return [
        {
            "name": prop.name,
            "type": spark_type(prop.logical_type, prop.physical_type).lower(),
            "description": prop.description or "",
            "classification": prop.classification or "",
            "required": prop.required,
            "unique": prop.unique or prop.primary_key,
            "masking": str(custom_property(prop.custom_properties, "masking", "") or ""),
        }
        for prop in contract.columns
    ]


def sla_input(contract: Contract) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for item in contract.sla_properties:
        entry: dict[str, Any] = {"value": item.value, "unit": item.unit}
        if item.property in SLA_DURATIONS:
            duration = sla_duration(contract, item.property)
            if duration is not None:
                entry["days"] = duration.total_seconds() / 86400
        result[item.property] = entry
    return result


def port_input(name: str, contract: Contract, description: str | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "contract_id": contract.id,
        "contract_version": contract.version,
        "description": description or (contract.table.description or ""),
        "sla": sla_input(contract),
        "columns": column_input(contract),
    }


def product_input(mesh: Mesh, product: ProductSpec) -> dict[str, Any]:
    """A product of a loaded mesh, with its inputs resolved to their domain, zone and region."""
    descriptor = product.descriptor
    team = descriptor.team or product.domain.team
    inputs = []
    for binding in product.inputs:
        if binding.output is not None:
            source = mesh.product(binding.output.product_ref)
            domain, zone, kind = source.domain, source.zone, "product"
        elif binding.raw is not None:
            domain = binding.raw.domain
            zone, kind = mesh.zones[domain.landing_zone], "raw"
        else:  # pragma: no cover - the loader resolves every input or reports it
            continue
        inputs.append(
            {
                "name": binding.name,
                "contract_id": binding.port.contract_id,
                "kind": kind,
                "domain": domain.name,
                "zone": zone.name,
                "region": zone.region,
            }
        )
    return {
        "ref": str(product.ref),
        "domain": product.ref.domain,
        "name": descriptor.name,
        "status": descriptor.status,
        "tier": descriptor.tier,
        "tags": list(descriptor.tags),
        "description": (descriptor.description.purpose if descriptor.description else None) or "",
        "owners": list(team.owners),
        "zone": product.zone.name,
        "region": product.zone.region,
        "inputs": inputs,
        "ports": [
            port_input(name, port.contract, port.port.description)
            for name, port in product.ports.items()
        ],
    }


def publication_input(mesh: Mesh, product: ProductSpec) -> dict[str, Any]:
    return {"product": product_input(mesh, product)}
