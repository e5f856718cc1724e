"""Both engines behind the one materializer shape the publish path uses: each product goes to the
engine chosen for it (``_choice``), and Spark is started only when a product needs it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from meshlake.platform._duck._choice import EngineChoice, choose_engine
from meshlake.platform._duck._materializer import ENGINE, DuckMaterializer
from meshlake.platform._errors import MaterializationError
from meshlake.platform._prepared import PortResult, PreparedProduct
from meshlake.platform._sharing import ReadTerms
from meshlake.platform.quality import QualityReport
from meshlake.platform.specs import Mesh, ProductSpec

log = logging.getLogger(__name__)


class Engines:
    """Stages and commits each product on its engine: DuckDB, or Spark made on first need.

    ``spark`` builds the Spark ``Materializer`` (and so the session); it is called at most once.
    """

    def __init__(
        self,
        mesh: Mesh,
        state_home: Path,
        spark: Callable[[], Any],
        data_docs: bool = True,
        max_input_bytes: int | None = None,
    ) -> None:
        self.mesh = mesh
        self.state_home = state_home
        self.duck = DuckMaterializer(mesh, state_home, data_docs)
        self._make_spark = spark
        self._spark: Any | None = None
        self.max_input_bytes = max_input_bytes
        self._choices: dict[str, EngineChoice] = {}
        self.last_reports: list[QualityReport] = []

    @property
    def spark_started(self) -> bool:
        return self._spark is not None

    def spark(self) -> Any:
        if self._spark is None:
            self._spark = self._make_spark()
        return self._spark

    def choose(self, product: ProductSpec) -> EngineChoice:
        """The engine for ``product`` now; kept for the ``prepare`` that follows."""
        choice = choose_engine(self.mesh, product, self.state_home, self.max_input_bytes)
        if choice.reason and not choice.refused:
            log.info("%s runs on Spark: %s", product.ref, choice.reason)
        self._choices[str(product.ref)] = choice
        return choice

    def engine_for(self, product: ProductSpec) -> str:
        return self.choose(product).engine

    def prepare(
        self,
        product: ProductSpec,
        run_id: str,
        input_versions: Mapping[str, int] | None = None,
        read_terms: Mapping[str, ReadTerms] | None = None,
    ) -> PreparedProduct:
        choice = self._choices.pop(str(product.ref), None) or self.choose(product)
        if choice.refused:
            raise MaterializationError(
                str(product.ref),
                f"engine duckdb cannot run it faithfully: {choice.reason}; "
                "set customProperties engine to spark or auto",
            )
        engine = self.duck if choice.engine == ENGINE else self.spark()
        self.last_reports = []
        try:
            prepared: PreparedProduct = engine.prepare(product, run_id, input_versions, read_terms)
        finally:
            self.last_reports = list(engine.last_reports)
        return prepared

    def commit(self, prepared: PreparedProduct) -> list[PortResult]:
        engine = self.duck if prepared.engine == ENGINE else self.spark()
        committed: list[PortResult] = engine.commit(prepared)
        return committed
