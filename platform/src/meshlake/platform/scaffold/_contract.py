"""The new product's ODCS contract: derived from the inputs' contracts, or imported from a file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from meshlake.platform._ids import ProductRef
from meshlake.platform.scaffold._common import ScaffoldError, dump_yaml
from meshlake.platform.scaffold._inputs import Column, Input
from meshlake.platform.specs import Domain, SpecError, load_contract

Selected = list[tuple[Input, Column]]

# Within every classification's retention limit (the strictest, restricted, allows 5 years).
_SLA = [
    {"property": "latency", "value": 1, "unit": "d"},
    {"property": "frequency", "value": 1, "unit": "d"},
    {"property": "retention", "value": 1, "unit": "y"},
]


def derived_contract(ref: ProductRef, domain: Domain, selected: Selected) -> str:
    """Columns, types, descriptions and classifications as the inputs promise them; the first
    input's primary key stays the key; an example row-count rule to extend."""
    first = selected[0][0] if selected else None
    key = [name for name in (first.primary_key if first else []) if _has(selected, first, name)]
    properties = [_property(item, column, item is first, key) for item, column in selected]
    owners = [
        {"username": member.username, "role": "owner"}
        for member in domain.team.members
        if member.role == "owner"
    ]
    data: dict[str, Any] = {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": f"{ref}.{ref.name}",
        "name": ref.name,
        "version": "1.0.0",
        "status": "active",
        "domain": ref.domain,
        "dataProduct": ref.name,
        "description": {
            "purpose": f"What {ref} promises its consumers.",
            "usage": "Say the grain (one row per ...) and how to join.",
        },
        "schema": [
            {
                "name": ref.name,
                "physicalName": ref.name,
                "physicalType": "table",
                "description": f"The {ref.name} table.",
                "quality": [
                    {
                        "metric": "rowCount",
                        "mustBeGreaterThan": 0,
                        "description": "An example rule: a build with no rows is not published.",
                    }
                ],
                "properties": properties,
            }
        ],
        "slaProperties": _SLA,
        "team": {"name": domain.team.name or f"{ref.domain}-team", "members": owners},
    }
    header = (
        f"Contract (ODCS) of output port {ref}.{ref.name}, created by `meshlake product new` from\n"
        "the inputs' contracts. Add quality rules (schema[].quality, properties[].quality)."
    )
    return dump_yaml(data, header)


def _has(selected: Selected, owner: Input | None, name: str) -> bool:
    return any(item is owner and column.name == name for item, column in selected)


def _property(item: Input, column: Column, first: bool, key: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {"name": column.name}
    if column.logical_type:
        data["logicalType"] = column.logical_type
    data["physicalType"] = column.physical_type
    if column.options:
        data["logicalTypeOptions"] = column.options
    data["description"] = column.description or f"{column.name} of {item.name}."
    # A column joined from a later input is empty where the join finds nothing.
    if first and (column.required or column.name in key):
        data["required"] = True
    if first and column.unique:
        data["unique"] = True
    if first and column.name in key:
        data["primaryKey"] = True
        data["primaryKeyPosition"] = key.index(column.name) + 1
    data["classification"] = column.classification or "internal"
    data["transformSourceObjects"] = [f"{item.name}.{column.name}"]
    return data


def imported_contract(file: Path, ref: ProductRef) -> tuple[str, list[dict[str, Any]]]:
    """The text of ``file`` with its id (and domain, dataProduct) set for the new output port,
    and the columns of the table the port publishes. Comments and order are kept."""
    import yaml

    if not file.is_file():
        raise ScaffoldError("--from-contract", f"no file {file}")
    try:
        contract = load_contract(file)
    except SpecError as exc:
        raise ScaffoldError(
            "--from-contract", f"{file} is no contract meshlake can use:\n{exc}"
        ) from None
    names = [item.name for item in contract.schema_]
    if len(names) != 1 and ref.name not in names:
        raise ScaffoldError(
            "--from-contract",
            f"{file} describes {len(names)} tables ({', '.join(names) or 'none'}); the product "
            f"publishes one: keep one, or name one {ref.name!r}",
        )
    text = file.read_text(encoding="utf-8")
    text = _set_top(text, "id", f"{ref}.{ref.name}")
    for key, value in (("domain", ref.domain), ("dataProduct", ref.name)):
        if re.search(rf"^{key}:", text, re.MULTILINE):
            text = _set_top(text, key, value)
    data = yaml.safe_load(text)
    tables = data.get("schema") or []
    table = tables[0] if len(tables) == 1 else next(t for t in tables if t.get("name") == ref.name)
    header = (
        f"# Imported by `meshlake product new --from-contract {file.name}` as {ref}.{ref.name}.\n"
    )
    return header + text, list(table.get("properties") or [])


def _set_top(text: str, key: str, value: str) -> str:
    """Replace the value of a top-level ``key:`` line, keeping a trailing comment."""
    pattern = re.compile(rf"^{key}:[^\n#]*(?P<comment>#[^\n]*)?$", re.MULTILINE)

    def repl(match: re.Match[str]) -> str:
        comment = match.group("comment")
        return f"{key}: {value}" + (f"  {comment}" if comment else "")

    return pattern.sub(repl, text, count=1)
