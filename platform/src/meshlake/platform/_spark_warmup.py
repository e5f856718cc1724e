"""Spark started in the background when a run is known to need it.

Starting Spark costs tens of seconds, most of it in the JVM. A run that holds a product Spark must
run (a Python transform, SQL DuckDB cannot run faithfully, inputs over DuckDB's limit) would
otherwise pay it when it reaches that product, after the DuckDB products before it. Started at the
run's beginning, the start overlaps them; a run without such a product starts no Spark.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from meshlake.platform._duck._choice import choose_engine
from meshlake.platform.specs import ProductSpec

if TYPE_CHECKING:
    from meshlake.platform._platform import Platform

log = logging.getLogger(__name__)


def products_needing_spark(platform: Platform, plan: Iterable[ProductSpec]) -> list[ProductSpec]:
    """The products of ``plan`` that will run on Spark, as far as can be told before the run."""
    return [
        product
        for product in plan
        if choose_engine(platform.mesh, product, platform.state_home).engine == "spark"
    ]


def start_spark_early(platform: Platform, plan: Iterable[ProductSpec]) -> threading.Thread | None:
    """Start, in a daemon thread, the Spark session of the first product of ``plan`` that needs one.

    It is that product's zone's session (``Platform.spark``): the product takes it when it comes,
    or waits for the start under way. A failed start is only logged here; the product that needs
    Spark starts it again and reports the error.
    """
    needing = products_needing_spark(platform, plan)
    if not needing:
        return None
    first = needing[0]
    log.info("starting Spark in the background for %s", ", ".join(str(p.ref) for p in needing))

    def start() -> None:
        try:
            platform.spark(first)
        except Exception as exc:  # reported by the product that needs Spark
            log.warning("Spark did not start in the background: %s", exc)

    thread = threading.Thread(target=start, name="meshlake-spark-warmup", daemon=True)
    thread.start()
    return thread
