"""One Dagster multi-asset per data product: an asset per output port, with its checks.

Raw sources are observable source assets (they arrive by ingestion, not by Dagster), so the asset
graph shows the whole mesh, from file drops to consumer-aligned products. An asset of another zone
that a product reads is declared here as a reference in its own domain's group, so that no location
shows it in a "default" group.
"""

# No `from __future__ import annotations`: Dagster reads the compute function's real type hints.

from collections.abc import Iterator

import dagster as dg

from meshlake.orchestration._checks import port_check_specs
from meshlake.orchestration._execution import run_product
from meshlake.orchestration._freshness import freshness_policy
from meshlake.orchestration._keys import input_key, port_key
from meshlake.orchestration._metadata import column_schema, owners, port_description, tags, uri
from meshlake.orchestration._raw import raw_source_asset
from meshlake.orchestration._resources import MeshlakeResource
from meshlake.platform import Settings, port_location
from meshlake.platform.specs import Mesh, ProductSpec


def product_asset(product: ProductSpec, settings: Settings) -> dg.AssetsDefinition:
    deps = [input_key(binding) for binding in product.inputs]
    specs = [
        dg.AssetSpec(
            key=port_key(port.ref),
            deps=deps,
            description=port_description(product, port),
            group_name=product.domain.name,
            owners=owners(product),
            kinds={"spark", "delta"},
            tags=tags(product, port),
            freshness_policy=freshness_policy(port.contract),
            code_version=port.contract.version,
            metadata={
                "dagster/column_schema": column_schema(port.contract),
                "dagster/table_name": str(port.ref),
                "dagster/uri": uri(port_location(product.zone, port.ref, settings.state_home())),
                "meshlake/contract": f"{port.contract.id}@{port.contract.version}",
                "meshlake/transform": port.transform_file.name,
            },
        )
        for port in product.ports.values()
    ]
    checks = [spec for port in product.ports.values() for spec in port_check_specs(port)]
    ref = product.ref

    # One pool per product: with a run queue (the daemon), runs of one product never overlap; in
    # one process the publish path's product lock holds the same.
    @dg.multi_asset(
        name=f"{ref.domain}__{ref.name}",
        specs=specs,
        check_specs=checks,
        can_subset=False,
        pool=f"meshlake-{ref.domain}-{ref.name}",
    )
    def materialize_product(
        context: dg.AssetExecutionContext, meshlake: MeshlakeResource
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        yield from run_product(context, meshlake, ref)

    return materialize_product


def mesh_assets(
    mesh: Mesh, settings: Settings, zones: set[str] | None = None
) -> list[dg.AssetsDefinition | dg.AssetSpec]:
    """Assets of the products (and raw sources) hosted in ``zones``, or of the whole mesh, and
    references to the other zones' assets they read."""
    chosen = [product for product in mesh.ordered() if zones is None or product.zone.name in zones]
    raw = [
        raw_source_asset(mesh, source, settings)
        for source in mesh.raw_sources.values()
        if zones is None or source.domain.landing_zone in zones
    ]
    products = [product_asset(product, settings) for product in chosen]
    defined = {key for assets in [*raw, *products] for key in assets.keys}
    return [*raw, *products, *_references(mesh, chosen, defined)]


def _references(
    mesh: Mesh, products: list[ProductSpec], defined: set[dg.AssetKey]
) -> list[dg.AssetSpec]:
    """The other zones' ports that ``products`` read, as specs that Dagster cannot run here (the
    owning location runs them), grouped by their own domain."""
    references: dict[dg.AssetKey, dg.AssetSpec] = {}
    for product in products:
        for binding in product.inputs:
            key = input_key(binding)
            if key in defined or key in references:
                continue
            domain = key.path[0]
            owner = mesh.domains[domain].landing_zone if domain in mesh.domains else None
            references[key] = dg.AssetSpec(
                key=key,
                group_name=domain,
                description=f"Published by the landing zone {owner}; read here by {product.ref}.",
                metadata={"meshlake/landing_zone": owner or "unknown"},
            )
    return list(references.values())
