"""OpenLineage run events for one product materialization: START, then COMPLETE or FAIL.

One product is one OpenLineage job: its namespace is the product's landing zone, its name
``domain.product``. Inputs are the Delta tables of the upstream output ports (or the raw drop folders)
the product reads; outputs are its own output ports. Every event carries the full static picture
(schemas, ownership, documentation, column lineage), so a backend that sees only one of the events
still has it; what is known only after the write (Delta version, row count) is added from
``published``.

Facets are built with openlineage-python's ``facet_v2`` classes, which fill ``_producer`` and
``_schemaURL``; meshlake passes its own producer URI rather than setting the library-wide default.
"""

from __future__ import annotations

import functools
import importlib.metadata
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    DatasetFacet,
    JobFacet,
    OutputDatasetFacet,
    RunFacet,
    column_lineage_dataset,
    dataset_version_dataset,
    datasource_dataset,
    documentation_dataset,
    documentation_job,
    error_message_run,
    job_type_job,
    lifecycle_state_change_dataset,
    output_statistics_output_dataset,
    ownership_dataset,
    ownership_job,
    processing_engine_run,
    schema_dataset,
    source_code_job,
    sql_job,
    storage_dataset,
    symlinks_dataset,
)

from meshlake.platform._locations import port_location, raw_location
from meshlake.platform.lineage._errors import LineageError
from meshlake.platform.lineage._naming import DatasetName, dataset_name
from meshlake.platform.lineage._quality import quality_facets
from meshlake.platform.specs import InputBinding, Mesh, PortSpec, ProductSpec
from meshlake.platform.specs._models import SchemaProperty, Team
from meshlake.platform.specs._types import ddl_columns, spark_type

if TYPE_CHECKING:
    # Only a type here: importing _materialize would start pyspark's import for every event.
    from meshlake.platform._materialize import PortResult
    from meshlake.platform.quality import QualityReport


@functools.cache
def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


MESHLAKE_VERSION = _version("meshlake-platform")
PRODUCER = f"https://github.com/meshlake/meshlake/tree/{MESHLAKE_VERSION}/platform"
"""The ``producer`` of meshlake's events and facets: the code that wrote them, at its version."""

EVENT_TYPES = ("START", "COMPLETE", "FAIL")
SYMLINK_NAMESPACE = "meshlake"
"""Namespace of the logical names (``domain.product.port``, raw source ids) in the symlinks facet."""
PORT_SYMLINK_TYPE = "TABLE"
RAW_SYMLINK_TYPE = "RAW_SOURCE"
INTEGRATION = "MESHLAKE"
JOB_TYPE = "DATA_PRODUCT"

DATASET_LEVEL = ""
"""The ``output_column`` of an edge that shapes the whole output (join keys, filters, grouping,
sorting) rather than one column; such edges go to the facet's ``dataset`` list. The column-lineage
analysis (``ColumnEdge``) uses the same convention."""


class ColumnEdgeLike(Protocol):
    """One column-lineage edge, as the lineage analysis produces it (``ColumnEdge``)."""

    @property
    def output_column(self) -> str: ...  # a contract column, or DATASET_LEVEL
    @property
    def input_port(self) -> str: ...
    @property
    def input_column(self) -> str: ...
    @property
    def type(self) -> str: ...  # "DIRECT" | "INDIRECT"
    @property
    def subtype(self) -> str: ...
    @property
    def provenance(self) -> str: ...  # "parsed" | "declared" | "runtime"


