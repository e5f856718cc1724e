"""What one product's Dagster step does: lineage START, materialize, schema checks, COMPLETE or FAIL."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import dagster as dg
import httpx

from meshlake.orchestration._checks import (
    SCHEMA_CHECK,
    data_docs_link,
    quality_check_results,
)
from meshlake.orchestration._keys import input_key, port_key
from meshlake.orchestration._resources import MeshlakeResource
from meshlake.platform import MeshlakeError, ProductRef
from meshlake.platform._governance import GovernanceError
from meshlake.platform._materialize import PortResult
from meshlake.platform._schema import schema_differences
from meshlake.platform.lineage import (
    ColumnEdge,
    LineageEmitter,
    LineageError,
    product_column_lineage,
    product_run_event,
)
from meshlake.platform.quality import QualityError
from meshlake.platform.specs import Mesh, ProductSpec

# `meshlake run` shows these lines as progress; Dagster's own console logs stay at WARNING there.
progress = logging.getLogger("meshlake.progress")


def lineage_run_id(dagster_run_id: str, product: ProductRef) -> str:
    """An OpenLineage run per product per Dagster run (OpenLineage wants a UUID per job run)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"meshlake:{dagster_run_id}:{product}"))


def run_product(
    context: dg.AssetExecutionContext, meshlake: MeshlakeResource, ref: ProductRef
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    platform = meshlake.platform()
    mesh = platform.mesh
    product = mesh.product(ref)
    run_id = lineage_run_id(context.run.run_id, ref)
    emitter = LineageEmitter.from_environment(platform.state_home)
    edges = _column_lineage(context, mesh, product)

    def emit(event_type: str, **extra: object) -> None:
        event = product_run_event(
            event_type,
            mesh=mesh,
            product=product,
            run_id=run_id,
            state_home=platform.state_home,
            column_lineage=edges,
            **extra,  # type: ignore[arg-type]
        )
        emitter.emit(event)

    progress.info("%s: materializing ...", ref)
    emit("START")
    try:
        published = platform.materialize_product(str(ref), run_id)
    except QualityError as exc:
        # Nothing was committed; every rule's result still shows, the blocking ones as failed.
        emit("FAIL", error=str(exc), quality=exc.reports)
        for report in exc.reports:
            yield from quality_check_results(report)
        progress.info("%s: blocked by quality rules", ref)
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    except MeshlakeError as exc:
        emit("FAIL", error=str(exc))
        progress.info("%s: failed", ref)
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    emit("COMPLETE", published=published)
    _record_in_catalog(meshlake, product, published, run_id)
    summary = ", ".join(f"{port.ref.port} v{port.version} {port.rows:,} rows" for port in published)
    progress.info("%s: published %s", ref, summary)

    spark = platform.spark()
    for port in published:
        contract = mesh.port(port.ref).contract
        problems = schema_differences(
            spark.read.format("delta").load(port.location).schema, contract
        )
        metadata: dict[str, object] = {
            "dagster/row_count": port.rows,
            "meshlake/delta_version": port.version,
            "meshlake/write_mode": port.write_mode,
            "meshlake/lineage_run_id": run_id,
        }
        lineage = _dagster_column_lineage(edges.get(port.ref.port, []), product)
        if lineage is not None:
            metadata["dagster/column_lineage"] = lineage
        checks = [
            dg.AssetCheckResult(
                check_name=SCHEMA_CHECK,
                asset_key=port_key(port.ref),
                passed=not problems,
                description="; ".join(problems) or "the table matches its contract",
                metadata={
                    "problems": problems,
                    "contract": f"{contract.id}@{contract.version}",
                },
            )
        ]
        if port.quality is not None:
            metadata.update(_quality_metadata(port))
            checks += quality_check_results(port.quality)
        yield dg.MaterializeResult(
            asset_key=port_key(port.ref),
            metadata=metadata,  # type: ignore[arg-type]
            check_results=checks,
        )


def _quality_metadata(port: PortResult) -> dict[str, object]:
    report = port.quality
    assert report is not None
    metadata: dict[str, object] = {
        "meshlake/quality_rules_failed": len(report.failed),
        "meshlake/quality_seconds": round(report.seconds, 3),
    }
    if report.quarantine_location is not None:
        metadata["meshlake/quarantined_rows"] = report.quarantined_rows
        metadata["meshlake/quarantine_table"] = report.quarantine_location
    if report.data_docs is not None:
        metadata["meshlake/data_docs"] = data_docs_link(report.data_docs)
    return metadata


def _record_in_catalog(
    meshlake: MeshlakeResource, product: ProductSpec, published: list[PortResult], run_id: str
) -> None:
    """Publish the new versions to the governance catalog; a refusal fails the step.

    The Delta commit is already done, but a version the catalog does not hold is not a published
    product: failing here keeps downstream assets from building on it.
    """
    client = meshlake.governance()
    if client is None:
        return
    try:
        with client:
            client.publish(product, published, run_id)
    except (GovernanceError, httpx.HTTPError) as exc:
        raise dg.Failure(
            description=f"{product.ref}: the Delta versions were written but the catalog refused them: {exc}",
            allow_retries=False,
        ) from exc


def _column_lineage(
    context: dg.AssetExecutionContext, mesh: Mesh, product: ProductSpec
) -> dict[str, list[ColumnEdge]]:
    """Column lineage by port; a transform the parser cannot follow costs lineage, not the run."""
    try:
        return product_column_lineage(mesh, product)
    except LineageError as exc:
        context.log.warning(f"{product.ref}: no column lineage: {exc}")
        return {}


def _dagster_column_lineage(
    edges: list[ColumnEdge], product: ProductSpec
) -> dg.TableColumnLineage | None:
    keys = {binding.name: input_key(binding) for binding in product.inputs}
    deps: dict[str, list[dg.TableColumnDep]] = {}
    for edge in edges:
        if edge.type != "DIRECT" or edge.input_port not in keys:
            continue
        deps.setdefault(edge.output_column, []).append(
            dg.TableColumnDep(asset_key=keys[edge.input_port], column_name=edge.input_column)
        )
    return dg.TableColumnLineage(deps_by_column=deps) if deps else None
