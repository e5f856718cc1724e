"""Write the sample topologies: ``python infra/topologies/generate.py`` (from the repository root).

Each topology is a complete small mesh (``infra/landing-zones/*.yaml`` and ``domains/``) that
`meshlake validate`, `meshlake zones plan` and `meshlake zones apply` accept with MESHLAKE_PROJECT set
to its folder. The files are generated so that the four stay alike where they should (one source
product per providing domain, one aggregate per consuming domain, an agreement for each
cross-domain read) and differ only in how zones are cut; the generated files are committed, and a
test checks they match this script.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Zone:
    name: str
    kind: str
    region: str
    description: str
    domains: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    """A source-aligned (bronze) product: a raw drop, cast and published as it is."""

    domain: str
    entity: str


@dataclass(frozen=True)
class Aggregate:
    """A consumer-aligned (silver) product: totals per region of another domain's port."""

    domain: str
    name: str
    reads: str  # the port's contract id, domain.product.port


@dataclass(frozen=True)
class Topology:
    name: str
    about: str
    zones: tuple[Zone, ...]
    sources: tuple[Source, ...]
    aggregates: tuple[Aggregate, ...]


GOVERNANCE = Zone(
    "governance",
    "governance",
    "westeurope",
    "Central governance zone: catalog, policies, sharing agreements, lineage.",
)

TOPOLOGIES = (
    Topology(
        "one-zone",
        "One data landing zone for all domains: the simplest start, one storage root and one "
        "compute for everyone.",
        (
            GOVERNANCE,
            Zone(
                "lake",
                "data",
                "westeurope",
                "The one data landing zone of every domain.",
                ("finance", "sales"),
                {"compute": "local[2]", "engine": "auto"},
            ),
        ),
        (Source("sales", "orders"),),
        (Aggregate("finance", "revenue_by_region", "sales.orders.orders"),),
    ),
    Topology(
        "source-consumer-aligned",
        "Source-aligned domains land operational data in one zone; consumer-aligned domains build "
        "their views in another, reading through sharing agreements.",
        (
            GOVERNANCE,
            Zone(
                "sources",
                "data",
                "westeurope",
                "Source-aligned domains: the systems of record.",
                ("crm", "shop"),
            ),
            Zone(
                "consumers",
                "data",
                "westeurope",
                "Consumer-aligned domains: analytics and marketing views.",
                ("marketing",),
                {"policies": ["publication", "sharing"]},
            ),
        ),
        (Source("crm", "customers"), Source("shop", "orders")),
        (Aggregate("marketing", "orders_by_region", "shop.orders.orders"),),
    ),
    Topology(
        "hub",
        "A hub zone hosts the shared reference products; spoke zones host the domains that read "
        "them, each spoke with its own code location and service principal.",
        (
            GOVERNANCE,
            Zone(
                "hub",
                "data",
                "westeurope",
                "Hub for products shared across the organisation.",
                ("reference",),
                {"codeLocation": "shared-hub", "servicePrincipal": "hub-publisher"},
            ),
            Zone(
                "spoke_sales",
                "data",
                "westeurope",
                "Spoke of the sales domain.",
                ("sales",),
            ),
            Zone(
                "spoke_logistics",
                "data",
                "westeurope",
                "Spoke of the logistics domain.",
                ("logistics",),
            ),
        ),
        (Source("reference", "rates"),),
        (
            Aggregate("sales", "rates_by_region", "reference.rates.rates"),
            Aggregate("logistics", "rate_totals", "reference.rates.rates"),
        ),
    ),
    Topology(
        "regional",
        "Regional zones with data residency: a product crosses regions only under a "
        "cross-region allowance (policies config), so the americas read of hr.employees is "
        "allowed and the apac one is denied by the residency policy.",
        (
            GOVERNANCE,
            Zone(
                "emea",
                "data",
                "westeurope",
                "Europe: data stays in EU storage.",
                ("hr",),
            ),
            Zone(
                "americas",
                "data",
                "eastus",
                "The Americas.",
                ("sales",),
            ),
            Zone(
                "apac",
                "data",
                "australiaeast",
                "Asia-Pacific.",
                ("support",),
            ),
        ),
        (Source("hr", "employees"),),
        (
            Aggregate("sales", "staff_by_region", "hr.employees.employees"),
            Aggregate("support", "staff_by_region", "hr.employees.employees"),
        ),
    ),
)

