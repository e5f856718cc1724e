"""`meshlake run`: the whole mesh (or a selection) materialized through Dagster, in this process.

Each landing zone's products run as its code location's job (``<zone>_products``), one Dagster run
per zone, the zones in the order their products depend on each other. In-process execution keeps
one Spark session for every asset; the persistent instance keeps the runs, their checks and
materializations for the UI, which can re-execute them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import dagster as dg

from meshlake.orchestration._agreement_checks import CHECK_PREFIX
from meshlake.orchestration._definitions import mesh_definitions
from meshlake.orchestration._governed import governed
from meshlake.orchestration._instance import persistent_instance, write_workspace
from meshlake.orchestration._jobs import zone_job_name
from meshlake.orchestration._keys import input_key, port_key
from meshlake.orchestration._origin import execute_as_location_job, job_origin
from meshlake.platform import Platform, Settings
from meshlake.platform.specs import LandingZone, ProductSpec


@dataclass
class PortOutcome:
    port: str
    rows: int | None = None
    version: int | None = None


@dataclass
class ProductOutcome:
    """How one product fared in a Dagster run: published, failed or not run (skipped)."""

    product: str
    status: str
    seconds: float = 0.0
    ports: list[PortOutcome] = field(default_factory=list)
    checks_passed: int = 0
    checks_failed: int = 0
    failed_checks: list[str] = field(default_factory=list)  # "port.check: what was found"
    error: str | None = None
    engine: str = ""
    """The engine it ran on (``spark`` or ``duckdb``); "" when nothing was published."""
    sla_missed: list[str] = field(default_factory=list)
    """Sharing agreements whose SLA this run found missed ("port.agreement: what"): they warn,
    and count in neither checks_passed nor checks_failed (those are the contract's)."""


@dataclass
class ZoneRun:
    """One Dagster run of a zone's job."""

    zone: str
    job: str
    run_id: str
    success: bool


@dataclass
class MeshRun:
    runs: list[ZoneRun]
    products: list[ProductOutcome]

    @property
    def success(self) -> bool:
        return all(run.success for run in self.runs)

    @property
    def run_id(self) -> str:
        """The Dagster run's id when one zone ran; with several, the last run's."""
        return self.runs[-1].run_id if self.runs else ""


def run_mesh(
    settings: Settings,
    products: Iterable[str] | None = None,
    with_upstream: bool = False,
) -> MeshRun:
    """Materialize products (all by default) through Dagster on the persistent local instance.

    Every product is registered in the governance catalog first; each publication is decided,
    recorded and traced by the governance service at MESHLAKE_GOVERNANCE_URL, or by an embedded
    one on 127.0.0.1 for the length of the run.
    """
    with governed(settings) as governed_settings:
        return _run(governed_settings, products, with_upstream)


def _run(settings: Settings, products: Iterable[str] | None, with_upstream: bool) -> MeshRun:
    platform = Platform(settings)
    plan = platform.plan(products, with_upstream)
    missing = platform.missing_drops(plan)
    if missing:
        platform.ingest(only=missing)
    platform.start_spark_early(plan)  # overlaps the JVM's start with the DuckDB products
    definitions = mesh_definitions(settings)
    workspace = write_workspace(settings)
    instance = persistent_instance(settings)
    outcomes = {str(product.ref): ProductOutcome(str(product.ref), "skipped") for product in plan}
    runs: list[ZoneRun] = []
    for zone, wave in zone_waves(plan):
        job = definitions.resolve_job_def(zone_job_name(zone.name))
        raw = {
            input_key(binding)
            for product in wave
            for binding in product.inputs
            if binding.raw is not None and binding.raw.domain.landing_zone == zone.name
        }
        ports = [port_key(port.ref) for product in wave for port in product.ports.values()]
        result = execute_as_location_job(
            job,
            job_origin(workspace, zone.location_name, job.name),
            instance,
            [*sorted(raw, key=str), *ports],
            tags={"meshlake/trigger": "meshlake run"},
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
        runs.append(ZoneRun(zone.name, job.name, result.run_id, result.success))
        for outcome in _outcomes(result, instance, [str(product.ref) for product in wave]):
            outcomes[outcome.product] = outcome
        if not result.success:
            break  # a later zone reads what failed here; its products stay "skipped"
    return MeshRun(runs, list(outcomes.values()))


def zone_waves(plan: list[ProductSpec]) -> list[tuple[LandingZone, list[ProductSpec]]]:
    """The plan as runs of one zone each, in an order that respects dependencies.

    Each step runs, for one zone, every remaining product of that zone whose inputs in the plan are
    published or run in the same step; a zone that can run all its remaining products is taken
    first, so the sample mesh takes one run per zone.
    """
    remaining = list(plan)
    done: set[str] = set()
    waves: list[tuple[LandingZone, list[ProductSpec]]] = []
    planned = {str(product.ref) for product in plan}
    while remaining:
        candidates = []
        for zone_name in sorted({product.zone.name for product in remaining}):
            ready: list[ProductSpec] = []
            names: set[str] = set()
            waiting = [product for product in remaining if product.zone.name == zone_name]
            added = True
            while added:  # until no more of the zone's products can join this step
                added = False
                for product in list(waiting):
                    needs = {
                        str(binding.output.product_ref)
                        for binding in product.inputs
                        if binding.output is not None
                    } & planned
                    if needs <= done | names:
                        ready.append(product)
                        names.add(str(product.ref))
                        waiting.remove(product)
                        added = True
            whole = not waiting
            candidates.append((not whole, -len(ready), zone_name, ready))
        _, _, _, wave = min(candidates, key=lambda item: item[:3])
        waves.append((wave[0].zone, wave))
        done |= {str(product.ref) for product in wave}
        remaining = [product for product in remaining if str(product.ref) not in done]
    return waves


def _outcomes(
    result: dg.JobExecutionResult, instance: dg.DagsterInstance, plan: list[str]
) -> list[ProductOutcome]:
    by_step = {name.replace(".", "__"): ProductOutcome(name, "skipped") for name in plan}
    for stat in instance.get_run_step_stats(result.run_id):
        outcome = by_step.get(stat.step_key)
        if outcome is None:
            continue
        outcome.status = "published" if stat.status and stat.status.value == "SUCCESS" else "failed"
        if stat.start_time and stat.end_time:
            outcome.seconds = stat.end_time - stat.start_time
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        assert materialization is not None
        outcome = by_step.get(event.step_key or "")
        if outcome is None:
            continue
        metadata = materialization.metadata
        engine = getattr(metadata.get("meshlake/engine"), "value", None)
        if isinstance(engine, str):
            outcome.engine = engine
        outcome.ports.append(
            PortOutcome(
                materialization.asset_key.path[-1],
                _int(metadata.get("dagster/row_count")),
                _int(metadata.get("meshlake/delta_version")),
            )
        )
    for evaluation in result.get_asset_check_evaluations():
        ref = ".".join(evaluation.asset_key.path[:2])
        outcome = by_step.get(ref.replace(".", "__"))
        if outcome is None:
            continue
        if evaluation.check_name.startswith(CHECK_PREFIX):
            if not evaluation.passed:
                outcome.sla_missed.append(
                    f"{evaluation.asset_key.path[-1]}.{evaluation.check_name}: "
                    f"{evaluation.description or 'missed'}"
                )
            continue
        if evaluation.passed:
            outcome.checks_passed += 1
        else:
            outcome.checks_failed += 1
            outcome.failed_checks.append(
                f"{evaluation.asset_key.path[-1]}.{evaluation.check_name} "
                f"[{evaluation.severity.value.lower()}]: {evaluation.description or 'failed'}"
            )
    for event in result.all_events:
        if event.is_step_failure and event.step_key in by_step:
            data = event.step_failure_data
            by_step[event.step_key].error = (
                data.error.message.strip() if data and data.error else None
            )
            if data and data.user_failure_data and data.user_failure_data.description:
                by_step[event.step_key].error = data.user_failure_data.description
    return list(by_step.values())


def _int(value: object) -> int | None:
    raw = getattr(value, "value", value)
    return int(raw) if isinstance(raw, int | float) else None
