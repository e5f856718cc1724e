"""Governed aggregate cost: GROUP BY over 1M rows of a table with one masked column, through the
services governed SQL uses (``check``, the grant cut to the columns the query names, ``filtered``
and ``run`` on a locked DuckDB; no HTTP, no Delta read), against plain DuckDB on the same Arrow
table (the baseline, measured in the same run, same thread count: MESHLAKE_QUERY_THREADS' default
is 1), so the ratio is governance's overhead.

Two queries:
- ``by country``: orders and revenue per country; the masked e-mail column is not read.
- ``customers``: distinct customers per country, over the masked e-mail. Its baseline computes the
  same masked answer in plain DuckDB (``count(DISTINCT sha256(...))``): hashing is the masking rule,
  not overhead. Its ratio to the unmasked plain query is printed too, as the price of masking.

Target: each governed median at most 1.5x its baseline.

    uv run python benchmarks/governed_query.py [--rows 1000000] [--repeat 11] [--threads 1]

Exits 0 even above the target (it is a measurement); the last line says PASS or FAIL.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from meshlake.governance.services._query import narrowed_grant, referred_names
from meshlake.governance.services._sql import CheckedQuery, QueryLimits, TableGrant, check, run

TARGET_RATIO = 1.5
COUNTRIES = ["NL", "BE", "DE", "FR", "ES", "IT", "PL", "SE"]

GRANT = TableGrant(
    relation="sales__orders__orders",
    columns=("order_id", "customer_email", "country", "amount"),
    masked=frozenset({"customer_email"}),
)
TABLE = "sales.orders.orders"
BY_COUNTRY = (
    "SELECT country, count(*) AS orders, sum(amount) AS revenue "
    f"FROM {TABLE} GROUP BY country ORDER BY country"
)
CUSTOMERS = (
    "SELECT country, count(DISTINCT customer_email) AS customers "
    f"FROM {TABLE} GROUP BY country ORDER BY country"
)
CUSTOMERS_MASKED_PLAIN = CUSTOMERS.replace(
    "DISTINCT customer_email", "DISTINCT sha256(customer_email)"
)


def orders(rows: int) -> pa.Table:
    """``rows`` orders from 50k customers in eight countries."""
    index = pa.array(range(rows), type=pa.int64())
    customer = pc.bit_wise_and(pc.multiply(index, 7919), 65535)
    return pa.table(
        {
            "order_id": index,
            "customer_email": pc.binary_join_element_wise(
                "c", pc.cast(customer, pa.string()), "@example.com", ""
            ),
            "country": pc.take(pa.array(COUNTRIES), pc.bit_wise_and(index, 7)),
            "amount": pc.divide(pc.cast(pc.bit_wise_and(index, 1023), pa.float64()), 10.0),
            "ssn": pc.cast(index, pa.string()),  # not granted: never reaches DuckDB
        }
    )


def timed(
    first: Callable[[], pa.Table], second: Callable[[], pa.Table], repeat: int
) -> tuple[float, float, pa.Table, pa.Table]:
    """Median seconds of ``first`` and ``second`` over ``repeat`` calls each (after a warm-up),
    interleaved so that load from other processes falls on both alike; and their results."""
    a, b = first(), second()
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, kept in ((first, samples[0]), (second, samples[1])):
            start = time.perf_counter()
            fn()
            kept.append(time.perf_counter() - start)
    return statistics.median(samples[0]), statistics.median(samples[1]), a, b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    data = orders(args.rows)
    limits = QueryLimits(row_limit=1000, memory_limit="1GB", threads=args.threads)

    def governed(sql: str) -> Callable[[], pa.Table]:
        def query() -> pa.Table:
            checked = check(sql, {TABLE: GRANT}, limits)
            grant = narrowed_grant(GRANT, referred_names(checked.sql))
            cut = CheckedQuery(checked.sql, {grant.relation: grant}, checked.row_limit)
            return run(cut, {grant.relation: data}, limits)

        return query

    def plain(sql: str) -> Callable[[], pa.Table]:
        def query() -> pa.Table:
            with duckdb.connect(":memory:", config={"threads": args.threads}) as connection:
                connection.register("orders", data)
                return connection.sql(sql.replace(TABLE, "orders")).to_arrow_table()

        return query

    print(f"rows {args.rows:,}, threads {args.threads}, median of {args.repeat}")
    ratios = []
    cases = [
        ("by country", BY_COUNTRY, BY_COUNTRY),
        ("customers", CUSTOMERS, CUSTOMERS_MASKED_PLAIN),
    ]
    for name, sql, baseline_sql in cases:
        base, cost, expected, got = timed(plain(baseline_sql), governed(sql), args.repeat)
        assert got.to_pylist() == expected.to_pylist(), f"{name}: the answers differ"
        ratios.append(cost / base)
        print(
            f"{name:11} plain {base * 1000:7.1f} ms, governed {cost * 1000:7.1f} ms "
            f"({cost / base:.2f}x; target <= {TARGET_RATIO}x)"
        )
    unmasked, cost, _, _ = timed(plain(CUSTOMERS), governed(CUSTOMERS), args.repeat)
    print(
        f"customers   plain without the mask {unmasked * 1000:7.1f} ms (masking's price: "
        f"governed is {cost / unmasked:.2f}x of it)"
    )
    print("PASS" if max(ratios) <= TARGET_RATIO else "FAIL")


if __name__ == "__main__":
    main()
