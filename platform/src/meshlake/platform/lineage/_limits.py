"""The bounds of following a transform's SQL: one set for `meshlake validate` and for a run.

sqlglot's parser and qualifier recurse per nesting level and per chained operator (``a = 1 OR b =
2 OR ...``), and qualifying costs about the square of the tokens: a 600-term OR chain exhausted
Python's recursion after 1.4 s, a 2,400-term one after 13 s, and tokenizing 1.3 MB of dense SQL took
3 s (2 cores, 2026-12). Real transforms are far smaller. So the text is bounded before it is
tokenized (characters), before it is parsed (tokens, parentheses), the parsed tree before it is
qualified (depth), and what is left of the work by a deadline: SQL beyond a bound is refused with
a LineageError naming the bound and the line, within :data:`MAX_SQL_SECONDS`, never a hang or a
RecursionError.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from meshlake.platform.lineage._errors import LineageError

if TYPE_CHECKING:
    from sqlglot import exp
    from sqlglot.tokens import Token

MAX_SQL_CHARS = 256 * 1024
"""Characters of one transform's SQL; tokenizing is linear but not cheap (1.3 MB: 3 s)."""

MAX_SQL_TOKENS = 10_000
MAX_SQL_DEPTH = 100
"""Parentheses nested in one transform's SQL."""

MAX_SQL_TREE_DEPTH = 300
"""Levels of the parsed expression tree: a chain of N operators is about N levels (a 290-term OR
chain is followed in 0.1 s; 500 terms exhaust the recursion of the qualifier)."""

MAX_SQL_SECONDS = 5.0
"""Wall time to follow one transform; what the bounds above leave is cut here."""

TOO_DEEP = (
    "the transform's SQL nests or chains too deeply for meshlake to follow; split it into CTEs, "
    "or use IN (...) for long OR chains"
)


def check_sql_text(sql: str, dialect: str = "spark") -> list[Token] | None:
    """Refuse SQL longer than MAX_SQL_CHARS, or with more than MAX_SQL_TOKENS tokens or
    parentheses deeper than MAX_SQL_DEPTH; a SQL that does not tokenize is left to the parser,
    which names the problem.

    Returns the tokens (None when the SQL did not tokenize), so that the parser reuses them:
    tokenizing was a fifth of following a transform, and was done twice."""
    import sqlglot
    from sqlglot.errors import SqlglotError
    from sqlglot.tokens import TokenType

    # Only the first MAX_SQL_CHARS are tokenized: enough to tell a SQL with too many tokens (the
    # more useful message) from one that is merely long, at a bounded cost.
    try:
        tokens = sqlglot.tokenize(sql[:MAX_SQL_CHARS], read=dialect)
    except SqlglotError:
        tokens = None  # cut inside a string, or not SQL: the parser names what is wrong
    if tokens is not None and len(tokens) > MAX_SQL_TOKENS:
        raise LineageError(
            f"the transform's SQL has more than {MAX_SQL_TOKENS} tokens, more than meshlake "
            "checks; split it into products or simplify it",
            line=tokens[MAX_SQL_TOKENS].line,
        )
    if len(sql) > MAX_SQL_CHARS:
        raise LineageError(
            f"the transform's SQL has {len(sql)} characters, more than the {MAX_SQL_CHARS} "
            "meshlake follows; split it into products or simplify it",
            line=sql.count("\n", 0, MAX_SQL_CHARS) + 1,
        )
    if tokens is None:
        return None
    depth = 0
    for token in tokens:
        if token.token_type == TokenType.L_PAREN:
            depth += 1
            if depth > MAX_SQL_DEPTH:
                raise LineageError(
                    f"the transform's SQL nests parentheses deeper than {MAX_SQL_DEPTH} levels; "
                    "flatten it with CTEs",
                    line=token.line,
                )
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
    return tokens


def check_sql_tree(parsed: exp.Expr) -> None:
    """Refuse a parsed tree deeper than MAX_SQL_TREE_DEPTH, walked without recursion."""
    stack: list[tuple[exp.Expr, int]] = [(parsed, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_SQL_TREE_DEPTH:
            line = node.meta.get("line")
            raise LineageError(
                f"{TOO_DEEP} (more than {MAX_SQL_TREE_DEPTH} levels)",
                line=line if isinstance(line, int) else 1,
            )
        stack.extend((child, depth + 1) for child in node.iter_expressions())


class Deadline:
    """The time left to follow one transform; :meth:`check` refuses once it has run out."""

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = MAX_SQL_SECONDS if seconds is None else seconds
        self._end = time.monotonic() + self.seconds

    def check(self) -> None:
        if time.monotonic() > self._end:
            raise LineageError(
                f"following the transform's SQL took longer than {self.seconds:g} s; "
                "simplify it or split it into products",
                line=1,
            )
