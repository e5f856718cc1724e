"""Spark products run on their landing zone's compute, one Materializer per session.

The publish path sees one engine (``Engines`` asks for "the Spark materializer" once); this one
picks the session for each product from its zone (``Platform.spark``) when it prepares and again
when it commits, and keeps a Materializer per session. A product is prepared and committed on the
same session: products run one at a time, and nothing else switches sessions in between.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from meshlake.platform._prepared import PortResult, PreparedProduct
from meshlake.platform._sharing import ReadTerms
from meshlake.platform.quality import QualityReport
from meshlake.platform.specs import ProductSpec

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from meshlake.platform._materialize import Materializer


class SparkPerZone:
    """The Spark engine of a mesh whose zones may name different computes."""

    def __init__(
        self,
        session_for: Callable[[ProductSpec], SparkSession],
        materializer_on: Callable[[SparkSession], Materializer],
    ) -> None:
        self._session_for = session_for
        self._materializer_on = materializer_on
        self._by_session: dict[int, tuple[SparkSession, Materializer]] = {}
        self.last_reports: list[QualityReport] = []

    def materializer(self, product: ProductSpec) -> Materializer:
        """The Materializer on ``product``'s zone's session (started, or switched to, now)."""
        session = self._session_for(product)
        known = self._by_session.get(id(session))
        if known is None or known[0] is not session:
            known = (session, self._materializer_on(session))
            self._by_session[id(session)] = known
        return known[1]

    def engine_for(self, product: ProductSpec) -> str:
        return "spark"

    def prepare(
        self,
        product: ProductSpec,
        run_id: str,
        input_versions: Mapping[str, int] | None = None,
        read_terms: Mapping[str, ReadTerms] | None = None,
    ) -> PreparedProduct:
        engine = self.materializer(product)
        self.last_reports = []
        try:
            return engine.prepare(product, run_id, input_versions, read_terms)
        finally:
            self.last_reports = list(engine.last_reports)

    def commit(self, prepared: PreparedProduct) -> list[PortResult]:
        return self.materializer(prepared.product).commit(prepared)
