"""One job per data product: what its schedule, the new-inputs sensor and a person in the UI launch.

Every run of the job carries the product tag (``meshlake/product``), whoever starts it, so the run
queue of the instance at scale holds a second run of a product while one is in progress. The job
runs in one process, like the zone jobs, so a run starts Spark at most once.
"""

from __future__ import annotations

import dagster as dg

from meshlake.orchestration._instance import PRODUCT_TAG
from meshlake.orchestration._keys import port_key
from meshlake.platform.specs import ProductSpec


def product_job_name(product: ProductSpec) -> str:
    return f"{product.ref.domain}__{product.ref.name}_job"


def product_job(product: ProductSpec) -> dg.UnresolvedAssetJobDefinition:
    """The product's output ports (with their checks, the agreements' SLA checks included)."""
    return dg.define_asset_job(
        product_job_name(product),
        selection=dg.AssetSelection.assets(
            *(port_key(port.ref) for port in product.ports.values())
        ),
        executor_def=dg.in_process_executor,
        tags={PRODUCT_TAG: str(product.ref)},
        description=f"Publishes {product.ref} through governance.",
    )