def product_run_event(
    event_type: str,
    *,
    mesh: Mesh,
    product: ProductSpec,
    run_id: str,
    state_home: Path,
    published: Sequence[PortResult] | None = None,
    column_lineage: Mapping[str, Iterable[ColumnEdgeLike]] | None = None,
    error: str | None = None,
    event_time: datetime | None = None,
    quality: Sequence[QualityReport] = (),
    engine: str = "spark",
) -> RunEvent:
    """The OpenLineage ``event_type`` (START, COMPLETE or FAIL) event of one run of ``product``.

    ``run_id`` is a UUID shared by the run's events. ``published`` holds the ports written (their Delta
    version and row count become the outputs' ``version`` and ``outputStatistics``); ``column_lineage``
    maps an output port name to its edges, whose ``input_port`` names one of the product's input
    ports; ``error`` is the FAIL event's message. Raises LineageError when an argument does not fit
    the product (an unknown port or column), since emitting it would publish phantom lineage.
    ``quality`` holds reports of ports that were checked but not written (a blocked publication);
    a published port's report comes with its result. ``engine`` (``spark`` or ``duckdb``) names
    the processing engine of the run.
    """
    kind = event_type.upper()
    if kind not in EVENT_TYPES:
        raise LineageError(f"event type {event_type!r} is not one of {', '.join(EVENT_TYPES)}")
    if error is not None and kind != "FAIL":
        raise LineageError(f"{product.ref}: an error message belongs on a FAIL event, not {kind}")
    results = _results_by_port(product, published or [])
    reports = {report.port.port: report for report in quality}
    reports.update({name: r.quality for name, r in results.items() if r.quality is not None})
    lineage = dict(column_lineage or {})
    unknown = sorted(set(lineage) - set(product.ports))
    if unknown:
        raise LineageError(
            f"{product.ref}: column lineage given for {', '.join(unknown)}, which is not an output "
            f"port; its ports are {', '.join(product.ports)}"
        )

    inputs = [_input_dataset(mesh, binding, state_home) for binding in product.inputs]
    input_names = {
        binding.name: DatasetName(dataset.namespace, dataset.name)
        for binding, dataset in zip(product.inputs, inputs, strict=True)
    }
    team = product_team(product)
    outputs = [
        _output_dataset(
            product,
            port,
            state_home,
            team,
            results.get(name),
            lineage.get(name, ()),
            input_names,
            reports.get(name),
        )
        for name, port in product.ports.items()
    ]
    run_facets: dict[str, RunFacet] = {
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=_version("duckdb" if engine == "duckdb" else "pyspark"),
            name=engine,
            openlineageAdapterVersion=MESHLAKE_VERSION,
            producer=PRODUCER,
        )
    }
    if error is not None:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error, programmingLanguage="python", producer=PRODUCER
        )
    moment = event_time or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return RunEvent(
        eventType=RunState[kind],
        eventTime=moment.isoformat(),
        run=Run(runId=run_id, facets=run_facets),
        job=Job(
            namespace=product.zone.name,
            name=str(product.ref),
            facets=_job_facets(product, team),
        ),
        inputs=inputs,
        outputs=outputs,
        producer=PRODUCER,
    )


def product_team(product: ProductSpec) -> Team:
    """The team answering for a product: its descriptor's team when it names owners, else the domain's."""
    team = product.descriptor.team
    return team if team is not None and team.owners else product.domain.team


# ---------------------------------------------------------------------------------------------
# Jobs


def _job_facets(product: ProductSpec, team: Team) -> dict[str, JobFacet]:
    facets: dict[str, JobFacet] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration=INTEGRATION, jobType=JOB_TYPE, producer=PRODUCER
        ),
        "ownership": ownership_job.OwnershipJobFacet(
            owners=[ownership_job.Owner(name=_owner(name), type="owner") for name in team.owners],
            producer=PRODUCER,
        ),
    }
    description = product.descriptor.description
    if description is not None and description.purpose:
        facets["documentation"] = documentation_job.DocumentationJobFacet(
            description=description.purpose.strip(), producer=PRODUCER
        )
    sql = _transform_sources(product, ".sql", "--")
    if sql:
        facets["sql"] = sql_job.SQLJobFacet(query=sql, dialect="spark", producer=PRODUCER)
    python = _transform_sources(product, ".py", "#")
    if python:
        facets["sourceCode"] = source_code_job.SourceCodeJobFacet(
            language="python", sourceCode=python, producer=PRODUCER
        )
    return facets


def _transform_sources(product: ProductSpec, suffix: str, comment: str) -> str | None:
    """The text of the product's transforms of one language; several files each under their name."""
    files = list(
        dict.fromkeys(
            port.transform_file
            for port in product.ports.values()
            if port.transform_file.suffix == suffix
        )
    )
    texts = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8").strip()
        except OSError:
            # A FAIL event may be about exactly this file being unreadable; the event still goes out.
            continue
        texts.append(f"{comment} {file.name}\n{text}" if len(files) > 1 else text)
    return "\n\n".join(texts) or None


def _owner(username: str) -> str:
    # The facet recommends URNs (user:jdoe, team:data) for owner names.
    return username if ":" in username else f"user:{username}"


# ---------------------------------------------------------------------------------------------
# Datasets


