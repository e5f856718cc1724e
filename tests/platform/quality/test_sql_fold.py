"""A plain aggregate SQL rule joins the checks' aggregate pass: only when its value is the same."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from meshlake.platform.quality._sql import as_aggregate, render

FOLDED = [
    "SELECT COUNT(*) FROM ${table} WHERE net <> gross - discount",
    "SELECT 100.0 * AVG(CASE WHEN revenue THEN 0 ELSE 1 END) FROM ${table}",
    "SELECT SUM(gross) / COUNT(*) AS mean FROM ${table} t WHERE t.discount > 0",
    "SELECT MAX(${column}) FROM ${table} WHERE gross > 1000",  # no row: NULL either way
]
NOT_FOLDED = [
    "SELECT COUNT(*) FROM ${table} GROUP BY revenue",
    "SELECT gross FROM ${table}",
    "SELECT COUNT(*) + gross FROM ${table}",
    "SELECT COUNT(*) FROM (SELECT * FROM ${table})",
    "SELECT COUNT(*), SUM(gross) FROM ${table}",
    "SELECT COUNT(DISTINCT gross) FROM ${table} LIMIT 1",
    "WITH x AS (SELECT * FROM ${table}) SELECT COUNT(*) FROM x",
]


@pytest.mark.parametrize("query", NOT_FOLDED)
def test_queries_that_are_not_one_plain_aggregate_run_on_their_own(query: str) -> None:
    assert as_aggregate(query, "gross") is None


@pytest.mark.integration
@pytest.mark.parametrize("query", FOLDED)
def test_a_folded_rule_gives_the_value_of_its_query(query: str, spark) -> None:
    rows = [(10.0, 1.0, 9.0, True), (20.0, 0.0, 19.0, False), (30.0, 5.0, 25.0, True)]
    frame = spark.createDataFrame(
        rows, "gross DOUBLE, discount DOUBLE, net DOUBLE, revenue BOOLEAN"
    )
    frame.createOrReplaceTempView("fold_rows")
    expression = as_aggregate(query, "gross")
    assert expression is not None

    folded = frame.agg(F.expr(expression)).first()[0]
    alone = spark.sql(render(query, "fold_rows", "gross")).first()[0]

    assert folded == alone
