"""Column lineage of a transform: parsed from its Spark SQL, or declared on its contract.

The edges are shaped for the OpenLineage ``ColumnLineageDatasetFacet`` (v1.2): an edge to an
output column goes into ``fields[output_column].inputFields``; an edge whose ``output_column`` is
:data:`DATASET_LEVEL` goes into the facet's ``dataset`` list (a column that shapes the whole
output: join keys, filters, grouping, sorting, a deduplicating window).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope
from sqlglot.tokens import Token

from meshlake.platform.lineage._errors import LineageError
from meshlake.platform.lineage._limits import TOO_DEEP, Deadline, check_sql_text, check_sql_tree

DIRECT: Final = "DIRECT"
INDIRECT: Final = "INDIRECT"
IDENTITY: Final = "IDENTITY"
TRANSFORMATION: Final = "TRANSFORMATION"
AGGREGATION: Final = "AGGREGATION"
JOIN: Final = "JOIN"
GROUP_BY: Final = "GROUP_BY"
FILTER: Final = "FILTER"
SORT: Final = "SORT"
WINDOW: Final = "WINDOW"
CONDITIONAL: Final = "CONDITIONAL"

DATASET_LEVEL: Final = ""
"""The ``output_column`` of an edge that affects the whole output dataset, not one column."""

_DIRECT_RANK: Final = {IDENTITY: 0, TRANSFORMATION: 1, AGGREGATION: 2}
# Window functions that return one row's value unchanged (navigation), not a value aggregated over
# the frame, even though sqlglot classes them as aggregates.
_NAVIGATION: Final = (
    exp.Lag,
    exp.Lead,
    exp.FirstValue,
    exp.LastValue,
    exp.NthValue,
    exp.First,
    exp.Last,
    exp.AnyValue,
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_UNRESOLVED = re.compile(r"Column '([^']+)' could not be resolved|Unknown column: (\S+)")


@dataclass(frozen=True, order=True)
class ColumnEdge:
    """One output column depends on one input column.

    ``output_column`` is :data:`DATASET_LEVEL` (``""``) for an indirect dependency of the whole
    output (OpenLineage's ``dataset`` list) rather than of one column.
    """

    output_column: str  # column of the output port (contract column name), or DATASET_LEVEL
    input_port: str  # input port name (= the table name in transform.sql)
    input_column: str  # column of that input
    type: str  # OpenLineage transformation type: "DIRECT" or "INDIRECT"
    subtype: str  # DIRECT: IDENTITY | TRANSFORMATION | AGGREGATION; INDIRECT: JOIN | GROUP_BY | FILTER | SORT | WINDOW | CONDITIONAL
    provenance: str  # "parsed" (from SQL) | "declared" (from the contract) | "runtime"

    @property
    def is_dataset_level(self) -> bool:
        """Whether the edge belongs in the facet's ``dataset`` list rather than in ``fields``."""
        return self.output_column == DATASET_LEVEL


# A dependency while walking: (input port, input column, type, subtype), names as in input_schemas.
_Dep = tuple[str, str, str, str]
_Context = tuple[str, str]


def sql_column_lineage(
    sql: str,
    input_schemas: dict[str, list[str]],
    output_columns: list[str],
    dialect: str = "spark",
) -> list[ColumnEdge]:
    """The column lineage of one SQL transform, sorted, with provenance ``"parsed"``.

    ``input_schemas`` maps each input port name (the table name the SQL reads) to its columns;
    ``output_columns`` are the output port's contract columns. Names match case-insensitively, as
    in Spark, and edges carry the spelling of ``input_schemas`` and ``output_columns``.

    Direct edges say which input columns an output column is computed from: IDENTITY when passed
    through unchanged (possibly renamed), AGGREGATION under an aggregate function, TRANSFORMATION
    otherwise. Indirect edges are split as the OpenLineage ColumnLineageDatasetFacet v1.2 splits
    them, each kept once (never repeated for every output column):

    - per output column (the facet's ``fields``): CONDITIONAL for the conditions of a CASE or IF
      that picks between column values, WINDOW for the PARTITION BY / ORDER BY of a window
      function that computes the column, and the filters of a scalar subquery or an aggregate's
      FILTER (WHERE) that computes it;
    - for the whole dataset (``edge.is_dataset_level``, the facet's ``dataset``): JOIN conditions,
      WHERE / HAVING / QUALIFY (FILTER), GROUP BY, ORDER BY (SORT), in the query and in every CTE
      or subquery that feeds its FROM (also one that is LEFT JOINed: its filters then shape values
      rather than rows, which the facet cannot tell apart).

    So a facet builder routes on ``is_dataset_level`` alone, not on the subtype: a dataset-level
    edge may be WINDOW or CONDITIONAL too. Through CTEs and subqueries edges compose as
    openlineage-java's ``TransformationInfo.merge`` does: an INDIRECT edge keeps its own subtype
    (the PARTITION BY / ORDER BY of a ``row_number()`` dedup filtered in an outer query are
    dataset-level WINDOW edges); DIRECT under an INDIRECT clause takes the clause's subtype (a
    column filtered on is FILTER); DIRECT over DIRECT keeps the stronger subtype (IDENTITY <
    TRANSFORMATION < AGGREGATION). A CASE whose branches are all constants is a lookup over its
    conditions (``CASE x WHEN 'a' THEN 'A' END`` is a function of x, like ``x > 0 AS flag``), so
    those columns are DIRECT TRANSFORMATION rather than CONDITIONAL. An output column with no
    input column (a literal, ``count(*)``) has no edge of its own.

    Every edge names an output column of ``output_columns`` (or DATASET_LEVEL) and a column of an
    input port. Raises LineageError, naming the table or column, when the SQL does not parse,
    reads a table that is not an input port (a CTE, yes; a file path or ``read_parquet(...)``, no),
    references a column no input has, or does not produce an output column.

    >>> edges = sql_column_lineage(
    ...     "SELECT id, upper(name) AS name FROM people WHERE active",
    ...     {"people": ["id", "name", "active"]},
    ...     ["id", "name"],
    ... )
    >>> [(e.output_column, e.input_column, e.type, e.subtype) for e in edges]
    [('', 'active', 'INDIRECT', 'FILTER'), ('id', 'id', 'DIRECT', 'IDENTITY'), ('name', 'name', 'DIRECT', 'TRANSFORMATION')]
    """
    schemas = tuple((port, tuple(columns)) for port, columns in input_schemas.items())
    return list(_sql_column_lineage(sql, schemas, tuple(output_columns), dialect))


# Lineage is asked for again for the same transform (each run's START and COMPLETE events, every
# review, validation then the run in one process); parsing and qualifying are most of the cost, so
# answers are kept per exact input, enough of them for a mesh of a few thousand transforms.
@functools.lru_cache(maxsize=4096)
def _sql_column_lineage(
    sql: str,
    input_schemas: tuple[tuple[str, tuple[str, ...]], ...],
    output_columns: tuple[str, ...],
    dialect: str,
) -> tuple[ColumnEdge, ...]:
    # The bounds of meshlake validate hold here too (:mod:`._limits`): a run, a review and the
    # service never follow SQL that validate would refuse, and never hang on it.
    try:
        walker = _Walker(sql, dict(input_schemas), dialect, Deadline())
        produced = walker.output_lineage()
        dataset = walker.dataset_lineage()
    except RecursionError:
        raise LineageError(TOO_DEEP, line=1) from None
    edges: set[ColumnEdge] = set()
    for output in output_columns:
        deps = produced.get(output.lower())
        if deps is None:
            raise LineageError(
                f"output column {output!r} is not produced by the transform's SELECT (it "
                f"produces {', '.join(sorted(produced)) or 'no named columns'}); add it to the "
                "SELECT or remove it from the contract",
                column=output,
            )
        edges.update(ColumnEdge(output, *dep, "parsed") for dep in deps)
    edges.update(ColumnEdge(DATASET_LEVEL, *dep, "parsed") for dep in dataset)
    return tuple(sorted(edges))


def declared_column_lineage(
    transform_sources: dict[str, list[str]], input_schemas: dict[str, list[str]]
) -> list[ColumnEdge]:
    """Edges declared by ODCS ``transformSourceObjects``, sorted, with provenance ``"declared"``.

    ``transform_sources`` maps an output column to its sources as ``"input_port.column"``; every
    declared source is a DIRECT TRANSFORMATION edge (a declaration does not say more). Names match
    case-insensitively; an unknown port or column raises LineageError naming it.
    """
    ports = {port.lower(): port for port in input_schemas}
    edges: set[ColumnEdge] = set()
    for output, sources in transform_sources.items():
        for source in sources:
            port_name, dot, column_name = source.partition(".")
            if not dot or not port_name or not column_name:
                raise LineageError(
                    f"transformSourceObjects of column {output!r}: {source!r} is not "
                    "'input_port.column'",
                    column=output,
                )
            port = ports.get(port_name.lower())
            if port is None:
                raise LineageError(
                    f"transformSourceObjects of column {output!r}: {port_name!r} is not an input "
                    f"port (input ports: {', '.join(sorted(input_schemas)) or 'none'})",
                    table=port_name,
                    column=output,
                )
            columns = {column.lower(): column for column in input_schemas[port]}
            column = columns.get(column_name.lower())
            if column is None:
                raise LineageError(
                    f"transformSourceObjects of column {output!r}: input port {port!r} has no "
                    f"column {column_name!r}",
                    table=port,
                    column=column_name,
                )
            edges.add(ColumnEdge(output, port, column, DIRECT, TRANSFORMATION, "declared"))
    return sorted(edges)


def _compose(context: _Context, dep: _Dep) -> _Dep:
    """A dependency seen through an outer expression: the innermost indirect mechanism names it."""
    port, column, dep_type, dep_subtype = dep
    if dep_type == INDIRECT:
        return dep
    context_type, context_subtype = context
    if context_type == INDIRECT:
        return (port, column, INDIRECT, context_subtype)
    return (port, column, DIRECT, max(context_subtype, dep_subtype, key=_DIRECT_RANK.__getitem__))


def _parse(sql: str, tokens: list[Token] | None, dialect: str) -> exp.Expr:
    """``sqlglot.parse_one`` over the tokens the bounds check already made (when it could)."""
    if tokens is None:
        return sqlglot.parse_one(sql, dialect=dialect)
    statements = Dialect.get_or_raise(dialect).parser().parse(tokens, sql)
    if not statements or statements[0] is None:
        raise ParseError(f"No expression was parsed from '{sql}'")
    return exp.Block(expressions=statements) if len(statements) > 1 else statements[0]


def _query_of(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Subquery):
        node = node.this
    return node


class _Walker:
    """One query's qualified AST and scopes, with memoized lineage per scope and column."""

    def __init__(
        self,
        sql: str,
        input_schemas: dict[str, tuple[str, ...]],
        dialect: str,
        deadline: Deadline,
    ) -> None:
        self._deadline = deadline
        tokens = check_sql_text(sql, dialect)
        self._ports = {port.lower(): port for port in input_schemas}
        self._columns = {
            port.lower(): {column.lower(): column for column in columns}
            for port, columns in input_schemas.items()
        }
        try:
            parsed = _parse(sql, tokens, dialect)
        except SqlglotError as error:
            details = getattr(error, "errors", None) or [{}]
            line = details[0].get("line")
            raise LineageError(
                f"the transform's SQL does not parse: {_first_line(error)}",
                line=line if isinstance(line, int) else None,
            ) from error
        check_sql_tree(parsed)
        self._check_tables(parsed)
        # Types do not matter to lineage; qualify needs only the column names.
        schema: dict[str, object] = {
            port: dict.fromkeys(columns, "STRING") for port, columns in self._columns.items()
        }
        try:
            qualified = qualify(
                parsed,
                dialect=dialect,
                schema=schema,
                quote_identifiers=False,
                identify=False,
                sql=sql,
            )
        except SqlglotError as error:
            raise self._unresolved(error, parsed) from error
        deadline.check()
        root = build_scope(qualified)
        if root is None:
            raise LineageError("the transform's SQL is not a query (expected SELECT ... )")
        self._root = root
        self._subquery_scopes = {id(scope.expression): scope for scope in root.traverse()}
        self._column_memo: dict[tuple[int, str], frozenset[_Dep]] = {}
        self._dataset_memo: dict[int, frozenset[_Dep]] = {}
        self._in_progress: set[tuple[int, str]] = set()

    def output_lineage(self) -> dict[str, frozenset[_Dep]]:
        """Lowercased output column name -> its dependencies (direct and column-level indirect)."""
        return {name: self._scope_column(self._root, name) for name in _named_selects(self._root)}

    def dataset_lineage(self) -> frozenset[_Dep]:
        return self._scope_dataset(self._root)

    # -- checks --------------------------------------------------------------------------------

    def _check_tables(self, parsed: exp.Expr) -> None:
        """Allowlist table names before qualifying: file reads parse as odd exp.Table nodes."""
        ctes = {cte.alias_or_name.lower() for cte in parsed.find_all(exp.CTE)}
        for table in parsed.find_all(exp.Table):
            if not self._is_port_table(table) and not (
                isinstance(table.this, exp.Identifier)
                and not table.args.get("db")
                and not table.args.get("catalog")
                and table.name.lower() in ctes
            ):
                raise self._not_a_port(table)

    def _is_port_table(self, table: exp.Table) -> bool:
        return (
            isinstance(table.this, exp.Identifier)
            and not table.args.get("db")
            and not table.args.get("catalog")
            and table.name.lower() in self._ports
        )

    def _not_a_port(self, table: exp.Table) -> LineageError:
        shown = table.sql(dialect="spark")
        if " AS " in shown:
            shown = shown.split(" AS ", 1)[0]
        line = _line_of(table.this) if isinstance(table.this, exp.Expr) else None
        where = f" (line {line})" if line else ""
        return LineageError(
            f"the transform reads {shown}{where}, which is not an input port; a transform reads "
            f"only its input ports ({', '.join(sorted(self._ports.values())) or 'none declared'}) "
            "and its own CTEs, never files or other tables",
            table=shown,
            line=line,
        )

    def _unresolved(self, error: SqlglotError, parsed: exp.Expr) -> LineageError:
        text = _first_line(error)
        found = _UNRESOLVED.search(text)
        if found is None:
            return LineageError(f"the transform's SQL cannot be resolved: {text}")
        column = (found.group(1) or found.group(2)).lower()
        line_match = re.search(r"Line: (\d+)", text)
        line = int(line_match.group(1)) if line_match else None
        if line is None:
            named = [c for c in parsed.find_all(exp.Column) if c.name.lower() == column]
            line = next((_line_of(c.this) for c in named if c.table), None) or next(
                (_line_of(c.this) for c in named), None
            )
        owners = sorted(
            self._ports[port] for port, columns in self._columns.items() if column in columns
        )
        if len(owners) > 1:
            hint = f"it is a column of {' and '.join(owners)}: qualify it with a table alias"
        elif owners:
            hint = (
                f"only input port {owners[0]!r} has such a column: check the table alias, or "
                "that the CTE or subquery read from selects it"
            )
        else:
            hint = (
                "no input port has such a column: check the spelling, or the input's contract "
                f"(input ports: {', '.join(sorted(self._ports.values())) or 'none'})"
            )
        at = f" (line {line})" if line else ""
        return LineageError(
            f"the transform's SQL references column {column!r}{at}, which cannot be resolved: "
            f"{hint} [sqlglot: {text}]",
            column=column,
            line=line,
        )

    # -- scopes --------------------------------------------------------------------------------

    def _scope_column(self, scope: Scope, name: str) -> frozenset[_Dep]:
        key = (id(scope), name)
        cached = self._column_memo.get(key)
        if cached is not None:
            return cached
        if key in self._in_progress:
            raise LineageError(f"column {name!r} depends on itself (a recursive CTE?)", column=name)
        self._in_progress.add(key)
        try:
            deps = frozenset(self._compute_scope_column(scope, name))
        finally:
            self._in_progress.discard(key)
        self._column_memo[key] = deps
        return deps

    def _compute_scope_column(self, scope: Scope, name: str) -> Iterator[_Dep]:
        query = scope.expression
        if scope.is_udtf:
            # LATERAL VIEW explode(arr) t AS x: every column it yields comes from its arguments.
            function = query.this if isinstance(query, exp.Lateral) else query
            yield from self._walk(function, scope, (DIRECT, TRANSFORMATION))
            return
        if isinstance(query, exp.SetOperation):
            index = _named_selects(scope).index(name) if name in _named_selects(scope) else -1
            if index < 0:
                raise self._unknown_derived_column(scope, name)
            for branch in scope.set_operation_scopes:
                yield from self._scope_column(branch, _named_selects(branch)[index])
            return
        if not isinstance(query, exp.Select):
            return  # VALUES: literals, no input columns
        for select in query.selects:
            if select.alias_or_name.lower() == name:
                yield from self._walk(select.unalias(), scope, (DIRECT, IDENTITY))
                return
        raise self._unknown_derived_column(scope, name)

    def _unknown_derived_column(self, scope: Scope, name: str) -> LineageError:
        return LineageError(
            f"column {name!r} is not produced by the subquery or CTE it is read from",
            column=name,
        )

    def _scope_dataset(self, scope: Scope) -> frozenset[_Dep]:
        cached = self._dataset_memo.get(id(scope))
        if cached is not None:
            return cached
        self._dataset_memo[id(scope)] = frozenset()  # guards a recursive CTE
        deps = frozenset(self._compute_scope_dataset(scope))
        self._dataset_memo[id(scope)] = deps
        return deps

    def _compute_scope_dataset(self, scope: Scope) -> Iterator[_Dep]:
        query = scope.expression
        if isinstance(query, exp.SetOperation):
            for branch in scope.set_operation_scopes:
                yield from self._scope_dataset(branch)
            if query.args.get("order"):
                yield from self._walk(query.args["order"], scope, (INDIRECT, SORT))
            return
        if not isinstance(query, exp.Select):
            return
        clauses: list[tuple[exp.Expr | None, str]] = [
            (join.args.get("on"), JOIN) for join in query.args.get("joins") or []
        ]
        clauses += [
            (query.args.get("where"), FILTER),
            (query.args.get("having"), FILTER),
            (query.args.get("qualify"), FILTER),
            (query.args.get("group"), GROUP_BY),
            (query.args.get("order"), SORT),
        ]
        for clause, subtype in clauses:
            if clause is not None:
                yield from self._walk(clause, scope, (INDIRECT, subtype))
        for _, source in scope.selected_sources.values():
            if isinstance(source, Scope):
                yield from self._scope_dataset(source)

    # -- expressions ---------------------------------------------------------------------------

    def _walk(self, node: exp.Expr, scope: Scope, context: _Context) -> Iterator[_Dep]:
        self._deadline.check()
        if isinstance(node, exp.Column):
            yield from self._column(node, scope, context)
            return
        if isinstance(node, exp.Paren | exp.Alias):
            yield from self._walk(node.this, scope, context)
            return
        if context == (DIRECT, IDENTITY):
            context = (DIRECT, TRANSFORMATION)
        if isinstance(node, exp.Select | exp.SetOperation):
            yield from self._subquery(node, context)
        elif isinstance(node, exp.Window):
            yield from self._walk(node.this, scope, context)
            order = node.args.get("order")
            yield from self._walk_all(node.args.get("partition_by"), scope, (INDIRECT, WINDOW))
            yield from self._walk_all(order and order.expressions, scope, (INDIRECT, WINDOW))
        elif isinstance(node, exp.Case):
            yield from self._conditional(
                [node.this, *(branch.this for branch in node.args.get("ifs") or [])],
                [
                    *(branch.args.get("true") for branch in node.args.get("ifs") or []),
                    node.args.get("default"),
                ],
                scope,
                context,
            )
        elif isinstance(node, exp.If):
            yield from self._conditional(
                [node.this], [node.args.get("true"), node.args.get("false")], scope, context
            )
        elif isinstance(node, exp.Filter):  # aggregate FILTER (WHERE ...)
            yield from self._walk(node.this, scope, context)
            yield from self._walk_all(node.expression, scope, (INDIRECT, FILTER))
        elif isinstance(node, exp.Order):  # ORDER BY inside an aggregate
            yield from self._walk_all(node.this, scope, context)
            yield from self._walk_all(node.expressions, scope, (INDIRECT, SORT))
        else:
            navigation = isinstance(node, _NAVIGATION) and isinstance(node.parent, exp.Window)
            if isinstance(node, exp.AggFunc) and context[0] == DIRECT and not navigation:
                context = (DIRECT, AGGREGATION)
            yield from self._walk_all(node.iter_expressions(), scope, context)

    def _walk_all(
        self,
        nodes: exp.Expr | Iterable[exp.Expr] | None,
        scope: Scope,
        context: _Context,
    ) -> Iterator[_Dep]:
        if nodes is None:
            return
        if isinstance(nodes, exp.Expr):
            nodes = [nodes]
        for node in nodes:
            if isinstance(node, exp.Expr):
                yield from self._walk(node, scope, context)

    def _conditional(
        self,
        conditions: list[exp.Expr | None],
        branches: list[exp.Expr | None],
        scope: Scope,
        context: _Context,
    ) -> Iterator[_Dep]:
        # All-constant branches make the CASE an encoding of its conditions (a lookup table);
        # otherwise the conditions only pick which column value passes, which is CONDITIONAL.
        constant = not any(
            branch is not None and branch.find(exp.Column) is not None for branch in branches
        )
        condition_context = context if constant else (INDIRECT, CONDITIONAL)
        yield from self._walk_all(
            [c for c in conditions if c is not None], scope, condition_context
        )
        yield from self._walk_all([b for b in branches if b is not None], scope, context)

    def _subquery(self, query: exp.Expr, context: _Context) -> Iterator[_Dep]:
        scope = self._subquery_scopes.get(id(_query_of(query)))
        if scope is None:  # pragma: no cover - every query node has a scope after build_scope
            raise LineageError(f"cannot place the subquery {query.sql()[:80]!r} in its query")
        for name in _named_selects(scope):
            for dep in self._scope_column(scope, name):
                yield _compose(context, dep)
        yield from self._scope_dataset(scope)

    def _column(self, column: exp.Column, scope: Scope, context: _Context) -> Iterator[_Dep]:
        alias, name = column.table, column.name
        if column.args.get("db") and _find_source(scope, column.text("db")) is not None:
            alias, name = column.text("db"), column.table  # struct field access: t.col.field
        if not alias:
            if _is_lambda_variable(column):
                return
            if name.lower() in _named_selects(scope):
                # ORDER BY of a select alias, or of a set operation's output column.
                for dep in self._scope_column(scope, name.lower()):
                    yield _compose(context, dep)
                return
            raise LineageError(
                f"column {column.sql()!r} could not be placed in any input", column=column.name
            )
        source = _find_source(scope, alias)
        if source is None:
            raise LineageError(
                f"column {column.sql()!r} reads {alias!r}, which is not a table of its query",
                table=alias,
                column=name,
                line=_line_of(column.this),
            )
        if isinstance(source, Scope):
            for dep in self._scope_column(source, name.lower()):
                yield _compose(context, dep)
            return
        if not self._is_port_table(source):
            raise self._not_a_port(source)
        port = source.name.lower()
        input_column = self._columns[port].get(name.lower())
        if input_column is None:
            raise LineageError(
                f"input port {self._ports[port]!r} has no column {name!r} (it has "
                f"{', '.join(sorted(self._columns[port].values()))})",
                table=self._ports[port],
                column=name,
                line=_line_of(column.this),
            )
        yield _compose(context, (self._ports[port], input_column, DIRECT, IDENTITY))


def _find_source(scope: Scope, alias: str) -> exp.Table | Scope | None:
    current: Scope | None = scope
    while current is not None:
        source = current.sources.get(alias)
        if source is not None:
            return source
        current = current.parent
    return None


def _named_selects(scope: Scope) -> list[str]:
    query = scope.expression
    return [name.lower() for name in query.named_selects] if isinstance(query, exp.Query) else []


def _is_lambda_variable(column: exp.Column) -> bool:
    lambda_ = column.find_ancestor(exp.Lambda)
    while lambda_ is not None:
        if column.name in {variable.name for variable in lambda_.expressions}:
            return True
        lambda_ = lambda_.find_ancestor(exp.Lambda)
    return False


def _line_of(node: exp.Expr) -> int | None:
    line = node.meta.get("line") if isinstance(node, exp.Expr) else None
    return line if isinstance(line, int) else None


def _first_line(error: BaseException) -> str:
    return _ANSI.sub("", str(error)).strip().splitlines()[0]