def _input_dataset(mesh: Mesh, binding: InputBinding, state_home: Path) -> InputDataset:
    facets: dict[str, DatasetFacet] = {}
    if binding.raw is not None:
        raw = binding.raw
        zone = mesh.zones[raw.domain.landing_zone]
        name = dataset_name(raw_location(zone, raw.domain.name, raw.source.name, state_home))
        facets["schema"] = _schema_facet(
            [(column, kind, None) for column, kind in ddl_columns(raw.source.schema_ddl)]
        )
        facets["symlinks"] = _symlinks_facet(raw.source.id, RAW_SYMLINK_TYPE)
    else:
        assert binding.output is not None  # an InputBinding reads a port or a raw source
        upstream = mesh.product(binding.output.product_ref)
        port = mesh.port(binding.output)
        name = dataset_name(port_location(upstream.zone, binding.output, state_home))
        facets["schema"] = _contract_schema(port.contract.columns)
        facets["symlinks"] = _symlinks_facet(str(binding.output), PORT_SYMLINK_TYPE)
        facets["storage"] = _delta_storage()
        pinned = binding.port.pinned_version
        if pinned is not None:
            facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
                datasetVersion=str(pinned), producer=PRODUCER
            )
    facets["dataSource"] = _datasource_facet(name)
    return InputDataset(namespace=name.namespace, name=name.name, facets=facets)


def _output_dataset(
    product: ProductSpec,
    port: PortSpec,
    state_home: Path,
    team: Team,
    result: PortResult | None,
    edges: Iterable[ColumnEdgeLike],
    input_names: Mapping[str, DatasetName],
    report: QualityReport | None,
) -> OutputDataset:
    name = dataset_name(port_location(product.zone, port.ref, state_home))
    facets: dict[str, DatasetFacet] = {
        "schema": _contract_schema(port.contract.columns),
        "symlinks": _symlinks_facet(str(port.ref), PORT_SYMLINK_TYPE),
        "ownership": ownership_dataset.OwnershipDatasetFacet(
            owners=[
                ownership_dataset.Owner(name=_owner(user), type="owner") for user in team.owners
            ],
            producer=PRODUCER,
        ),
        "storage": _delta_storage(),
        "dataSource": _datasource_facet(name),
    }
    documentation = _port_documentation(port)
    if documentation:
        facets["documentation"] = documentation_dataset.DocumentationDatasetFacet(
            description=documentation, contentType="text/markdown", producer=PRODUCER
        )
    lineage = _column_lineage_facet(product, port, list(edges), input_names)
    if lineage is not None:
        facets["columnLineage"] = lineage
    if report is not None:
        facets.update(quality_facets(report, PRODUCER))
    output_facets: dict[str, OutputDatasetFacet] = {}
    if result is not None:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=str(result.version), producer=PRODUCER
        )
        change = _lifecycle_change(result)
        if change is not None:
            facets["lifecycleStateChange"] = (
                lifecycle_state_change_dataset.LifecycleStateChangeDatasetFacet(
                    lifecycleStateChange=change, producer=PRODUCER
                )
            )
        output_facets["outputStatistics"] = (
            output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=result.rows, producer=PRODUCER
            )
        )
    return OutputDataset(
        namespace=name.namespace, name=name.name, facets=facets, outputFacets=output_facets
    )


def _results_by_port(
    product: ProductSpec, published: Sequence[PortResult]
) -> dict[str, PortResult]:
    results: dict[str, PortResult] = {}
    for result in published:
        if result.ref.product_ref != product.ref or result.ref.port not in product.ports:
            raise LineageError(
                f"{product.ref}: published result for {result.ref} is not one of this product's "
                f"output ports ({', '.join(product.ports)})"
            )
        results[result.ref.port] = result
    return results


def _lifecycle_change(
    result: PortResult,
) -> lifecycle_state_change_dataset.LifecycleStateChange | None:
    change = lifecycle_state_change_dataset.LifecycleStateChange
    if result.version == 0:
        return change.CREATE
    if result.write_mode == "overwrite":
        return change.OVERWRITE
    return None  # append and merge change rows, not the table; OpenLineage has no state for that


def _port_documentation(port: PortSpec) -> str | None:
    """The port's description and the contract's purpose, usage and limitations, as Markdown."""
    contract = port.contract
    parts = [port.port.description or contract.table.description]
    if contract.description is not None:
        parts.append(contract.description.purpose)
        if contract.description.usage:
            parts.append(f"**Usage.** {contract.description.usage.strip()}")
        if contract.description.limitations:
            parts.append(f"**Limitations.** {contract.description.limitations.strip()}")
    texts = [part.strip() for part in parts if part and part.strip()]
    return "\n\n".join(dict.fromkeys(texts)) or None


def _contract_schema(columns: Sequence[SchemaProperty]) -> schema_dataset.SchemaDatasetFacet:
    return _schema_facet(
        [(column.name, _column_type(column), column.description) for column in columns]
    )


