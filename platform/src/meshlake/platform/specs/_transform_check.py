"""Transform SQL checked against the input contracts, without running it.

A transform reads only its input ports (and its own CTEs), and only columns they have. Spark would
say so at run time, after the upstream products ran; sqlglot says so at ``meshlake validate``, with
the SQL file and line. The parsing is the column-lineage parser's: one reading of the SQL, one set
of rules, and one set of bounds (size, nesting, time), the same at a run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from meshlake.platform.specs._mesh import Mesh
from meshlake.platform.specs._problems import Problem
from meshlake.platform.specs._yaml import YamlSyntaxError, read_spec_text


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
    return list(problems.values())


def _shape_problem(file: Path) -> tuple[int, str] | None:
    """(line, message) when the SQL file is not text. Its size, tokens and nesting are bounded by
    the lineage parser itself (:mod:`meshlake.platform.lineage._limits`), as at a run."""
    try:
        read_spec_text(file)
    except YamlSyntaxError as exc:  # the same rules as for spec files: UTF-8 text, no NUL
        return exc.line, str(exc).replace("spec file", "SQL file").replace(" YAML", "")
    return None
