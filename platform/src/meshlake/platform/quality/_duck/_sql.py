"""``type: sql`` rules on DuckDB: their Spark SQL transpiled with sqlglot, or not evaluated.

A rule is written in Spark SQL (``quality/_sql.py``). sqlglot rewrites it for DuckDB; a rewrite
is trusted only when every function in it is one whose DuckDB form gives Spark's value
(``FAITHFUL``) and sqlglot reports nothing unsupported. Any other rule is reported as not
evaluated, with the reason, rather than judged on a value Spark would not have given: the
product can run on Spark to evaluate it.
"""

from __future__ import annotations

from typing import Any

from meshlake.platform.quality._compiled import CompiledRule
from meshlake.platform.quality._results import NotEvaluated
from meshlake.platform.quality._sql import as_aggregate, render

_FAITHFUL_NAMES = (
    "Count",
    "CountIf",
    "Sum",
    "Min",
    "Max",
    "Avg",
    "Abs",
    "Coalesce",
    "Case",
    "If",
    "Cast",
    "TryCast",
    "Lower",
    "Upper",
    "Length",
    "Trim",
    "RegexpLike",
)
"""sqlglot expression classes whose DuckDB rendering is known to give Spark's result."""


def duckdb_query(rule: CompiledRule, view: str) -> tuple[str | None, str | None]:
    """The rule's query for DuckDB over ``view``, or (None, why it cannot be trusted)."""
    assert rule.query is not None
    return transpiled(render(rule.query, view, rule.column))


def duckdb_aggregate(rule: CompiledRule) -> str | None:
    """The rule as one DuckDB aggregate expression for the pass, or None (it runs on its own)."""
    assert rule.query is not None
    spark = as_aggregate(rule.query, rule.column)
    if spark is None:
        return None
    sql, _ = transpiled(spark)
    return sql


def transpiled(spark_sql: str) -> tuple[str | None, str | None]:
    """Spark SQL text (a query or an expression) as DuckDB SQL, or (None, the reason)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ErrorLevel, SqlglotError

    faithful = tuple(getattr(exp, name) for name in _FAITHFUL_NAMES)
    try:
        tree = sqlglot.parse_one(spark_sql, read="spark")
    except SqlglotError as exc:
        return None, f"sqlglot cannot read it as Spark SQL ({str(exc).splitlines()[0]})"
    for node in tree.walk():
        if isinstance(node, exp.Func) and not isinstance(node, faithful):
            function = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
            return None, f"{function}() has no DuckDB form known to give Spark's result"
    try:
        return tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE), None
    except SqlglotError as exc:
        return None, f"sqlglot cannot write it for DuckDB ({str(exc).splitlines()[0]})"


def not_evaluated(rule: CompiledRule, reason: str) -> NotEvaluated:
    """A compiled SQL rule the DuckDB checks cannot judge faithfully, reported as such."""
    return NotEvaluated(
        port=rule.spec.port,
        name=rule.spec.name,
        kind="sql",
        reason=f"not evaluated on DuckDB: {reason}; run the product with engine: spark to judge it",
        column=rule.column,
        source=rule.spec.source,
        description=rule.spec.description,
    )


def shown(value: Any) -> float | int | str | None:
    """A SQL rule's value as the Spark checks report it: numbers as numbers (whole floats as
    ints), anything else as text."""
    if value is None:
        return "None"
    result: float | int | str = value if isinstance(value, int | float) else str(value)
    if isinstance(result, float) and result.is_integer():
        result = int(result)
    return result
