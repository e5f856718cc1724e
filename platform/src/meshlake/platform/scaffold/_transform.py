"""Transform skeletons that validate and run: the selected columns, joined on the first key."""

from __future__ import annotations

import keyword

from meshlake.platform._ids import ProductRef
from meshlake.platform.scaffold._inputs import Column, Input

Selected = list[tuple[Input, Column]]

# Stands for "no input has this column" (an imported contract's column the inputs lack).
MISSING = Input(
    name="",
    contract_id="",
    version="0.0.0",
    domain="",
    columns=[],
    primary_key=[],
    owners=[],
    cross_domain=False,
    raw=False,
)


def sql_transform(ref: ProductRef, inputs: list[Input], selected: Selected) -> str:
    first = inputs[0]
    joined = [item for item in inputs[1:] if any(owner is item for owner, _ in selected)]
    qualify = bool(joined)
    lines = [
        f"-- {ref}: created by `meshlake product new`. Select, join and derive what contract.yaml",
        "-- promises; `meshlake validate` checks this SQL against the input ports' contracts.",
    ]
    unused = [item.name for item in inputs[1:] if item not in joined]
    if unused:
        lines.append(f"-- Also declared as inputs, to join here: {', '.join(unused)}.")
    lines.append("SELECT")
    expressions = []
    for owner, column in selected:
        if owner is MISSING:
            expressions.append(f"CAST(NULL AS {column.physical_type}) AS {column.name}")
        else:
            expressions.append(f"{owner.name}.{column.name}" if qualify else column.name)
    lines += [f"    {text}," for text in expressions[:-1]] + [f"    {expressions[-1]}"]
    lines.append(f"FROM {first.name}")
    for item in joined:
        condition = " AND ".join(
            f"{item.name}.{key} = {first.name}.{key}" for key in first.primary_key
        )
        lines.append(f"LEFT JOIN {item.name} ON {condition}")
    return "\n".join(lines) + "\n"


def python_transform(ref: ProductRef, inputs: list[Input], selected: Selected) -> str:
    first = inputs[0]
    joined = [item for item in inputs[1:] if any(owner is item for owner, _ in selected)]
    variables = {item.name: _variable(item.name) for item in inputs}
    body = [f"    {variables[item.name]} = inputs[{_quoted(item.name)}]" for item in inputs]
    frame = variables[first.name]
    for item in joined:
        taken = [column.name for owner, column in selected if owner is item]
        keys = ", ".join(_quoted(key) for key in first.primary_key)
        body.append(f"    {frame} = {frame}.join(")
        body.append(f"        {variables[item.name]}.select(")
        body += [f"            {_quoted(name)}," for name in [*first.primary_key, *taken]]
        body.append("        ),")
        body.append(f"        on=[{keys}],")
        body.append('        how="left",')
        body.append("    )")
    unused = [item.name for item in inputs[1:] if item not in joined]
    if unused:
        body.append(f"    # Also declared as inputs, to join here: {', '.join(unused)}.")
    body.append(f"    return {frame}.select(")
    for owner, column in selected:
        if owner is MISSING:
            cast = f"F.lit(None).cast({_quoted(column.physical_type)})"
            body.append(f"        {cast}.alias({_quoted(column.name)}),")
        else:
            body.append(f"        F.col({_quoted(column.name)}),")
    body.append("    )")
    docstring = (
        f'"""{ref}: created by `meshlake product new`.\n\n'
        "Build what contract.yaml promises from the input ports; the platform calls\n"
        "``transform(inputs, ctx)`` with one DataFrame per input port, keyed by its name, and\n"
        "conforms the result to the contract. Column lineage is declared in the contract\n"
        '(transformSourceObjects)."""\n'
    )
    header = [
        "from __future__ import annotations",
        "",
        "from typing import Any",
        "",
        "from pyspark.sql import DataFrame",
        "from pyspark.sql import functions as F",
        "",
        "",
        "def transform(inputs: dict[str, DataFrame], ctx: Any) -> DataFrame:",
    ]
    return docstring + "\n" + "\n".join(header + body) + "\n"


def _variable(name: str) -> str:
    return f"{name}_" if keyword.iskeyword(name) or name in ("inputs", "ctx", "F") else name


def _quoted(text: str) -> str:
    """A Python string literal in double quotes, as ruff format writes them."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
