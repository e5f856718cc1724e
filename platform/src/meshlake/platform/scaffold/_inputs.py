"""The ports a new product reads, resolved against the mesh to their columns and owners."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from meshlake.platform._ids import PortRef
from meshlake.platform.scaffold._common import ScaffoldError
from meshlake.platform.specs import Mesh, SchemaProperty
from meshlake.platform.specs._agreements import PERSONAL_CLASSIFICATIONS
from meshlake.platform.specs._types import ddl_columns, mapped_spark_type

_LOGICAL = {
    "STRING": "string",
    "VARCHAR": "string",
    "CHAR": "string",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_NTZ": "timestamp",
    "BOOLEAN": "boolean",
    "TINYINT": "integer",
    "SMALLINT": "integer",
    "INT": "integer",
    "INTEGER": "integer",
    "BIGINT": "integer",
    "LONG": "integer",
    "DOUBLE": "number",
    "FLOAT": "number",
    "DECIMAL": "number",
}


@dataclass(frozen=True)
class Column:
    """A column an input delivers, with what the new contract keeps of it."""

    name: str
    logical_type: str | None
    physical_type: str
    description: str | None
    classification: str | None
    required: bool
    unique: bool
    # Constraints the input promises (pattern, minimum, ...): a column taken as is keeps them.
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def personal(self) -> bool:
        return (self.classification or "").lower() in PERSONAL_CLASSIFICATIONS


@dataclass(frozen=True)
class Input:
    """One ``--from`` port: the input port's name, what it binds to, and its columns."""

    name: str
    contract_id: str
    version: str
    domain: str
    columns: list[Column]
    primary_key: list[str]
    owners: list[str]
    cross_domain: bool
    raw: bool


def resolve_inputs(mesh: Mesh, domain: str, ports: list[str]) -> list[Input]:
    if not ports:
        raise ScaffoldError(
            "--from", "name at least one port to read, e.g. --from hr.employees.employees"
        )
    inputs: list[Input] = []
    for text in ports:
        found = _resolve(mesh, domain, text)
        if any(item.contract_id == found.contract_id for item in inputs):
            raise ScaffoldError("--from", f"{text!r} is named twice")
        if any(item.name == found.name for item in inputs):
            raise ScaffoldError(
                "--from", f"two ports are both named {found.name!r}; read them in two products"
            )
        inputs.append(found)
    return inputs


def _resolve(mesh: Mesh, domain: str, text: str) -> Input:
    raw = mesh.raw_sources.get(text)
    if raw is not None:
        if raw.domain.name != domain:
            raise ScaffoldError(
                "--from",
                f"raw source {text!r} belongs to domain {raw.domain.name!r}; a product reads only "
                f"its own domain's raw sources: read one of {raw.domain.name}'s products instead",
            )
        columns = [_raw_column(name, kind) for name, kind in ddl_columns(raw.source.schema_ddl)]
        return Input(
            name=raw.source.name,
            contract_id=raw.source.id,
            version=raw.source.version,
            domain=domain,
            columns=columns,
            primary_key=[],
            owners=raw.domain.team.owners,
            cross_domain=False,
            raw=True,
        )
    try:
        ref = PortRef.parse(text)
    except ValueError:
        raise ScaffoldError("--from", _unknown(mesh, text)) from None
    product = mesh.products.get(ref.product_ref)
    if product is None or ref.port not in product.ports:
        raise ScaffoldError("--from", _unknown(mesh, text))
    port = product.ports[ref.port]
    contract = port.contract
    return Input(
        name=ref.port,
        contract_id=str(port.port.contract_id),
        version=contract.version,
        domain=ref.domain,
        columns=[_port_column(prop) for prop in contract.columns],
        primary_key=contract.primary_key,
        owners=product.domain.team.owners,
        cross_domain=ref.domain != domain,
        raw=False,
    )


def _port_column(prop: SchemaProperty) -> Column:
    physical = mapped_spark_type(prop.logical_type, prop.physical_type) or "STRING"
    return Column(
        name=prop.name,
        logical_type=prop.logical_type,
        physical_type=physical,
        description=prop.description,
        classification=prop.classification,
        required=prop.required or prop.primary_key,
        unique=prop.unique,
        options=dict(prop.logical_type_options),
    )


def _raw_column(name: str, kind: str) -> Column:
    base = kind.split("(", 1)[0].strip().upper()
    return Column(
        name=name,
        logical_type=_LOGICAL.get(base),
        physical_type=kind.upper(),
        description=None,
        classification=None,
        required=False,
        unique=False,
    )


def _unknown(mesh: Mesh, text: str) -> str:
    known = sorted([*(str(port.ref) for port in mesh.ports), *mesh.raw_sources])
    return (
        f"no output port or raw source {text!r}; write a port as domain.product.port "
        f"(known: {', '.join(known)})"
    )
