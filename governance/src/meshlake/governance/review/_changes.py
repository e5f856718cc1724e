"""What changed between two meshes, product by product, port by port, column by column.

A change is breaking when a consumer written against the old contract can fail or be misled by the
new one: a column removed or renamed, a type narrowed, nullability tightened, uniqueness dropped, a
classification changed, an SLA loosened, a port or product removed or retired.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from meshlake.platform.specs import (
    Contract,
    Mesh,
    PortSpec,
    ProductSpec,
    SchemaProperty,
    sla_duration,
    spark_type,
)

# SLA properties where a larger value promises less, and where a smaller one does.
_LARGER_IS_LOOSER = ("latency", "frequency")
_SMALLER_IS_LOOSER = ("retention", "availability")

_INTEGERS = ["tinyint", "smallint", "int", "bigint"]
_INTEGER_DIGITS = {"tinyint": 3, "smallint": 5, "int": 10, "bigint": 19}
_DECIMAL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")


@dataclass
class Consumer:
    """A product that reads what changed, and which of its columns depend on it."""

    product: str
    columns: list[str] = field(default_factory=list)  # "port.column"; empty: the whole port
    source: str = "specs"  # specs | governance

    def as_dict(self) -> dict[str, Any]:
        return {"product": self.product, "columns": self.columns, "source": self.source}


@dataclass
class AgreementHit:
    """A sharing agreement that reads what changed, the SLA it promises, and whether the change
    breaks that promise (a contract SLA loosened below it)."""

    name: str
    consumer_kind: str
    consumer_id: str
    purpose: str
    file: str  # relative to the project
    terms: list[dict[str, Any]] = field(default_factory=list)  # property, value, unit, from
    specs: list[str] = field(default_factory=list)  # where it is declared: base, head or both
    broken: str = ""  # why the change breaks what the agreement promises; empty: it does not

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "consumer": {"kind": self.consumer_kind, "id": self.consumer_id},
            "purpose": self.purpose,
            "file": self.file,
            "sla": self.terms,
            "in": self.specs,
            "broken": self.broken or None,
        }


@dataclass
class Change:
    target: str
    kind: str
    summary: str
    breaking: bool
    product: str
    port: str | None = None
    column: str | None = None
    contract_id: str = ""
    version_before: str = ""
    version_after: str = ""
    consumers: list[Consumer] = field(default_factory=list)
    sla_property: str | None = None  # the SLA property an sla_* change is about
    agreements: list[AgreementHit] = field(default_factory=list)

    @property
    def major_bump(self) -> bool:
        before, after = _major(self.version_before), _major(self.version_after)
        return before is not None and after is not None and after > before

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "kind": self.kind,
            "summary": self.summary,
            "breaking": self.breaking,
            "major_bump": self.major_bump,
            "contract_id": self.contract_id,
            "version_before": self.version_before,
            "version_after": self.version_after,
            "consumers": [consumer.as_dict() for consumer in self.consumers],
            "agreements": [agreement.as_dict() for agreement in self.agreements],
        }


def compare(base: Mesh | None, head: Mesh) -> list[Change]:
    """Every change from ``base`` (None: nothing) to ``head``, in product and column order."""
    before = base.products if base is not None else {}
    changes: list[Change] = []
    for ref in sorted(set(before) | set(head.products), key=str):
        old, new = before.get(ref), head.products.get(ref)
        if old is None and new is not None:
            changes.append(Change(str(ref), "product_added", "product added", False, str(ref)))
        elif new is None and old is not None:
            for port in old.ports.values():
                changes.append(_port_gone(old, port, "product_removed", "product removed"))
        elif old is not None and new is not None:
            changes.extend(_product_changes(old, new))
    return changes


def _product_changes(old: ProductSpec, new: ProductSpec) -> list[Change]:
    changes = []
    ref = str(new.ref)
    status_before, status_after = old.descriptor.status, new.descriptor.status
    if status_before != status_after and status_after == "retired":
        for name, port in new.ports.items():
            previous = old.ports.get(name, port)
            changes.append(
                Change(
                    f"{ref}.{name}",
                    "product_retired",
                    "product retired",
                    True,
                    ref,
                    name,
                    contract_id=port.contract.id,
                    version_before=previous.contract.version,
                    version_after=port.contract.version,
                )
            )
    elif status_before != status_after:
        changes.append(
            Change(ref, "status_changed", f"status {status_before} -> {status_after}", False, ref)
        )
    for name in sorted(set(old.ports) | set(new.ports)):
        if name not in old.ports:
            port = new.ports[name]
            changes.append(
                Change(
                    f"{ref}.{name}",
                    "port_added",
                    "output port added",
                    False,
                    ref,
                    name,
                    contract_id=port.contract.id,
                    version_after=port.contract.version,
                )
            )
        elif name not in new.ports:
            changes.append(_port_gone(old, old.ports[name], "port_removed", "output port removed"))
        else:
            changes.extend(
                _contract_changes(ref, name, old.ports[name].contract, new.ports[name].contract)
            )
    return changes


def _port_gone(product: ProductSpec, port: PortSpec, kind: str, summary: str) -> Change:
    return Change(
        f"{product.ref}.{port.port.name}",
        kind,
        summary,
        True,
        str(product.ref),
        port.port.name,
        contract_id=port.contract.id,
        version_before=port.contract.version,
    )


def _contract_changes(ref: str, port: str, old: Contract, new: Contract) -> list[Change]:
    changes: list[Change] = []

    def add(
        column: str | None, kind: str, summary: str, breaking: bool, sla: str | None = None
    ) -> None:
        target = f"{ref}.{port}" + (f".{column}" if column else "")
        changes.append(
            Change(
                target,
                kind,
                summary,
                breaking,
                ref,
                port,
                column,
                contract_id=new.id,
                version_before=old.version,
                version_after=new.version,
                sla_property=sla,
            )
        )

    old_columns = {prop.name: prop for prop in old.columns}
    new_columns = {prop.name: prop for prop in new.columns}
    removed = [name for name in old_columns if name not in new_columns]
    added = [name for name in new_columns if name not in old_columns]
    renamed = _renames(old, new, removed, added)
    for before, after in renamed.items():
        add(before, "column_renamed", f"column {before} renamed to {after}", True)
    for name in removed:
        if name not in renamed:
            add(name, "column_removed", f"column {name} removed", True)
    for name in added:
        if name in renamed.values():
            continue
        prop = new_columns[name]
        required = " (required)" if prop.required else ""
        add(name, "column_added", f"column {name} added{required}", False)
    for name, prop in old_columns.items():
        if name in new_columns:
            _column_changes(name, prop, new_columns[name], add)
    _sla_changes(old, new, add)
    if not changes and old.version != new.version:
        add(
            None,
            "contract_version_changed",
            f"contract version {old.version} -> {new.version}",
            False,
        )
    return changes


def _renames(old: Contract, new: Contract, removed: list[str], added: list[str]) -> dict[str, str]:
    """A removed and an added column at the same position with the same type read as a rename."""
    positions_old = {prop.name: index for index, prop in enumerate(old.columns)}
    positions_new = {prop.name: index for index, prop in enumerate(new.columns)}
    types_old = {prop.name: _type(prop) for prop in old.columns}
    types_new = {prop.name: _type(prop) for prop in new.columns}
    renames: dict[str, str] = {}
    for before in removed:
        for after in added:
            if (
                positions_old[before] == positions_new[after]
                and types_old[before] == types_new[after]
                and after not in renames.values()
            ):
                renames[before] = after
                break
    return renames


def _column_changes(name: str, old: SchemaProperty, new: SchemaProperty, add: Any) -> None:
    type_before, type_after = _type(old), _type(new)
    if type_before != type_after:
        if _widens(type_before, type_after):
            add(name, "type_widened", f"column {name} type {type_before} -> {type_after}", False)
        else:
            add(
                name,
                "type_narrowed",
                f"column {name} type {type_before} -> {type_after} (narrowed or changed)",
                True,
            )
    if new.required and not old.required:
        add(name, "nullability_tightened", f"column {name} became required", True)
    elif old.required and not new.required:
        add(name, "nullability_relaxed", f"column {name} became nullable", False)
    unique_before, unique_after = old.unique or old.primary_key, new.unique or new.primary_key
    if unique_before and not unique_after:
        add(name, "uniqueness_dropped", f"column {name} is no longer unique", True)
    elif unique_after and not unique_before:
        add(name, "uniqueness_added", f"column {name} became unique", False)
    if (old.classification or "") != (new.classification or ""):
        add(
            name,
            "classification_changed",
            f"column {name} classification {old.classification or 'none'} -> "
            f"{new.classification or 'none'}",
            True,
        )
    if (old.description or "") != (new.description or ""):
        add(name, "description_changed", f"column {name} description changed", False)


def _sla_changes(old: Contract, new: Contract, add: Any) -> None:
    for name in (*_LARGER_IS_LOOSER, *_SMALLER_IS_LOOSER):
        before, after = _sla_value(old, name), _sla_value(new, name)
        if before is None or before == after:
            continue
        if after is None:
            text = f"SLA {name} removed (was {_sla_text(old, name)})"
            add(None, "sla_loosened", text, True, name)
            continue
        looser = after > before if name in _LARGER_IS_LOOSER else after < before
        text = f"SLA {name} {_sla_text(old, name)} -> {_sla_text(new, name)}"
        add(None, "sla_loosened" if looser else "sla_tightened", text, looser, name)


def _sla_value(contract: Contract, name: str) -> float | None:
    if name == "availability":
        item = contract.sla(name)
        if item is None or item.value is None:
            return None
        try:
            return float(str(item.value).rstrip("%"))
        except ValueError:
            return None
    duration = sla_duration(contract, name)
    return None if duration is None else duration.total_seconds()


def _sla_text(contract: Contract, name: str) -> str:
    item = contract.sla(name)
    if item is None:
        return "none"
    return f"{item.value}{' ' + item.unit if item.unit else ''}"


def _type(prop: SchemaProperty) -> str:
    return spark_type(prop.logical_type, prop.physical_type).lower().replace(" ", "")


def _widens(before: str, after: str) -> bool:
    """Whether every value of type ``before`` is a value of type ``after``."""
    if before in _INTEGERS and after in _INTEGERS:
        return _INTEGERS.index(after) > _INTEGERS.index(before)
    if (before, after) in {("float", "double"), ("date", "timestamp")}:
        return True
    if before in ("tinyint", "smallint", "int") and after == "double":
        return True
    decimal_after = _DECIMAL.match(after)
    if decimal_after is None:
        return False
    precision, scale = int(decimal_after.group(1)), int(decimal_after.group(2))
    if before in _INTEGER_DIGITS:
        return precision - scale >= _INTEGER_DIGITS[before]
    decimal_before = _DECIMAL.match(before)
    if decimal_before is None:
        return False
    old_precision, old_scale = int(decimal_before.group(1)), int(decimal_before.group(2))
    return scale >= old_scale and precision - scale >= old_precision - old_scale


def _major(version: str) -> int | None:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else None
