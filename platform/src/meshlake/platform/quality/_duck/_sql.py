"""``type: sql`` rules on DuckDB: their Spark SQL transpiled with sqlglot, or not evaluated.

A rule is written in Spark SQL (``quality/_sql.py``). sqlglot rewrites it for DuckDB; a rewrite
is trusted only when every function in it is one whose DuckDB form gives Spark's value
(``FAITHFUL``) and sqlglot reports nothing unsupported. An average or a division of decimals
is refused too: exact (a decimal) on Spark, a DOUBLE on DuckDB, so the value reported would
differ (the query is typed by sqlglot from the rows' DuckDB types). Any other rule is reported
as not evaluated, with the reason, rather than judged on a value Spark would not have given: the
product can run on Spark to evaluate it.
"""

from __future__ import annotations

from meshlake.platform.quality._compiled import CompiledRule
from meshlake.platform.quality._results import NotEvaluated
from meshlake.platform.quality._sql import PORT_VIEW, as_aggregate, render

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


def duckdb_query(
    rule: CompiledRule, view: str, columns: dict[str, str]
) -> tuple[str | None, str | None]:
    """The rule's query for DuckDB over ``view`` (whose columns have these DuckDB types), or
    (None, why it cannot be trusted)."""
    assert rule.query is not None
    spark = render(rule.query, view, rule.column)
    reason = _unfaithful(spark, {view: columns})
    if reason is not None:
        return None, reason
    return transpiled(spark)


def duckdb_aggregate(rule: CompiledRule, columns: dict[str, str]) -> str | None:
    """The rule as one DuckDB aggregate expression for the pass, or None (it runs on its own)."""
    assert rule.query is not None
    if _unfaithful(render(rule.query, PORT_VIEW, rule.column), {PORT_VIEW: columns}):
        return None
    spark = as_aggregate(rule.query, rule.column)
    if spark is None:
        return None
    sql, _ = transpiled(spark)
    return sql


def transpiled(spark_sql: str) -> tuple[str | None, str | None]:
    """Spark SQL text (a query or an expression) as DuckDB SQL, or (None, the reason)."""
    import sqlglot
    from sqlglot.errors import ErrorLevel, SqlglotError

    try:
        tree = sqlglot.parse_one(spark_sql, read="spark")
        return tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE), None
    except SqlglotError as exc:
        return None, f"sqlglot cannot write it for DuckDB ({str(exc).splitlines()[0]})"


def _unfaithful(spark_sql: str, schema: dict[str, object]) -> str | None:
    """Why DuckDB would not give Spark's value for this query, or None."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify

    faithful = tuple(getattr(exp, name) for name in _FAITHFUL_NAMES)
    try:
        tree = sqlglot.parse_one(spark_sql, read="spark")
    except SqlglotError as exc:
        return f"sqlglot cannot read it as Spark SQL ({str(exc).splitlines()[0]})"
    for node in tree.walk():
        if isinstance(node, exp.Func) and not isinstance(node, faithful):
            function = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
            return f"{function}() has no DuckDB form known to give Spark's result"
    exact = [node for node in tree.walk() if isinstance(node, exp.Avg | exp.Div)]
    if not exact:
        return None
    try:
        typed = annotate_types(qualify(tree, schema=schema, dialect="spark"), schema=schema)
    except Exception:  # sqlglot raises several kinds; untyped means unproven
        return "an average or a division whose operand types sqlglot cannot tell"
    decimals = [kind for kind in exp.DataType.REAL_TYPES if "DECIMAL" in kind.value]
    for node in typed.walk():
        if isinstance(node, exp.Avg | exp.Div):
            operands = [node.this] + ([node.expression] if isinstance(node, exp.Div) else [])
            if any(operand.is_type(*decimals) for operand in operands):
                kind = "an average" if isinstance(node, exp.Avg) else "a division"
                return f"{kind} of decimals is exact on Spark but a DOUBLE on DuckDB"
    return None


def not_evaluated(rule: CompiledRule, reason: str) -> NotEvaluated:
    """A compiled rule the DuckDB checks cannot judge faithfully, reported as such."""
    return NotEvaluated(
        port=rule.spec.port,
        name=rule.spec.name,
        kind=rule.spec.kind,
        reason=f"not evaluated on DuckDB: {reason}; run the product with engine: spark to judge it",
        column=rule.column,
        source=rule.spec.source,
        description=rule.spec.description,
    )
