"""`meshlake run`: the whole mesh (or a selection) materialized through Dagster, in this process.

In-process execution keeps one Spark session for every asset of the run; the persistent instance
keeps the run, its checks and materializations for the UI.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import dagster as dg

from meshlake.orchestration._agreement_checks import CHECK_PREFIX
from meshlake.orchestration._definitions import mesh_definitions
from meshlake.orchestration._governed import governed
from meshlake.orchestration._instance import persistent_instance
from meshlake.orchestration._keys import port_key
from meshlake.platform import Platform, Settings


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
    sla_missed: list[str] = field(default_factory=list)
    """Sharing agreements whose SLA this run found missed ("port.agreement: what"): they warn,
    and count in neither checks_passed nor checks_failed (those are the contract's)."""


@dataclass
class MeshRun:
    run_id: str
    success: bool
    products: list[ProductOutcome]


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
    definitions = mesh_definitions(settings)
    keys = [port_key(port.ref) for product in plan for port in product.ports.values()]
    instance = persistent_instance(settings)
    result = dg.materialize(
        # The agreements' SLA checks come along: selecting an asset selects its checks.
        assets=[*(definitions.assets or []), *(definitions.asset_checks or [])],  # type: ignore[list-item]
        instance=instance,
        resources=dict(definitions.resources or {}),
        selection=dg.AssetSelection.assets(*keys),
        raise_on_error=False,
        tags={"meshlake/trigger": "meshlake run"},
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    outcomes = _outcomes(result, instance, [str(product.ref) for product in plan])
    return MeshRun(result.run_id, result.success, outcomes)


def _outcomes(
    result: dg.ExecuteInProcessResult, instance: dg.DagsterInstance, plan: list[str]
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