def _column_type(column: SchemaProperty) -> str | None:
    try:
        return spark_type(column.logical_type, column.physical_type)
    except ValueError:
        return None  # the spec validator reports this; the event still names the column


def _schema_facet(
    columns: Sequence[tuple[str, str | None, str | None]],
) -> schema_dataset.SchemaDatasetFacet:
    return schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(
                name=name, type=kind, description=description, ordinal_position=position
            )
            for position, (name, kind, description) in enumerate(columns, start=1)
        ],
        producer=PRODUCER,
    )


def _symlinks_facet(logical_name: str, kind: str) -> symlinks_dataset.SymlinksDatasetFacet:
    return symlinks_dataset.SymlinksDatasetFacet(
        identifiers=[
            symlinks_dataset.Identifier(namespace=SYMLINK_NAMESPACE, name=logical_name, type=kind)
        ],
        producer=PRODUCER,
    )


def _delta_storage() -> storage_dataset.StorageDatasetFacet:
    return storage_dataset.StorageDatasetFacet(
        storageLayer="delta", fileFormat="parquet", producer=PRODUCER
    )


def _datasource_facet(name: DatasetName) -> datasource_dataset.DatasourceDatasetFacet:
    # The local file system's namespace is the bare word "file"; as a URI it is the root, file:///.
    uri = name.namespace if "://" in name.namespace else f"{name.namespace}:///"
    return datasource_dataset.DatasourceDatasetFacet(
        name=name.namespace, uri=uri, producer=PRODUCER
    )


def _column_lineage_facet(
    product: ProductSpec,
    port: PortSpec,
    edges: list[ColumnEdgeLike],
    input_names: Mapping[str, DatasetName],
) -> column_lineage_dataset.ColumnLineageDatasetFacet | None:
    """The columnLineage facet of one output port from its edges; None without edges.

    Edges to the same input column are one ``inputFields`` entry with one transformation per edge
    (repeats dropped); edges to :data:`DATASET_LEVEL` go under ``dataset``.
    """
    if not edges:
        return None
    columns = {column.name for column in port.contract.columns}
    per_field: dict[str, dict[tuple[str, str], list[ColumnEdgeLike]]] = {}
    dataset_wide: dict[tuple[str, str], list[ColumnEdgeLike]] = {}
    for edge in sorted(edges, key=_edge_key):
        if edge.input_port not in input_names:
            raise LineageError(
                f"{port.ref}: a column-lineage edge reads input port {edge.input_port!r}, which "
                f"{product.ref} does not have (its input ports: {', '.join(input_names) or 'none'})"
            )
        if edge.output_column == DATASET_LEVEL:
            target = dataset_wide
        else:
            if edge.output_column not in columns:
                raise LineageError(
                    f"{port.ref}: a column-lineage edge leads to column {edge.output_column!r}, "
                    "which its contract does not declare"
                )
            target = per_field.setdefault(edge.output_column, {})
        same = target.setdefault((edge.input_port, edge.input_column), [])
        if all(_transformation_key(other) != _transformation_key(edge) for other in same):
            same.append(edge)
    return column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            column: column_lineage_dataset.Fields(inputFields=_input_fields(grouped, input_names))
            for column, grouped in per_field.items()
        },
        dataset=_input_fields(dataset_wide, input_names),
        producer=PRODUCER,
    )


def _input_fields(
    grouped: Mapping[tuple[str, str], list[ColumnEdgeLike]],
    input_names: Mapping[str, DatasetName],
) -> list[column_lineage_dataset.InputField]:
    return [
        column_lineage_dataset.InputField(
            namespace=input_names[input_port].namespace,
            name=input_names[input_port].name,
            field=input_column,
            transformations=[_transformation(edge) for edge in edges],
        )
        for (input_port, input_column), edges in grouped.items()
    ]


def _transformation(edge: ColumnEdgeLike) -> column_lineage_dataset.Transformation:
    # Transformations admit extra properties; "provenance" tells a reader whether an edge was parsed
    # from SQL, declared in the contract or observed at runtime, i.e. how far to trust it.
    return column_lineage_dataset.Transformation(
        type=edge.type, subtype=edge.subtype, masking=False
    ).with_additional_properties(provenance=edge.provenance)


def _edge_key(edge: ColumnEdgeLike) -> tuple[str, ...]:
    return (edge.output_column, edge.input_port, edge.input_column, edge.type, edge.subtype)


def _transformation_key(edge: ColumnEdgeLike) -> tuple[str, str]:
    return (edge.type, edge.subtype)
