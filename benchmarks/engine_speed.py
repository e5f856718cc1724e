"""A SQL product end to end on DuckDB against the same product on Spark local (issue 18).

What it measures: the sample mesh's ``sales.orders`` (the shop's raw order export, CSV, typed,
replayed rows removed with a window, joined to the customer register, checked by its contract's
rules, committed to Delta) published by each engine's ``materialize_ungoverned``: inputs read,
transform, conformance, checks, staged write and commit; Data Docs left out of both. The raw export
is generated at two sizes, 100k and 1M orders (``MESHLAKE_BENCH_SIZES`` to change them, comma
separated). Each figure is the median of ``MESHLAKE_BENCH_REPEAT`` publications (default 3) after
one warm-up per engine, every one a re-publication of the table. Spark's session is started
before the clock runs (its start, about 5 s, is printed apart): the comparison is a warm Spark.

Target: DuckDB at least 10x faster than Spark at each size (the ratio Spark / DuckDB >= 10).

    MESHLAKE_BENCH_SIZES=20000 MESHLAKE_BENCH_REPEAT=1 uv run python benchmarks/engine_speed.py
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PRODUCT = "sales.orders"
SOURCE_ORDERS = 20_000
"""Orders in the shop export at scale 1 (``domains/sales/sources/shop_orders.py``)."""
TARGET = 10.0


def main() -> int:
    from meshlake.platform import Platform, Settings
    from meshlake.platform._duck import DuckMaterializer
    from meshlake.platform._materialize import Materializer

    sizes = [
        int(size) for size in os.environ.get("MESHLAKE_BENCH_SIZES", "100000,1000000").split(",")
    ]
    repeat = int(os.environ.get("MESHLAKE_BENCH_REPEAT", "3"))
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="meshlake-engine-speed-") as scratch:
        project = Path(scratch) / "project"
        for folder in ("domains", "infra"):
            shutil.copytree(REPO / folder, project / folder)
        settings = Settings(project=project, home=project / ".meshlake", spark_master="local[2]")
        platform = Platform(settings)
        started = time.perf_counter()
        spark = platform.spark()
        spark.range(1).count()
        print(f"Spark session started in {time.perf_counter() - started:.1f} s (not counted)")
        spark_engine = Materializer(platform.mesh, spark, platform.state_home, data_docs=False)
        duck_engine = DuckMaterializer(platform.mesh, platform.state_home, data_docs=False)
        product = platform.mesh.product(PRODUCT)
        print(f"{'orders':>9} {'spark s':>8} {'duckdb s':>9} {'ratio':>7}  target >= {TARGET:g}")
        for size in sizes:
            platform.ingest(scale=size / SOURCE_ORDERS)
            spark_engine.materialize_ungoverned(platform.mesh.product("sales.customers"))

            def on_spark() -> object:
                return spark_engine.materialize_ungoverned(product, str(uuid.uuid4()))

            def on_duckdb() -> object:
                return duck_engine.materialize_ungoverned(product, str(uuid.uuid4()))

            spark_seconds = _median(on_spark, repeat)
            duck_seconds = _median(on_duckdb, repeat)
            ratio = spark_seconds / duck_seconds
            verdicts.append(ratio >= TARGET)
            print(f"{size:>9,} {spark_seconds:>8.2f} {duck_seconds:>9.2f} {ratio:>6.1f}x")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    passed = all(verdicts)
    print(
        f"{'PASS' if passed else 'FAIL'}: {PRODUCT} end to end on DuckDB against Spark local, "
        f"target >= {TARGET:g}x at every size"
    )
    return 0 if passed else 1


def _median(publish: Callable[[], object], repeat: int) -> float:
    publish()  # warm-up: caches, the JIT, the table's first version
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        publish()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


if __name__ == "__main__":
    sys.exit(main())
