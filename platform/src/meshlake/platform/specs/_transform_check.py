"""Transform SQL checked against the input contracts, without running it.

A transform reads only its input ports (and its own CTEs), and only columns they have. Spark would
say so at run time, after the upstream products ran; sqlglot says so at ``meshlake validate``, with
the SQL file and line. The parsing is the column-lineage parser's: one reading of the SQL, one set
of rules, and one set of bounds (size, nesting, time), the same at a run.

Following a transform's SQL costs milliseconds, and a mesh of a thousand products has well over a
thousand of them: a large mesh is split among forked workers (:mod:`._forked`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from meshlake.platform.specs._forked import forked_map
from meshlake.platform.specs._mesh import Mesh, PortSpec, ProductSpec
from meshlake.platform.specs._problems import Problem
from meshlake.platform.specs._yaml import YamlSyntaxError, read_spec_text

PARALLEL_FROM = 200
"""SQL transforms from which they are followed in forked workers (below, forking costs more)."""

# (line, message) of a transform that cannot be followed, or None.
_Finding = tuple[int, str] | None


def transform_sql_problems(mesh: Mesh, rel: Callable[[Path], str]) -> list[Problem]:
    """One problem per SQL transform that reads a table no input port is, or a column none has.

    ``rel`` turns a file into the path the report shows. Python transforms are not parsed."""
    problems: dict[Path, Problem] = {}
    followed: list[tuple[ProductSpec, PortSpec]] = []
    seen: set[Path] = set()
    for product in mesh.products.values():
        for port in product.ports.values():
            file = port.transform_file
            if file.suffix != ".sql" or file in seen:
                continue
            seen.add(file)
            shape = _shape_problem(file)
            if shape is not None:
                problems[file] = Problem(rel(file), shape[0], "", shape[1])
            else:
                followed.append((product, port))
    findings = forked_map(lambda item: _follow(mesh, *item), followed, parallel_from=PARALLEL_FROM)
    for (_, port), finding in zip(followed, findings, strict=True):
        if finding is not None:
            file = port.transform_file
            problems[file] = Problem(rel(file), finding[0], "", finding[1])
    return list(problems.values())


def _follow(mesh: Mesh, product: ProductSpec, port: PortSpec) -> _Finding:
    from meshlake.platform.lineage import LineageError, port_column_lineage

    try:
        port_column_lineage(mesh, product, port)
    except LineageError as exc:
        return exc.line or 1, str(exc)
    return _spark_refuses(port.transform_file)


_QUALIFY = re.compile(r"\bqualify\b", re.IGNORECASE)


def spark_refusal(tree: Any) -> str | None:
    """Why Spark SQL refuses a query that sqlglot reads (its parser reads every dialect), or
    None: QUALIFY, which Spark 4.1 does not have. The DuckDB engine refuses the same, so a
    product fails alike on either engine; ``tree`` is sqlglot's parse of the query."""
    from sqlglot import exp

    if tree.find(exp.Qualify) is not None:
        return "QUALIFY is not Spark SQL (Spark refuses it): filter on the window in an outer query"
    return None


def _spark_refuses(file: Path) -> _Finding:
    """``spark_refusal`` of a transform at validate, before any run, at its line (the word is
    looked for first: most transforms are never parsed a second time)."""
    text = read_spec_text(file)
    found = _QUALIFY.search(text)
    if found is None:
        return None
    import sqlglot

    try:
        tree = sqlglot.parse_one(text, read="spark")
    except sqlglot.errors.ParseError:
        return None  # the lineage parser read it; nothing more to say here
    refusal = spark_refusal(tree)  # None: the word is in a string or a comment
    return None if refusal is None else (text.count("\n", 0, found.start()) + 1, refusal)


def _shape_problem(file: Path) -> tuple[int, str] | None:
    """(line, message) when the SQL file is not text. Its size, tokens and nesting are bounded by
    the lineage parser itself (:mod:`meshlake.platform.lineage._limits`), as at a run."""
    try:
        read_spec_text(file)
    except YamlSyntaxError as exc:  # the same rules as for spec files: UTF-8 text, no NUL
        return exc.line, str(exc).replace("spec file", "SQL file").replace(" YAML", "")
    return None
