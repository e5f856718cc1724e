"""Dagster Definitions for one landing zone (a code location) or for the whole mesh (one process).

Schedules and sensors are defined everywhere; they start running on their own only where
MESHLAKE_DAGSTER_AUTOMATION says so (`meshlake daemon`), and wait to be switched on in the UI of the
embedded default.
"""

from __future__ import annotations

import dagster as dg

from meshlake.orchestration._agreement_checks import agreement_checks
from meshlake.orchestration._assets import mesh_assets
from meshlake.orchestration._instance import DagsterSettings
from meshlake.orchestration._jobs import zone_jobs
from meshlake.orchestration._product_jobs import product_job, product_job_name
from meshlake.orchestration._resources import MeshlakeResource
from meshlake.orchestration._schedules import product_schedules
from meshlake.orchestration._sensors import new_input_sensors, sla_sensors
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
    automation = DagsterSettings()
    products = [p for p in mesh.ordered() if zones is None or p.zone.name in zones]
    jobs = {product_job_name(product): product_job(product) for product in products}
    checks = agreement_checks(mesh, zones)
    return dg.Definitions(
        assets=mesh_assets(mesh, settings, zones),
        asset_checks=checks,
        schedules=product_schedules(mesh, zones, jobs, automation.automation),
        sensors=[
            *new_input_sensors(
                mesh, zones, jobs, automation.sensor_interval, automation.automation
            ),
            *sla_sensors(_by_zone(mesh, checks), automation.sla_interval, automation.automation),
        ],
        jobs=[*zone_jobs(mesh, zones), *jobs.values()],
        resources={"meshlake": resource},
    )


def _by_zone(
    mesh: Mesh, checks: list[dg.AssetChecksDefinition]
) -> dict[str, list[dg.AssetChecksDefinition]]:
    """The checks grouped by the landing zone hosting the port they check."""
    grouped: dict[str, list[dg.AssetChecksDefinition]] = {}
    for check in checks:
        (key,) = {spec.asset_key for spec in check.check_specs}
        zone = mesh.domains[key.path[0]].landing_zone
        grouped.setdefault(zone, []).append(check)
    return grouped
