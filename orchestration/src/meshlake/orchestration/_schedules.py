"""A schedule per product, on its own cron (its schedule, or one derived from its SLA frequency).

A product's schedule launches the product's job, so its runs carry the product tag and wait in the
run queue behind a run of the same product.
"""

from __future__ import annotations

import dagster as dg

from meshlake.orchestration._freshness import product_cron
from meshlake.orchestration._product_jobs import product_job_name
from meshlake.platform.specs import Mesh


def _status(running: bool) -> dg.DefaultScheduleStatus:
    return dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED


def product_schedules(
    mesh: Mesh,
    zones: set[str] | None,
    jobs: dict[str, dg.UnresolvedAssetJobDefinition],
    running: bool,
) -> list[dg.ScheduleDefinition]:
    """A schedule per product of ``zones`` with a cron (its schedule, or its SLA frequency)."""
    schedules = []
    for product in mesh.ordered():
        if zones is not None and product.zone.name not in zones:
            continue
        cron = product_cron(product)
        if cron is None:
            continue
        schedules.append(
            dg.ScheduleDefinition(
                name=f"{product.ref.domain}__{product.ref.name}_schedule",
                cron_schedule=cron,
                job=jobs[product_job_name(product)],
                execution_timezone="UTC",
                default_status=_status(running),
                description=f"Materializes {product.ref} ({cron}, from its product schedule or SLA frequency).",
            )
        )
    return schedules
