"""``type: sql`` rules: a read-only SELECT over the port's rows that returns one number.

How a query is written (ODCS leaves the dialect to the server; meshlake's is Spark SQL):

- ``${table}`` names the rows about to be published (after quarantine), as a temporary view;
  ``${column}`` names the rule's column when the rule sits under a property.
- The query returns one row; its first column is the observed value, judged by the rule's operator
  (``mustBe: 0`` for "no such row", ``mustBeLessThan: 10`` for a budget...). No row or NULL fails.

Example: ``SELECT COUNT(*) FROM ${table} WHERE net_amount > gross_amount`` with ``mustBe: 0``.

Checked with sqlglot before anything runs: one statement, a SELECT (or set operation), no DDL or
DML anywhere in it, no table but ``${table}`` and the query's own CTEs (table names are allowlisted,
because file-reading forms also parse as tables), no Java reflection, and only known columns.
"""

from __future__ import annotations

from typing import Any

PORT_VIEW = "__meshlake_port__"
_FORBIDDEN_FUNCTIONS = {"reflect", "java_method", "try_reflect"}


def render(query: str, view: str, column: str | None) -> str:
    """``query`` with its placeholders replaced: ``${table}`` by ``view``, ``${column}``."""
    text = query.replace("${table}", f"`{view}`")
    if column is not None:
        text = text.replace("${column}", f"`{column}`")
    return text


def sql_problem(query: str, columns: dict[str, Any], column: str | None) -> str | None:
    """Why ``query`` cannot be a quality rule of a port with ``columns``, or None when it can."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import OptimizeError, ParseError
    from sqlglot.optimizer.qualify import qualify

    if "${table}" not in query:
        return "the query must read the port's rows as ${table}"
    if "${column}" in query and column is None:
        return "${column} is only known for a rule under a property"
    try:
        statements = [s for s in sqlglot.parse(render(query, PORT_VIEW, column), read="spark") if s]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        return f"not valid Spark SQL: {first.get('description', exc)}"
    if len(statements) != 1:
        return f"must be one SELECT statement, found {len(statements)}"
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        return f"must be a read-only SELECT, not {tree.key.upper()}"
    forbidden = (
        exp.Insert,
        exp.Update,
        exp.Delete,
        exp.Merge,
        exp.Create,
        exp.Drop,
        exp.Alter,
        exp.Command,
        exp.Copy,
        exp.LoadData,
        exp.TruncateTable,
        exp.Into,
        exp.Cache,
        exp.Uncache,
        exp.Refresh,
        exp.Set,
        exp.Use,
    )
    for node in tree.walk():
        if isinstance(node, forbidden):
            return f"must be read-only; found {node.key.upper()}"
        if isinstance(node, exp.Anonymous) and str(node.name).lower() in _FORBIDDEN_FUNCTIONS:
            return f"calls {node.name}, which is not allowed in a quality rule"
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        plain = isinstance(table.this, exp.Identifier) and not table.db and not table.catalog
        if not plain or (table.name != PORT_VIEW and table.name not in ctes):
            return f"may read only ${{table}} (the port's rows), not {table.sql(dialect='spark')}"
    schema: dict[str, object] = {PORT_VIEW: {name: "STRING" for name in columns}}
    try:
        qualify(tree.copy(), schema=schema, dialect="spark", validate_qualify_columns=True)
    except OptimizeError as exc:
        reason = str(exc).split(". Line:")[0]
        return f"{reason}; the contract has {', '.join(columns)}"
    return None


_NOT_ONE_PASS = (
    "group",
    "having",
    "joins",
    "order",
    "limit",
    "offset",
    "distinct",
    "qualify",
    "with",
)


def as_aggregate(query: str, column: str | None) -> str | None:
    """The query as one Spark SQL aggregate expression over the port's rows, or None.

    A plain aggregate over ``${table}`` (``SELECT <aggregates> FROM ${table} [WHERE c]``, no
    grouping, join or subquery) needs no job of its own: it joins the checks' aggregate pass, its
    WHERE becomes each aggregate's ``FILTER (WHERE c)``, which gives the same value.
    """
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(render(query, PORT_VIEW, column), read="spark")
    except sqlglot.errors.SqlglotError:
        return None
    if not isinstance(tree, exp.Select) or len(tree.expressions) != 1:
        return None
    if any(tree.args.get(key) for key in _NOT_ONE_PASS):
        return None
    source = tree.args.get("from_") or tree.args.get("from")
    table = source.this if source is not None else None
    if not isinstance(table, exp.Table) or table.name != PORT_VIEW or table.args.get("db"):
        return None
    value = tree.expressions[0].unalias().copy()
    if any(value.find_all(exp.Subquery, exp.Select, exp.Window)):
        return None
    aggregates = [a for a in value.find_all(exp.AggFunc) if a.find_ancestor(exp.AggFunc) is None]
    if not aggregates or any(
        c.find_ancestor(exp.AggFunc) is None for c in value.find_all(exp.Column)
    ):
        return None
    where = tree.args.get("where")
    _unqualified(value)
    if where is not None:
        condition = _unqualified(where.this.copy())
        for aggregate in aggregates:
            filtered = exp.Filter(
                this=aggregate.copy(), expression=exp.Where(this=condition.copy())
            )
            if aggregate is value:
                value = filtered
            else:
                aggregate.replace(filtered)
    return value.sql("spark")


def _unqualified(expression: Any) -> Any:
    """``expression`` with its columns' table qualifiers dropped (the pass has no table alias)."""
    from sqlglot import exp

    for column in expression.find_all(exp.Column):
        column.set("table", None)
    return expression
