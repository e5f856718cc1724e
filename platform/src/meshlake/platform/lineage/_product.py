"""Column lineage of a product's output ports: parsed from SQL, or declared in the contract.

A SQL transform's lineage is parsed with sqlglot against the input ports' schemas (the upstream
contracts, or the raw sources' DDL). A Python transform cannot be parsed; its contract may declare
each column's sources in ODCS ``transformSourceObjects`` (``input_port.column``).
"""

from __future__ import annotations

from meshlake.platform.lineage._columns import (
    ColumnEdge,
    declared_column_lineage,
    sql_column_lineage,
)
from meshlake.platform.specs import Mesh, PortSpec, ProductSpec
from meshlake.platform.specs._types import ddl_column_names


def input_schemas(mesh: Mesh, product: ProductSpec) -> dict[str, list[str]]:
    """Each input port's column names, as its SQL table."""
    schemas = {}
    for binding in product.inputs:
        if binding.output is not None:
            schemas[binding.name] = [
                prop.name for prop in mesh.port(binding.output).contract.columns
            ]
        elif binding.raw is not None:
            schemas[binding.name] = ddl_column_names(binding.raw.source.schema_ddl)
    return schemas


def port_column_lineage(mesh: Mesh, product: ProductSpec, port: PortSpec) -> list[ColumnEdge]:
    """The edges of one output port; raises LineageError when the SQL cannot be followed."""
    schemas = input_schemas(mesh, product)
    columns = port.contract.columns
    if port.transform_file.suffix == ".sql":
        sql = port.transform_file.read_text(encoding="utf-8")
        return sql_column_lineage(sql, schemas, [prop.name for prop in columns])
    declared = {
        prop.name: prop.transform_source_objects
        for prop in columns
        if prop.transform_source_objects
    }
    return declared_column_lineage(declared, schemas)


def product_column_lineage(mesh: Mesh, product: ProductSpec) -> dict[str, list[ColumnEdge]]:
    """Edges per output port name."""
    return {name: port_column_lineage(mesh, product, port) for name, port in product.ports.items()}
