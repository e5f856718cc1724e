"""What one product's Dagster step does: the platform's publish path, its result as Dagster events.

Lineage, governance's decision and the catalog record all happen inside the publish path
(``meshlake.platform.Publisher``); this module only reports what it did.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from meshlake.orchestration._checks import SCHEMA_CHECK, quality_check_results
from meshlake.orchestration._data_docs import data_docs_link
from meshlake.orchestration._keys import input_key, port_key
from meshlake.orchestration._resources import MeshlakeResource
from meshlake.platform import PortResult, ProductRef
from meshlake.platform.lineage import ColumnEdge
from meshlake.platform.specs import ProductSpec

# `meshlake run` shows these lines as progress; Dagster's own console logs stay at WARNING there.
progress = logging.getLogger("meshlake.progress")


def lineage_run_id(dagster_run_id: str, product: ProductRef) -> str:
    """An OpenLineage run per product per Dagster run (OpenLineage wants a UUID per job run)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"meshlake:{dagster_run_id}:{product}"))


def run_product(
    context: dg.AssetExecutionContext, meshlake: MeshlakeResource, ref: ProductRef
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Publish ``ref`` through the platform's one publish path; turn its result into events."""
    platform = meshlake.platform()
    home = platform.settings.state_home()
    product = platform.mesh.product(ref)
    run_id = lineage_run_id(context.run.run_id, ref)
    progress.info("%s: materializing ...", ref)
    result = platform.publisher().publish(product, run_id)
    if not result.ok:
        # Nothing was committed; every checked rule still shows, the blocking ones as failed.
        for report in result.quality:
            yield from quality_check_results(report, home)
        progress.info("%s: %s", ref, result.error or "failed")
        raise dg.Failure(description=result.error, allow_retries=False)
    for warning in result.warnings:
        context.log.warning(f"{ref}: governance ({result.gate} gate): {warning}")
    if not result.recorded:
        context.log.warning(
            f"{ref}: committed, but governance could not be reached to record the versions; "
            "the next run sends the record from the outbox (readers see the previous version)"
        )
    summary = ", ".join(
        f"{port.ref.port} v{port.version} {port.rows:,} rows" for port in result.ports
    )
    progress.info("%s: published %s", ref, summary)
    edges = result.column_lineage
    for port in result.ports:
        contract = platform.mesh.port(port.ref).contract
        metadata: dict[str, object] = {
            "dagster/row_count": port.rows,
            "meshlake/delta_version": port.version,
            "meshlake/write_mode": port.write_mode,
            "meshlake/lineage_run_id": run_id,
            "meshlake/governance_gate": result.gate or "enforce",
            "meshlake/engine": result.engine,
        }
        if result.warnings:
            metadata["meshlake/policy_warnings"] = "\n".join(result.warnings)
        lineage = _dagster_column_lineage(edges.get(port.ref.port, []), product)
        if lineage is not None:
            metadata["dagster/column_lineage"] = lineage
        problems = list(port.schema_problems)
        checks = [
            dg.AssetCheckResult(
                check_name=SCHEMA_CHECK,
                asset_key=port_key(port.ref),
                passed=not problems,
                description="; ".join(problems) or "the staged table matches its contract",
                metadata={
                    "problems": problems,
                    "contract": f"{contract.id}@{contract.version}",
                },
            )
        ]
        if port.quality is not None:
            metadata.update(_quality_metadata(port, home))
            checks += quality_check_results(port.quality, home)
        yield dg.MaterializeResult(
            asset_key=port_key(port.ref),
            metadata=metadata,  # type: ignore[arg-type]
            check_results=checks,
        )


def _quality_metadata(port: PortResult, home: Path) -> dict[str, object]:
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
        metadata["meshlake/data_docs"] = data_docs_link(report.data_docs, home)
    return metadata


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
