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


def products_needing_spark(platform: Platform, plan: Iterable[ProductSpec]) -> list[str]:
    """The products of ``plan`` that will run on Spark, as far as can be told before the run."""
    return [
        str(product.ref)
        for product in plan
        if choose_engine(platform.mesh, product, platform.state_home).engine == "spark"
    ]


def start_spark_early(platform: Platform, plan: Iterable[ProductSpec]) -> threading.Thread | None:
    """Start the process's Spark session in a daemon thread if ``plan`` needs it.

    The session is the process's one (``spark_session``): the product that needs it takes it, or
    waits for the start under way. A failed start is only logged here; the product that needs
    Spark starts it again and reports the error.
    """
    needing = products_needing_spark(platform, plan)
    if not needing:
        return None
    log.info("starting Spark in the background for %s", ", ".join(needing))

    def start() -> None:
        try:
            platform.spark()
        except Exception as exc:  # reported by the product that needs Spark
            log.warning("Spark did not start in the background: %s", exc)

    thread = threading.Thread(target=start, name="meshlake-spark-warmup", daemon=True)
    thread.start()
    return thread
