"""The engine under the one publish path: stage a product's ports, check them, then commit them.

``Materializer.prepare`` reads the inputs (at the versions it is given), runs the transform, conforms
every port to its contract and stages it: the port's Delta files are written into its table folder
without a commit, and its rules are judged on them. Nothing is readable yet. ``commit`` then makes
one Delta commit per port. Between the two, the caller asks governance (``meshlake.platform._publish``);
``release`` removes whatever was not committed.

A merge into an existing table cannot be staged (it rewrites files it reads): its rows stay a plan,
checked like the others, and are written by ``commit``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from meshlake.platform._conform import conform, port_failure
from meshlake.platform._delivered import apply_terms
from meshlake.platform._delta import Commit, write_delta
from meshlake.platform._errors import ConformanceError, MeshlakeError, spark_error_summary
from meshlake.platform._ids import PortRef
from meshlake.platform._locations import port_location
from meshlake.platform._prepared import PortResult as PortResult
from meshlake.platform._prepared import PreparedProduct as PreparedProduct
from meshlake.platform._prepared import new_run_id as new_run_id
from meshlake.platform._raw import has_drop, raw_source_location, read_raw
from meshlake.platform._schema import schema_differences
from meshlake.platform._sharing import ReadTerms
from meshlake.platform._staged import StagedWrite, stage
from meshlake.platform._transforms import (
    TransformContext,
    TransformResult,
    frame_for_port,
    run_transform,
)
from meshlake.platform.quality import QualityError, QualityReport
from meshlake.platform.quality._engine import (
    CheckedPort,
    QualityEngine,
    Validator,
    commit_quarantine,
)
from meshlake.platform.specs import InputBinding, Mesh, PortSpec, ProductSpec


@dataclass
class StagedPort:
    """One port of a prepared product: its rows written (or planned, for a merge), not committed."""

    spec: PortSpec
    location: str
    frame: DataFrame
    staged: StagedWrite | None
    checked: CheckedPort | None
    schema_problems: tuple[str, ...]

    @property
    def rows(self) -> int | None:
        """Rows in the staged files (None for a merge, whose rows are not written yet)."""
        return self.staged.rows if self.staged is not None else None

    @property
    def schema(self) -> StructType:
        return self.staged.schema if self.staged is not None else self.frame.schema

    @property
    def quality(self) -> QualityReport | None:
        return self.checked.report if self.checked is not None else None

    def release(self) -> None:
        """Delete what was staged and not committed, free persisted rows; safe to call twice."""
        if self.staged is not None:
            self.staged.abort()
        if self.checked is not None:
            self.checked.release()


class Materializer:
    """Stages, checks and commits products of one mesh with one Spark session."""

    def __init__(
        self,
        mesh: Mesh,
        spark: SparkSession,
        state_home: Path,
        data_docs: bool = True,
        validator: Validator = "spark",
    ) -> None:
        self.mesh = mesh
        self.spark = spark
        self.state_home = state_home
        self.data_docs = data_docs
        self.validator: Validator = validator
        # The quality reports of the last prepare() call, also when it raised.
        self.last_reports: list[QualityReport] = []

    def location(self, ref: PortRef) -> str:
        return port_location(self.mesh.product(ref.product_ref).zone, ref, self.state_home)

    def read_input(self, binding: InputBinding, version: int | None = None) -> DataFrame:
        """An input port as a DataFrame: a raw drop, or a Delta table at ``version`` (the one the
        catalog published, or the port's pinned one); the latest only when neither is known."""
        if binding.raw is not None:
            location = raw_source_location(self.mesh, binding.raw, self.state_home)
            if not has_drop(location):
                raise MeshlakeError(
                    f"raw source {binding.raw.source.id} has no drop at {location}; "
                    "run `meshlake ingest` to generate the sample drops"
                )
            return read_raw(self.spark, binding.raw, location)
        assert binding.output is not None
        location = self.location(binding.output)
        reader = self.spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        try:
            return reader.load(location)
        except Exception as exc:
            at = f" at version {version}" if version is not None else ""
            raise MeshlakeError(
                f"input port {binding.name!r} reads {binding.output}{at}, which has no Delta table "
                f"at {location} (materialize it first): {spark_error_summary(exc)}"
            ) from exc

    def prepare(
        self,
        product: ProductSpec,
        run_id: str,
        input_versions: Mapping[str, int] | None = None,
        read_terms: Mapping[str, ReadTerms] | None = None,
    ) -> PreparedProduct:
        """Stage and check every port of ``product``; raise MeshlakeError with nothing left behind.

        Every port is conformed (names, types) before the first is staged, so a contract mismatch
        stops the product up front; a blocking rule on any port stages no port at all. An input
        port with ``read_terms`` (by input port name: its sharing agreement's) is read as the
        agreement delivers it.
        """
        versions = dict(input_versions or {})
        terms = dict(read_terms or {})
        self.last_reports = []
        inputs = {}
        for binding in product.inputs:
            frame = self.read_input(binding, versions.get(binding.name))
            if binding.name in terms:
                frame = apply_terms(frame, terms[binding.name])
            inputs[binding.name] = frame
        context = TransformContext(spark=self.spark, product=product, run_id=run_id)
        results: dict[Path, TransformResult] = {}
        conformed: list[tuple[PortSpec, DataFrame]] = []
        for port in product.ports.values():
            if port.transform_file not in results:
                results[port.transform_file] = run_transform(port.transform_file, inputs, context)
            frame = frame_for_port(
                results[port.transform_file], port.transform_file, str(product.ref), port.ref.port
            )
            conformed.append((port, conform(frame, port)))
        prepared = PreparedProduct(product, run_id, input_versions=versions)
        try:
            self._stage(prepared, conformed)
        except BaseException:
            prepared.release()
            raise
        return prepared

    def materialize_ungoverned(
        self, product: ProductSpec, run_id: str | None = None
    ) -> list[PortResult]:
        """Prepare and commit with no decision in between: the engine alone, for the engine's
        tests and the benchmarks' baselines. Every publication goes through ``Publisher``."""
        prepared = self.prepare(product, run_id or new_run_id())
        try:
            return self.commit(prepared)
        finally:
            prepared.release()

    def commit(self, prepared: PreparedProduct) -> list[PortResult]:
        """One Delta commit per port, each carrying the run id; the caller releases afterwards."""
        return [self._commit(port, prepared.run_id) for port in prepared.ports]

    def engine_for(self, product: ProductSpec) -> str:
        """Every product of this materializer runs on Spark."""
        return "spark"

    def _stage(
        self, prepared: PreparedProduct, conformed: list[tuple[PortSpec, DataFrame]]
    ) -> None:
        engine = QualityEngine(
            self.spark, self.state_home, prepared.run_id, self.data_docs, self.validator
        )
        for port, frame in conformed:
            location = self.location(port.ref)
            checked = engine.check(port, frame, location)
            staged = checked.staged if checked is not None else None
            rows = checked.frame if checked is not None else frame
            item = StagedPort(port, location, rows, staged, checked, ())
            prepared.ports.append(item)
            if staged is None:
                # No rules, or rules judged on persisted rows: stage the rows to publish now.
                item.staged = self._staged(port, rows, location)
        self.last_reports = prepared.reports
        if any(report.blocked for report in self.last_reports):
            raise QualityError(str(prepared.product.ref), self.last_reports)
        for item in prepared.ports:
            item.schema_problems = tuple(schema_differences(item.schema, item.spec.contract))
            if item.schema_problems:
                raise ConformanceError(
                    str(prepared.product.ref), item.spec.ref.port, list(item.schema_problems)
                )

    def _staged(self, port: PortSpec, frame: DataFrame, location: str) -> StagedWrite | None:
        try:
            return stage(self.spark, frame, location, port.write_mode)
        except Exception as exc:
            raise port_failure(
                port, exc, f"staging output port {port.ref.port!r} at {location} failed"
            ) from exc

    def _commit(self, item: StagedPort, run_id: str) -> PortResult:
        assert isinstance(item, StagedPort), "a port staged by another engine"
        port, location, checked = item.spec, item.location, item.checked
        profile = None
        if checked is not None:
            profile = checked.profile.to_metadata() if checked.profile is not None else None
        try:
            if item.staged is not None:
                commit: Commit = item.staged.commit(profile, run_id=run_id)
            else:
                commit = write_delta(
                    self.spark,
                    item.frame,
                    location,
                    port.write_mode,
                    port.contract.primary_key,
                    profile,
                    run_id=run_id,
                )
        except Exception as exc:
            raise port_failure(
                port, exc, f"writing output port {port.ref.port!r} to {location} failed"
            ) from exc
        quarantine = None
        if checked is not None:
            # After the port: rows are quarantined only when the port's version exists.
            try:
                quarantine = commit_quarantine(checked, run_id)
            except Exception as exc:
                raise port_failure(
                    port, exc, f"committing the quarantined rows of {port.ref.port!r} failed"
                ) from exc
        return PortResult(
            port.ref,
            location,
            commit.version,
            commit.rows,
            port.write_mode,
            item.quality,
            item.schema_problems,
            quarantine,
        )
