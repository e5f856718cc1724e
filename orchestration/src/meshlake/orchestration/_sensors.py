"""A sensor per landing zone: run a product when one of its input ports publishes a new version.

The published versions come from the governance catalog (``/datasets/{port}/published``), the one
place that says which Delta version readers read, whichever code location, zone or tool (`meshlake
run`, `meshlake materialize`, another zone's daemon run) published it. Dagster's declarative
automation would see only the materializations recorded in this Dagster instance, so it would miss
a product published elsewhere; the catalog sees all of them.

The cursor holds the versions last seen, per input port. The first evaluation only records them
(a sensor switched on does not re-run the whole zone for what was published before); from then on,
each new version requests one run of every product of the zone that reads the port, keyed by the
versions it reads, so a version never triggers a product twice.
"""

# No `from __future__ import annotations`: Dagster reads the sensor function's real type hints.

import json

import dagster as dg

from meshlake.orchestration._product_jobs import product_job_name
from meshlake.orchestration._resources import MeshlakeResource
from meshlake.platform import GovernanceClient, PortRef
from meshlake.platform.specs import Mesh, ProductSpec

TRIGGER_TAG = "meshlake/trigger"
INPUTS_TAG = "meshlake/inputs"


def sensor_name(zone: str) -> str:
    return f"{zone}_new_inputs"


def new_input_sensors(
    mesh: Mesh,
    zones: set[str] | None,
    jobs: "dict[str, dg.UnresolvedAssetJobDefinition]",
    interval: int,
    running: bool,
) -> list[dg.SensorDefinition]:
    """The sensors of ``zones`` (all by default) whose products read other products' ports;
    ``jobs`` are the product jobs by name, which the sensors request runs of."""
    sensors = []
    for zone in sorted(zones if zones is not None else mesh.zones):
        readers = [
            product
            for product in mesh.ordered()
            if product.zone.name == zone and _product_inputs(product)
        ]
        if readers:
            targets = [jobs[product_job_name(product)] for product in readers]
            sensors.append(_sensor(zone, readers, targets, interval, running))
    return sensors


def _product_inputs(product: ProductSpec) -> list[str]:
    return sorted({str(binding.output) for binding in product.inputs if binding.output})


def _status(running: bool) -> dg.DefaultSensorStatus:
    """Running from the start (MESHLAKE_DAGSTER_AUTOMATION) or waiting to be switched on."""
    return dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED


def _sensor(
    zone: str,
    readers: list[ProductSpec],
    targets: "list[dg.UnresolvedAssetJobDefinition]",
    interval: int,
    running: bool,
) -> dg.SensorDefinition:
    watched = sorted({port for product in readers for port in _product_inputs(product)})

    @dg.sensor(
        name=sensor_name(zone),
        jobs=targets,
        minimum_interval_seconds=interval,
        default_status=_status(running),
        description=(
            f"Runs a product of the landing zone {zone} when an input port it reads publishes a "
            f"new version in the governance catalog (watches {', '.join(watched)})."
        ),
    )
    def new_inputs(
        context: dg.SensorEvaluationContext, meshlake: MeshlakeResource
    ) -> dg.SensorResult | dg.SkipReason:
        settings = meshlake.settings
        if settings.governance_url is None:
            return dg.SkipReason("no governance service (MESHLAKE_GOVERNANCE_URL) to ask")
        with GovernanceClient(
            str(settings.governance_url), settings.governance_token_for(zone)
        ) as client:
            current = {port: _published(client, port) for port in watched}
        if context.cursor is None:
            return dg.SensorResult(
                skip_reason=f"first evaluation: recorded the published versions {current}",
                cursor=json.dumps(current),
            )
        seen = json.loads(context.cursor)
        requests = []
        for product in readers:
            inputs = _product_inputs(product)
            changed = [
                port
                for port in inputs
                if current[port] is not None and current[port] != seen.get(port)
            ]
            if not changed:
                continue
            versions = ",".join(f"{port}@{current[port]}" for port in inputs)
            requests.append(
                dg.RunRequest(
                    job_name=product_job_name(product),
                    run_key=f"{product.ref}:{versions}",
                    tags={
                        TRIGGER_TAG: f"new version of {', '.join(changed)}",
                        INPUTS_TAG: versions,
                    },
                )
            )
        return dg.SensorResult(
            run_requests=requests,
            skip_reason=None if requests else "no input port published a new version",
            cursor=json.dumps(current),
        )

    return new_inputs


def _published(client: GovernanceClient, port: str) -> int | None:
    return client.published_version(PortRef.parse(port))


def sla_job_name(zone: str) -> str:
    return f"{zone}_agreement_slas"


def sla_sensors(
    checks: dict[str, list[dg.AssetChecksDefinition]], interval: int, running: bool
) -> list[dg.SensorDefinition]:
    """Per zone (``checks`` by zone), a sensor that runs the SLA checks of the agreements on its
    ports every ``interval`` seconds: no publication, only the measurement, so a consumer's SLA is
    measured (and a breach opens its incident in governance) even when nothing publishes. A
    sensor rather than a schedule: the interval is in seconds, and the zone's schedules stay one
    per product."""
    sensors = []
    for zone, zone_checks in sorted(checks.items()):
        if not zone_checks:
            continue
        job = dg.define_asset_job(
            sla_job_name(zone),
            selection=dg.AssetSelection.checks(*zone_checks),
            executor_def=dg.in_process_executor,
            description=f"Measures the SLAs of the sharing agreements on the ports of {zone}.",
        )

        @dg.sensor(
            name=f"{zone}_agreement_slas",
            job=job,
            minimum_interval_seconds=interval,
            default_status=_status(running),
            description=(
                f"Asks governance to measure the agreements on {zone}'s ports every "
                f"{interval} s (their SLA checks, without publishing)."
            ),
        )
        def measure_slas(context: dg.SensorEvaluationContext) -> dg.RunRequest:
            return dg.RunRequest(tags={TRIGGER_TAG: "agreement SLA measurement"})

        sensors.append(measure_slas)
    return sensors
