"""Dagster Definitions for one landing zone (a code location) or for the whole mesh (one process)."""

from __future__ import annotations

import dagster as dg

from meshlake.orchestration._agreement_checks import agreement_checks
from meshlake.orchestration._assets import mesh_assets
from meshlake.orchestration._freshness import product_cron
from meshlake.orchestration._jobs import zone_jobs
from meshlake.orchestration._keys import port_key
from meshlake.orchestration._resources import MeshlakeResource
from meshlake.platform import Settings, load_mesh
from meshlake.platform.specs import MESH_CACHE_DIR, Mesh


def zone_definitions(zone: str, settings: Settings) -> dg.Definitions:
    """The code location of one data landing zone: its domains' products, raw sources and schedules."""
    mesh = load_mesh(settings.project_root(), cache=settings.state_home() / MESH_CACHE_DIR)
    if zone not in mesh.zones:
        raise ValueError(f"no landing zone {zone!r}; known: {', '.join(sorted(mesh.zones))}")
    return _definitions(mesh, settings, {zone})


def mesh_definitions(settings: Settings) -> dg.Definitions:
    """Every zone in one set of definitions: what `meshlake run` executes in one process."""
    mesh = load_mesh(settings.project_root(), cache=settings.state_home() / MESH_CACHE_DIR)
    return _definitions(mesh, settings, None)


def _definitions(mesh: Mesh, settings: Settings, zones: set[str] | None) -> dg.Definitions:
    resource = MeshlakeResource(
        project=str(settings.project_root()),
        home=str(settings.state_home()),
        spark_master=settings.spark_master,
        governance_url=settings.governance_url,
        governance_token=settings.governance_token.get_secret_value()
        if settings.governance_token
        else None,
        governance_tokens={
            zone: token.get_secret_value() for zone, token in settings.governance_tokens.items()
        },
    )
    return dg.Definitions(
        assets=mesh_assets(mesh, settings, zones),
        asset_checks=agreement_checks(mesh, zones),
        schedules=_schedules(mesh, zones),
        jobs=zone_jobs(mesh, zones),
        resources={"meshlake": resource},
    )


def _schedules(mesh: Mesh, zones: set[str] | None) -> list[dg.ScheduleDefinition]:
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
                target=dg.AssetSelection.assets(
                    *(port_key(port.ref) for port in product.ports.values())
                ),
                execution_timezone="UTC",
                description=f"Materializes {product.ref} ({cron}, from its product schedule or SLA frequency).",
            )
        )
    return schedules
