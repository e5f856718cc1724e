"""One named job per landing zone: every product the zone hosts, its raw drops observed first.

`meshlake run` launches these jobs (with an asset selection when it publishes only some products),
so its runs belong to a job the code location defines: the UI can show the job and re-execute the
run. The jobs run in one process, which keeps one Spark session for every asset of a run.
"""

from __future__ import annotations

import dagster as dg

from meshlake.orchestration._keys import port_key, raw_key
from meshlake.platform.specs import Mesh


def zone_job_name(zone: str) -> str:
    return f"{zone}_products"


def zone_job_keys(mesh: Mesh, zone: str) -> list[dg.AssetKey]:
    """The assets of the zone's job: its raw sources, then its products' output ports."""
    raw = [
        raw_key(source)
        for source in mesh.raw_sources.values()
        if source.domain.landing_zone == zone
    ]
    ports = [
        port_key(port.ref)
        for product in mesh.ordered()
        if product.zone.name == zone
        for port in product.ports.values()
    ]
    return [*raw, *ports]


def zone_jobs(mesh: Mesh, zones: set[str] | None) -> list[dg.UnresolvedAssetJobDefinition]:
    jobs = []
    for zone in sorted(zones if zones is not None else mesh.zones):
        keys = zone_job_keys(mesh, zone)
        if not keys:
            continue  # the governance zone hosts no products
        jobs.append(
            dg.define_asset_job(
                zone_job_name(zone),
                selection=dg.AssetSelection.assets(*keys),
                executor_def=dg.in_process_executor,
                description=(
                    f"Every data product of the landing zone {zone}, published through "
                    "governance; its raw drops are observed first."
                ),
            )
        )
    return jobs
