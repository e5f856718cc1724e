"""The price of quality checks on Spark for a realistic product, beside the pass-through one (issue 18).

What it measures: the sample mesh's ``sales.orders`` over ``MESHLAKE_BENCH_ROWS`` orders (default
5,000,000; the shop's raw CSV export, typed, replayed rows removed with a window over the order id,
joined to the customer register, then checked and committed) published by Spark's
``Materializer.materialize_ungoverned`` with its contract as shipped (pattern, sets, a quarantine
rule, ranges, the primary key) and with the same contract stripped of every rule. The two alternate,
each the median of ``MESHLAKE_BENCH_REPEAT`` publications (default 3) after one warm-up; Data Docs
are left out of both. Both read the same raw drops and the same published customers.

Target: checked / plain <= 1.15. The pass-through product of ``quality_budget.py`` (the cheapest
transform there is: its checks are about 1.3x, accepted as Spark's floor) is run after it at the
same size and printed beside it, for the record (``MESHLAKE_BENCH_PASS_THROUGH=0`` skips it).

    MESHLAKE_BENCH_ROWS=100000 MESHLAKE_BENCH_REPEAT=1 uv run python benchmarks/realistic_budget.py
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
PRODUCT = "sales.orders"
CONTRACT = Path("domains/sales/products/orders/contract.yaml")
SOURCE_ORDERS = 20_000
"""Orders in the shop export at scale 1 (``domains/sales/sources/shop_orders.py``)."""
RULE_KEYS = ("quality", "logicalTypeOptions", "unique", "primaryKey", "primaryKeyPosition")
TARGET = 1.15
ROWS = int(os.environ.get("MESHLAKE_BENCH_ROWS", "5000000"))
REPEAT = int(os.environ.get("MESHLAKE_BENCH_REPEAT", "3"))


def main() -> int:
    from meshlake.platform import Platform
    from meshlake.platform._materialize import Materializer

    print(f"load average before: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="meshlake-realistic-budget-") as scratch:
        checked_project = _copy(Path(scratch) / "checked")
        plain_project = _copy(Path(scratch) / "plain")
        _strip_rules(plain_project / CONTRACT)
        checked = Platform(_settings(checked_project))
        plain = Platform(_settings(plain_project))
        started = time.perf_counter()
        checked.ingest(scale=ROWS / SOURCE_ORDERS)
        print(f"raw drops of {ROWS:,} orders generated in {time.perf_counter() - started:.0f} s")
        _share_raw(checked.state_home, plain.state_home)
        spark = checked.spark()
        engines = {
            name: Materializer(platform.mesh, spark, platform.state_home, data_docs=False)
            for name, platform in (("checked", checked), ("plain", plain))
        }
        for engine in engines.values():
            engine.materialize_ungoverned(engine.mesh.product("sales.customers"))
        samples: dict[str, list[float]] = {name: [] for name in engines}
        rules = 0
        for round_ in range(1 + REPEAT):  # alternating; the first round warms up, uncounted
            for name, engine in engines.items():
                started = time.perf_counter()
                ports = engine.materialize_ungoverned(engine.mesh.product(PRODUCT), _run())
                if round_ > 0:
                    samples[name].append(time.perf_counter() - started)
                if name == "checked":
                    rules = len(ports[0].quality.results) if ports[0].quality else 0
                else:
                    assert ports[0].quality is None, "the plain contract still has rules"
    print(
        "runs (s):",
        {name: [round(value, 1) for value in values] for name, values in samples.items()},
    )
    timings = {name: statistics.median(values) for name, values in samples.items()}
    ratio = timings["checked"] / timings["plain"]
    print(
        f"{PRODUCT}, {ROWS:,} orders joined to their customers, {rules} rules: with checks "
        f"{timings['checked']:.1f}s / without {timings['plain']:.1f}s (medians of {REPEAT}) = "
        f"{ratio:.2f} (target <= {TARGET})"
    )
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if os.environ.get("MESHLAKE_BENCH_PASS_THROUGH", "1") != "0":
        _pass_through()
    passed = ratio <= TARGET
    print(f"{'PASS' if passed else 'FAIL'}: checks of a realistic product on Spark <= {TARGET}x")
    return 0 if passed else 1


def _copy(project: Path) -> Path:
    for folder in ("domains", "infra"):
        shutil.copytree(REPO / folder, project / folder)
    return project


def _settings(project: Path) -> Any:
    from meshlake.platform import Settings

    return Settings(project=project, home=project / ".meshlake", spark_master="local[2]")


def _strip_rules(contract: Path) -> None:
    """The contract without a rule: its schema, types and required columns stay as they are."""

    def stripped(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: stripped(value) for key, value in node.items() if key not in RULE_KEYS}
        if isinstance(node, list):
            return [stripped(item) for item in node]
        return node

    contract.write_text(yaml.safe_dump(stripped(yaml.safe_load(contract.read_text()))))


def _share_raw(source_home: Path, target_home: Path) -> None:
    """The plain project reads the very drops the checked one reads (generated once)."""
    for raw in (source_home / "lake").glob("*/_raw"):
        link = target_home / raw.relative_to(source_home)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(raw, target_is_directory=True)


def _run() -> str:
    return str(uuid.uuid4())


def _pass_through() -> None:
    print("\nfor the record, the pass-through product at the same size (quality_budget.py (a)):")
    env = {**os.environ, "MESHLAKE_BENCH_ROWS": str(ROWS), "MESHLAKE_BENCH_REPEAT": str(REPEAT)}
    script = REPO / "benchmarks" / "quality_budget.py"
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, check=False
    )
    for line in done.stdout.splitlines():
        if line.startswith(("(a)", "rows ")):
            print("  " + line)


if __name__ == "__main__":
    sys.exit(main())
