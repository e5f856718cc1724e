"""Parse a consumer's SQL, refuse what is outside the allowlist, and rewrite governed references.

Governed tables are named ``domain.product.table``; a query may write the name dotted (each part
optionally quoted: ``hr.employees.employees``) or as one quoted identifier
(``"hr.employees.employees"``); names compare case-insensitively, as DuckDB identifiers do. A
reference that resolves (through sqlglot's scopes) to a CTE is that CTE; every other table reference
must be granted and is rewritten to its grant's filtered relation, keeping the name it was written
under as alias, so masks and filters hold in joins, subqueries, CTE bodies and set operations alike.
``WITH RECURSIVE`` is refused outright: a depth rewrite would change results silently.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.optimizer.scope import Scope, traverse_scope

from meshlake.governance.services._sql._allow import (
    ALLOWED_ANONYMOUS,
    ALLOWED_FUNCTIONS,
    REFUSED_NODES,
)
from meshlake.governance.services._sql._errors import StatementRefused, TableRefused
from meshlake.governance.services._sql._model import CheckedQuery, QueryLimits, TableGrant

_STATEMENT_NAMES = [
    "Insert",
    "Update",
    "Delete",
    "Merge",
    "Create",
    "Drop",
    "Alter",
    "Command",
    "Copy",
    "Attach",
    "Detach",
    "Set",
    "Pragma",
    "Use",
    "Summarize",
    "Describe",
    "Show",
    "Install",
    "Load",
    "Export",
    "Call",
    "Transaction",
    "Commit",
    "Rollback",
    "Analyze",
    "Cache",
    "Uncache",
    "Fetch",
]
_REFUSED_STATEMENTS: tuple[type[exp.Expr], ...] = tuple(
    getattr(exp, name) for name in _STATEMENT_NAMES if hasattr(exp, name)
)


def check(
    sql: str, tables: Mapping[str, TableGrant], limits: QueryLimits | None = None
) -> CheckedQuery:
    """Return the rewritten query, or raise a ``QueryRefused`` saying what was refused and where.

    ``tables`` maps each governed name (``domain.product.table``) to the consumer's grant on it.
    """
    limits = limits or QueryLimits()
    grants = {name.lower(): grant for name, grant in tables.items()}
    try:
        root = _parse_one(sql)
        _refuse_nodes(root)
        _refuse_shadowing(root, grants)
        _rewrite_tables(root, grants)
        _clamp_limit(root, limits.row_limit)
        used = {grant.relation: grant for grant in grants.values() if _reads(root, grant.relation)}
        rewritten = root.sql(dialect="duckdb", comments=False)
    except RecursionError:
        # sqlglot parses and prints recursively: deep enough nesting exhausts Python's stack.
        raise StatementRefused(
            "the SQL nests too deeply to check; use fewer nested parentheses or subqueries"
        ) from None
    return CheckedQuery(sql=rewritten, grants=used, row_limit=limits.row_limit)


def _parse_one(sql: str) -> exp.Query:
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except ParseError as error:
        first = error.errors[0] if error.errors else {}
        where = f"line {first.get('line', '?')}, column {first.get('col', '?')}"
        what = first.get("description") or "invalid SQL"
        raise StatementRefused(f"the SQL does not parse at {where}: {what}; fix it") from error
    except TokenError as error:
        raise StatementRefused(f"the SQL does not tokenize: {error}; fix it") from error
    if len(statements) != 1:
        raise StatementRefused(
            f"send exactly one statement, got {len(statements)}; remove the extra ';' statements"
        )
    root = statements[0]
    if not isinstance(root, (exp.Select, exp.SetOperation)):
        kind = root.key.upper()
        raise StatementRefused(
            f"only SELECT (or UNION/INTERSECT/EXCEPT of SELECTs) is allowed, got {kind}: "
            f"{_snippet(root)}"
        )
    return root


def _refuse_nodes(root: exp.Expr) -> None:
    for node in root.walk():
        if isinstance(node, _REFUSED_STATEMENTS):
            raise StatementRefused(
                f"{node.key.upper()} is not allowed inside a query: {_snippet(node)}"
            )
        for kind, reason in REFUSED_NODES.items():
            if isinstance(node, kind):
                raise StatementRefused(f"{reason}: {_snippet(node)}")
        if isinstance(node, exp.With) and node.args.get("recursive"):
            raise StatementRefused(
                "WITH RECURSIVE is not allowed (unbounded recursion); use a plain CTE or a join"
            )
        if isinstance(node, exp.Func) and not _function_allowed(node):
            raise StatementRefused(
                f"function {_function_name(node)}() is not allowed: {_snippet(node)}; "
                "only aggregate, window and scalar string/date/math functions are"
            )


def _refuse_shadowing(root: exp.Expr, grants: Mapping[str, TableGrant]) -> None:
    # A CTE named like a relation would capture the rewritten references to that relation.
    relations = {grant.relation.lower() for grant in grants.values()}
    for cte in root.find_all(exp.CTE):
        if cte.alias_or_name.lower() in relations:
            raise StatementRefused(
                f"CTE name {cte.alias_or_name!r} is reserved for a governed relation; rename the CTE"
            )


def _function_allowed(node: exp.Func) -> bool:
    if isinstance(node, exp.Anonymous):
        return node.name.lower() in ALLOWED_ANONYMOUS
    return type(node) in ALLOWED_FUNCTIONS


def _function_name(node: exp.Func) -> str:
    return node.name if isinstance(node, exp.Anonymous) else node.sql_name()


def _rewrite_tables(root: exp.Expr, grants: Mapping[str, TableGrant]) -> None:
    seen: set[int] = set()
    replacements: list[tuple[exp.Table, exp.Table]] = []
    for scope in traverse_scope(root):
        for table in scope.tables:
            seen.add(id(table))
            if _is_cte(scope, table):
                continue
            replacements.append((table, _governed(table, grants)))
        _refuse_ungranted_columns(scope, grants)
    stray = [t for t in root.find_all(exp.Table) if id(t) not in seen]
    if stray:
        raise StatementRefused(f"table reference outside any query scope: {_snippet(stray[0])}")
    for old, new in replacements:
        old.replace(new)


def _refuse_ungranted_columns(scope: Scope, grants: Mapping[str, TableGrant]) -> None:
    """Name an ungranted column up front (403) rather than leave it to DuckDB's binder.

    Only columns that certainly belong to a governed table are checked: written in this SELECT and
    qualified by its alias, or unqualified in a SELECT reading only that table and not naming a
    select-list alias. The run
    connection holds granted columns only, so anything this misses still cannot be read.
    """
    governed: dict[str, TableGrant] = {}
    for name, source in scope.sources.items():
        if isinstance(source, exp.Table) and not _is_cte(scope, source):
            grant = grants.get(_table_name(source).lower())
            if grant is not None:
                governed[name] = grant
    select = scope.expression
    aliases = (
        {s.alias for s in select.expressions if isinstance(s, exp.Alias)}
        if isinstance(select, exp.Select)
        else set()
    )
    only = next(iter(governed.values())) if len(scope.sources) == 1 and governed else None
    # scope.columns also lists unqualified columns of nested subqueries (maybe correlated); only
    # the columns written directly in this SELECT are attributed here.
    own = [c for c in scope.columns if c.find_ancestor(exp.Select) is scope.expression]
    for column in own:
        grant = governed.get(column.table) if column.table else only
        if column.table == "" and column.name in aliases:
            continue
        if grant is not None and column.name.lower() not in {c.lower() for c in grant.columns}:
            raise TableRefused(
                f"column {column.name!r} is not granted to you: {_snippet(column)}; "
                f"readable columns: {list(grant.columns)}"
            )


def _table_name(table: exp.Table) -> str:
    parts = (table.args.get("catalog"), table.args.get("db"), table.this)
    return ".".join(p.name for p in parts if p)


def _is_cte(scope: Scope, table: exp.Table) -> bool:
    if table.args.get("db") or table.args.get("catalog"):
        return False
    return isinstance(scope.sources.get(table.alias_or_name), Scope)


def _governed(table: exp.Table, grants: Mapping[str, TableGrant]) -> exp.Table:
    if not isinstance(table.this, exp.Identifier):
        raise StatementRefused(f"only governed tables may be read, not {_snippet(table)}")
    name = _table_name(table)
    grant = grants.get(name.lower())
    if grant is None:
        raise TableRefused(
            f"table {name!r} is not granted to you; readable tables: {sorted(grants) or 'none'}"
        )
    alias = table.args.get("alias") or exp.TableAlias(this=table.this.copy())
    return exp.Table(this=exp.to_identifier(grant.relation), alias=alias)


def _clamp_limit(root: exp.Query, row_limit: int) -> None:
    current = root.args.get("limit")
    if current is None:
        root.set("limit", exp.Limit(expression=exp.Literal.number(row_limit)))
        return
    value = current.expression
    if not (isinstance(value, exp.Literal) and value.is_int):
        raise StatementRefused(f"LIMIT must be a whole number, got {_snippet(current)}")
    if int(value.name) > row_limit:
        current.set("expression", exp.Literal.number(row_limit))


def _reads(root: exp.Expr, relation: str) -> bool:
    return any(t.name == relation for t in root.find_all(exp.Table))


def _snippet(node: exp.Expr) -> str:
    text = node.sql(dialect="duckdb", comments=False)
    return text if len(text) <= 80 else text[:77] + "..."