OWNER = "{domain}.owner@example.com"
SOURCE_COLUMNS = (
    ("id", "string", "STRING", "The record's key in the source system.", True),
    ("region", "string", "STRING", "Sales region the record belongs to.", True),
    ("amount", "number", "DOUBLE", "Amount in EUR.", False),
)
AGGREGATE_COLUMNS = (
    ("region", "string", "STRING", "Sales region.", True),
    ("total_amount", "number", "DOUBLE", "Sum of amount over the region's records.", False),
    ("record_count", "integer", "BIGINT", "Number of records of the region.", True),
)
GENERATOR = '''"""Sample raw drop of {entity}: 40 records over four regions at scale 1."""

REGIONS = ("north", "south", "east", "west")


def generate(scale, rng):
    for index in range(1, int(40 * scale) + 1):
        yield {{
            "id": f"{prefix}{{index:05d}}",
            "region": REGIONS[index % 4],
            "amount": f"{{rng.uniform(1, 100):.2f}}",
        }}
'''


def _contract(
    contract_id: str, domain: str, product: str, port: str, columns: tuple[Any, ...]
) -> dict[str, Any]:
    return {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": contract_id,
        "name": port,
        "version": "1.0.0",
        "status": "active",
        "domain": domain,
        "dataProduct": product,
        "description": {"purpose": f"The {port} of the {domain} domain (a sample topology)."},
        "schema": [
            {
                "name": port,
                "physicalName": port,
                "physicalType": "table",
                "description": f"One row per {'region' if columns is AGGREGATE_COLUMNS else 'record'}.",
                "properties": [
                    {
                        "name": name,
                        "logicalType": logical,
                        "physicalType": physical,
                        "description": description,
                        "required": required,
                        "classification": "internal",
                        **(
                            {"primaryKey": True, "primaryKeyPosition": 1}
                            if name == columns[0][0]
                            else {}
                        ),
                    }
                    for name, logical, physical, description, required in columns
                ],
            }
        ],
        "slaProperties": [
            {"property": "latency", "value": 1, "unit": "d"},
            {"property": "retention", "value": 1, "unit": "y"},
        ],
    }


def _team(domain: str) -> dict[str, Any]:
    return {
        "name": f"{domain}-team",
        "members": [{"username": OWNER.format(domain=domain), "role": "owner"}],
    }


def _descriptor(
    domain: str, product: str, tier: str, inputs: list[dict[str, str]], purpose: str
) -> dict[str, Any]:
    return {
        "apiVersion": "v1.0.0",
        "kind": "DataProduct",
        "id": f"{domain}.{product}",
        "name": product,
        "version": "1.0.0",
        "status": "active",
        "domain": domain,
        "description": {"purpose": purpose},
        "team": _team(domain),
        "inputPorts": inputs,
        "outputPorts": [
            {
                "name": product,
                "version": "1.0.0",
                "type": "delta",
                "contractId": f"{domain}.{product}.{product}",
            }
        ],
        "customProperties": [{"property": "tier", "value": tier}],
    }


