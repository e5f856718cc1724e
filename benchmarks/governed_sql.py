"""Governed SQL check latency: ``check()`` (parse, allowlist, scope resolution, rewrite, LIMIT) on
a mix of typical consumer queries (plain select, join, CTE, window, set operation, subquery).

Baseline, in the same run: ``sqlglot.parse`` alone on the same queries (the floor: any check has to
parse). Each figure is printed with its ratio to the baseline.

Target: p99 of check() at most 5 ms.

    uv run python benchmarks/governed_sql.py [--repeat 2000]

Exits 0 even above the target (it is a measurement); the last line says PASS or FAIL.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import sqlglot

from meshlake.governance.services._sql import TableGrant, check

TARGET_P99_MS = 5.0

GRANTS = {
    "sales.orders.orders": TableGrant(
        relation="orders_0",
        columns=("order_id", "customer_id", "amount", "country", "ordered_at"),
        row_filter={"country": frozenset({"NL", "BE"})},
    ),
    "sales.customers.customers": TableGrant(
        relation="customers_1",
        columns=("customer_id", "email", "segment"),
        masked=frozenset({"email"}),
    ),
}

QUERIES = [
    "SELECT * FROM sales.orders.orders WHERE amount > 100",
    "SELECT c.segment, sum(o.amount) AS revenue FROM sales.orders.orders o "
    "JOIN sales.customers.customers c ON o.customer_id = c.customer_id GROUP BY 1 ORDER BY 2 DESC",
    "WITH big AS (SELECT customer_id, amount FROM sales.orders.orders WHERE amount > 50) "
    "SELECT customer_id, count(*) FROM big GROUP BY 1 HAVING count(*) > 2 LIMIT 100",
    "SELECT order_id, row_number() OVER (PARTITION BY customer_id ORDER BY ordered_at) AS n "
    "FROM sales.orders.orders",
    "SELECT customer_id FROM sales.orders.orders UNION SELECT customer_id "
    "FROM sales.customers.customers WHERE segment = 'smb'",
    "SELECT email FROM sales.customers.customers WHERE customer_id IN "
    "(SELECT customer_id FROM sales.orders.orders WHERE date_trunc('month', ordered_at) "
    "= DATE '2026-01-01')",
]


def percentiles(fn: Callable[[str], object], repeat: int) -> tuple[float, float]:
    """p50 and p99 in milliseconds of ``fn`` over the query mix, ``repeat`` calls in all."""
    samples: list[float] = []
    for i in range(repeat):
        sql = QUERIES[i % len(QUERIES)]
        start = time.perf_counter()
        fn(sql)
        samples.append((time.perf_counter() - start) * 1000)
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49], cuts[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    for sql in QUERIES:  # warm up, and make sure every sample query passes the check
        check(sql, GRANTS)
    base50, base99 = percentiles(lambda sql: sqlglot.parse(sql, read="duckdb"), args.repeat)
    p50, p99 = percentiles(lambda sql: check(sql, GRANTS), args.repeat)
    print(f"baseline sqlglot.parse: p50 {base50:.3f} ms, p99 {base99:.3f} ms")
    print(
        f"check()+rewrite:        p50 {p50:.3f} ms ({p50 / base50:.1f}x), "
        f"p99 {p99:.3f} ms ({p99 / base99:.1f}x); target p99 <= {TARGET_P99_MS} ms"
    )
    print("PASS" if p99 <= TARGET_P99_MS else "FAIL")


if __name__ == "__main__":
    main()
