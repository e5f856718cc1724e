"""Transform SQL checked against the input contracts, without running it.

A transform reads only its input ports (and its own CTEs), and only columns they have. Spark would
say so at run time, after the upstream products ran; sqlglot says so at ``meshlake validate``, with
the SQL file and line. The parsing is the column-lineage parser's: one reading of the SQL, one set
of rules.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from meshlake.platform.specs._mesh import Mesh
from meshlake.platform.specs._problems import Problem
from meshlake.platform.specs._yaml import YamlSyntaxError, read_spec_text

# The lineage parser recurses per nesting level and per chained operator (a = 1 OR b = 2 OR ...),
# and its cost grows with the square of the tokens: a few hundred chained conditions exhaust
# Python's recursion, 16,000 tokens take seconds. Real transforms are far smaller.
MAX_SQL_TOKENS = 10_000
MAX_SQL_DEPTH = 100


def transform_sql_problems(mesh: Mesh, rel: Callable[[Path], str]) -> list[Problem]:
    """One problem per SQL transform that reads a table no input port is, or a column none has.

    ``rel`` turns a file into the path the report shows. Python transforms are not parsed."""
    from meshlake.platform.lineage import LineageError, port_column_lineage

    problems: dict[Path, Problem] = {}
    for product in mesh.products.values():
        for port in product.ports.values():
            file = port.transform_file
            if file.suffix != ".sql" or file in problems:
                continue
            shape = _shape_problem(file)
            if shape is not None:
                problems[file] = Problem(rel(file), shape[0], "", shape[1])
                continue
            try:
                port_column_lineage(mesh, product, port)
            except LineageError as exc:
                problems[file] = Problem(rel(file), exc.line or 1, "", str(exc))
            except RecursionError:
                message = (
                    "the transform's SQL nests or chains too deeply for meshlake to follow; "
                    "split it into CTEs, or use IN (...) for long OR chains"
                )
                problems[file] = Problem(rel(file), 1, "", message)
    return list(problems.values())


def _shape_problem(file: Path) -> tuple[int, str] | None:
    """(line, message) when the SQL file is not text, or too large or deep to parse safely."""
    import sqlglot
    from sqlglot.errors import SqlglotError
    from sqlglot.tokens import TokenType

    try:
        text = read_spec_text(file)
    except YamlSyntaxError as exc:  # the same rules as for spec files: UTF-8 text, no NUL
        return exc.line, str(exc).replace("spec file", "SQL file").replace(" YAML", "")
    try:
        tokens = sqlglot.tokenize(text, read="spark")
    except SqlglotError:
        return None  # the parser names the problem
    if len(tokens) > MAX_SQL_TOKENS:
        return tokens[MAX_SQL_TOKENS].line, (
            f"the transform's SQL has more than {MAX_SQL_TOKENS} tokens, more than meshlake "
            "checks; split it into products or simplify it"
        )
    depth = 0
    for token in tokens:
        if token.token_type == TokenType.L_PAREN:
            depth += 1
            if depth > MAX_SQL_DEPTH:
                return token.line, (
                    f"the transform's SQL nests parentheses deeper than {MAX_SQL_DEPTH} levels; "
                    "flatten it with CTEs"
                )
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
    return None
