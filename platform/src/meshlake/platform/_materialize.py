"""Materialize one product: read its inputs, run its transform, conform, publish each port to Delta."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from meshlake.platform._conform import conform, port_failure
from meshlake.platform._delta import Commit, write_delta
from meshlake.platform._errors import (
    MeshlakeError,
    spark_error_summary,
)
from meshlake.platform._ids import PortRef
from meshlake.platform._locations import port_location
from meshlake.platform._raw import has_drop, raw_source_location, read_raw
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
    write_quarantine,
)
from meshlake.platform.specs import InputBinding, Mesh, PortSpec, ProductSpec


@dataclass(frozen=True)
class PortResult:
    """One published output port: where, which Delta version, how many rows."""

    ref: PortRef
    location: str
    version: int
    rows: int
    write_mode: str
    quality: QualityReport | None = None  # None when the port has no rules


@dataclass(frozen=True)
class ProductResult:
    """The outcome of one product's materialization within a run."""

    product: str
    status: str  # "published", "failed" or "skipped"
    run_id: str
    seconds: float = 0.0
    ports: list[PortResult] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "published"


class Materializer:
    """Publishes products of one mesh with one Spark session."""

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
        # The quality reports of the last materialize() call, also when it raised.
        self.last_reports: list[QualityReport] = []

    def location(self, ref: PortRef) -> str:
        return port_location(self.mesh.product(ref.product_ref).zone, ref, self.state_home)

    def read_input(self, binding: InputBinding) -> DataFrame:
        """An input port as a DataFrame: a raw drop, or a Delta table (at its pinned version if set)."""
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
        if binding.port.pinned_version is not None:
            reader = reader.option("versionAsOf", binding.port.pinned_version)
        try:
            return reader.load(location)
        except Exception as exc:
            raise MeshlakeError(
                f"input port {binding.name!r} reads {binding.output}, which has no Delta table at "
                f"{location} (materialize it first): {spark_error_summary(exc)}"
            ) from exc

    def materialize(self, product: ProductSpec, run_id: str | None = None) -> list[PortResult]:
        """Publish every output port of ``product``; raise MeshlakeError and write nothing on failure.

        A product with several ports commits each port separately; ports are conformed (names,
        static types) before the first write so a contract mismatch stops the product up front.
        """
        run_id = run_id or str(uuid.uuid4())
        self.last_reports = []
        inputs = {binding.name: self.read_input(binding) for binding in product.inputs}
        context = TransformContext(spark=self.spark, product=product, run_id=run_id)
        results: dict[Path, TransformResult] = {}
        staged: list[tuple[PortSpec, DataFrame]] = []
        for port in product.ports.values():
            if port.transform_file not in results:
                results[port.transform_file] = run_transform(port.transform_file, inputs, context)
            frame = frame_for_port(
                results[port.transform_file], port.transform_file, str(product.ref), port.ref.port
            )
            staged.append((port, conform(frame, port)))
        checked = self._check(product, staged, run_id)
        try:
            return [
                self._publish(port, frame, checked.get(port.ref.port), run_id)
                for port, frame in staged
            ]
        finally:
            for item in checked.values():
                item.release()

    def _check(
        self, product: ProductSpec, staged: list[tuple[PortSpec, DataFrame]], run_id: str
    ) -> dict[str, CheckedPort]:
        """Run every port's rules before any commit; a blocking failure commits no port at all."""
        engine = QualityEngine(self.spark, self.state_home, run_id, self.data_docs, self.validator)
        checked: dict[str, CheckedPort] = {}
        try:
            for port, frame in staged:
                result = engine.check(port, frame, self.location(port.ref))
                if result is not None:
                    checked[port.ref.port] = result
        except BaseException:
            for item in checked.values():
                item.release()
            raise
        self.last_reports = [item.report for item in checked.values()]
        if any(item.report.blocked for item in checked.values()):
            for item in checked.values():
                item.release()
            raise QualityError(str(product.ref), self.last_reports)
        return checked

    def _publish(
        self, port: PortSpec, frame: DataFrame, checked: CheckedPort | None, run_id: str
    ) -> PortResult:
        location = self.location(port.ref)
        report = None
        profile = None
        if checked is not None:
            profile = checked.profile.to_metadata() if checked.profile is not None else None
            frame = checked.frame
            report = checked.report
            if checked.quarantine is not None:
                write_quarantine(self.spark, checked.quarantine, report.quarantine_location)
        try:
            if checked is not None and checked.staged is not None:
                commit: Commit = checked.staged.commit(profile)
            else:
                commit = write_delta(
                    self.spark, frame, location, port.write_mode, port.contract.primary_key, profile
                )
        except Exception as exc:
            raise port_failure(
                port, exc, f"writing output port {port.ref.port!r} to {location} failed"
            ) from exc
        return PortResult(port.ref, location, commit.version, commit.rows, port.write_mode, report)


def materialize_all(
    materializer: Materializer,
    products: list[ProductSpec],
    progress: Callable[[int, int, ProductResult], None] | None = None,
    on_start: Callable[[int, int, ProductSpec], None] | None = None,
) -> list[ProductResult]:
    """Materialize ``products`` in the given (dependency) order; a failure skips its dependents."""
    run_id = str(uuid.uuid4())
    failed: set[str] = set()
    outcomes: list[ProductResult] = []
    for index, product in enumerate(products, start=1):
        if on_start is not None:
            on_start(index, len(products), product)
        blocked = sorted(str(ref) for ref in product.upstream if str(ref) in failed)
        if blocked:
            failed.add(str(product.ref))
            outcome = ProductResult(
                str(product.ref), "skipped", run_id, error=f"upstream failed: {', '.join(blocked)}"
            )
        else:
            started = time.perf_counter()
            try:
                ports = materializer.materialize(product, run_id)
                outcome = ProductResult(
                    str(product.ref), "published", run_id, time.perf_counter() - started, ports
                )
            except MeshlakeError as exc:
                failed.add(str(product.ref))
                outcome = ProductResult(
                    str(product.ref),
                    "failed",
                    run_id,
                    time.perf_counter() - started,
                    error=str(exc),
                )
        outcomes.append(outcome)
        if progress is not None:
            progress(index, len(products), outcome)
    return outcomes
