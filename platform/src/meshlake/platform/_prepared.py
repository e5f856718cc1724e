"""What every engine hands the publish path: a product staged and checked, waiting for
governance's decision, and the ports it committed. Spark-free, so the DuckDB engine and the
governance client use it without loading pyspark."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping

    from meshlake.platform._ids import PortRef
    from meshlake.platform._sharing import ReadTerms
    from meshlake.platform.quality import QualityReport
    from meshlake.platform.specs import PortSpec, ProductSpec


class QuarantineVersion(Protocol):
    """The version of a port's quarantine table that a run committed, and the rows it holds."""

    @property
    def location(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def rows(self) -> int: ...
    @property
    def skipped(self) -> bool: ...


@dataclass(frozen=True)
class PortResult:
    """One committed output port: where, which Delta version this run made, how many rows."""

    ref: PortRef
    location: str
    version: int
    rows: int
    write_mode: str
    quality: QualityReport | None = None  # None when the port has no rules
    schema_problems: tuple[str, ...] = ()
    quarantine: QuarantineVersion | None = None
    """The quarantine table's version this run committed (None: nothing quarantined)."""


class PreparedPort(Protocol):
    """One staged port of a prepared product, whichever engine staged it."""

    spec: PortSpec
    location: str
    schema_problems: tuple[str, ...]

    @property
    def rows(self) -> int | None:
        """Rows in the staged files (None when they are not written yet: a merge)."""
        ...

    @property
    def schema(self) -> Any:
        """The staged schema: ``fields``, each with ``name``, ``nullable`` and a ``dataType``
        whose ``simpleString()`` is Spark's name of the type (what governance is sent)."""
        ...

    @property
    def quality(self) -> QualityReport | None: ...

    def release(self) -> None:
        """Delete what was staged and not committed; safe to call twice."""
        ...


@dataclass
class PreparedProduct:
    """A product whose every port is staged and checked, waiting for governance's decision."""

    product: ProductSpec
    run_id: str
    ports: list[Any] = field(default_factory=list)
    """The staged ports (``PreparedPort``s of the engine that staged them)."""
    input_versions: dict[str, int] = field(default_factory=dict)
    """The Delta version read of each input port on another product (by input port name)."""
    engine: str = "spark"
    """The engine that staged the product, which also commits it."""

    @property
    def reports(self) -> list[QualityReport]:
        return [port.quality for port in self.ports if port.quality is not None]

    def release(self) -> None:
        for port in self.ports:
            port.release()


def new_run_id() -> str:
    return str(uuid.uuid4())


class ProductEngine(Protocol):
    """What the publish path needs of an engine (the Spark ``Materializer``, the DuckDB one, or
    ``_duck.Engines`` choosing between them per product)."""

    last_reports: list[QualityReport]
    """The quality reports of the last ``prepare``, also when it raised."""

    def engine_for(self, product: ProductSpec) -> str:
        """``spark`` or ``duckdb``: where ``product`` will run."""
        ...

    def prepare(
        self,
        product: ProductSpec,
        run_id: str,
        input_versions: Mapping[str, int] | None = None,
        read_terms: Mapping[str, ReadTerms] | None = None,
    ) -> PreparedProduct: ...

    def commit(self, prepared: PreparedProduct) -> list[PortResult]: ...