def files(topology: Topology) -> dict[str, str]:
    """Every file of ``topology``, by path relative to its folder."""
    out: dict[str, str] = {}
    zone_of = {domain: zone.name for zone in topology.zones for domain in zone.domains}

    def dump(path: str, data: Any, header: str = "") -> None:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
        out[path] = (f"# {header}\n" if header else "") + text

    for zone in topology.zones:
        dump(
            f"infra/landing-zones/{zone.name}.yaml",
            {
                "name": zone.name,
                "kind": zone.kind,
                "region": zone.region,
                "description": zone.description,
                "storageRoot": f"lake/{zone.name}",
                **zone.extra,
                "domains": list(zone.domains),
            },
            f"Sample topology {topology.name}: {topology.about}",
        )
    sources = {source.domain: source for source in topology.sources}
    for domain in sorted(zone_of):
        source = sources.get(domain)
        document: dict[str, Any] = {
            "name": domain,
            "description": f"The {domain} domain of the {topology.name} sample topology.",
            "landingZone": zone_of[domain],
            "team": _team(domain),
        }
        if source is not None:
            document["rawSources"] = [
                {
                    "id": f"{domain}.raw.{source.entity}",
                    "name": f"{source.entity}_raw",
                    "version": "1.0.0",
                    "format": "csv",
                    "generator": f"sources/{source.entity}_raw.py",
                    "schema": "id STRING, region STRING, amount STRING",
                }
            ]
            out[f"domains/{domain}/sources/{source.entity}_raw.py"] = GENERATOR.format(
                entity=source.entity, prefix=source.entity[0].upper()
            )
        dump(f"domains/{domain}/domain.yaml", document)
    for source in topology.sources:
        domain, product = source.domain, source.entity
        base = f"domains/{domain}/products/{product}"
        dump(
            f"{base}/product.yaml",
            _descriptor(
                domain,
                product,
                "bronze",
                [
                    {
                        "name": f"{product}_raw",
                        "version": "1.0.0",
                        "contractId": f"{domain}.raw.{product}",
                    }
                ],
                f"The {product} of the {domain} source system, typed.",
            ),
        )
        dump(
            f"{base}/contract.yaml",
            _contract(f"{domain}.{product}.{product}", domain, product, product, SOURCE_COLUMNS),
        )
        out[f"{base}/transform.sql"] = (
            f"SELECT id, region, CAST(amount AS DOUBLE) AS amount FROM {product}_raw\n"
        )
    for aggregate in topology.aggregates:
        domain, product = aggregate.domain, aggregate.name
        provider = aggregate.reads.split(".")[0]
        base = f"domains/{domain}/products/{product}"
        dump(
            f"{base}/product.yaml",
            _descriptor(
                domain,
                product,
                "silver",
                [{"name": "source", "version": "1.0.0", "contractId": aggregate.reads}],
                f"Totals per region of {aggregate.reads}, for the {domain} domain.",
            ),
        )
        dump(
            f"{base}/contract.yaml",
            _contract(f"{domain}.{product}.{product}", domain, product, product, AGGREGATE_COLUMNS),
        )
        out[f"{base}/transform.sql"] = (
            "SELECT region, SUM(amount) AS total_amount, COUNT(*) AS record_count\n"
            "FROM source\nGROUP BY region\n"
        )
        dump(
            f"domains/{domain}/agreements/{product}-reads-{provider}.yaml",
            {
                "apiVersion": "meshlake/v1",
                "kind": "SharingAgreement",
                "name": f"{domain}-{product.replace('_', '-')}-reads-{provider}",
                "consumer": {"kind": "product", "id": f"{domain}.{product}"},
                "purpose": "analytics",
                "start": "2026-01-01",
                "end": "2027-12-31",
                "ports": [{"port": aggregate.reads, "columns": ["region", "amount"]}],
                "approvedBy": OWNER.format(domain=provider),
            },
        )
    return out


def write(target: Path = HERE) -> list[Path]:
    """Write every topology under ``target``/<name>/; returns the files written."""
    written = []
    for topology in TOPOLOGIES:
        for relative, text in files(topology).items():
            path = target / topology.name / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            written.append(path)
    return written


if __name__ == "__main__":
    count = len(write(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE))
    sys.stdout.write(f"wrote {count} files under {HERE}\n")
