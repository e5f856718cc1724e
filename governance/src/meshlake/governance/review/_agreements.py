"""The sharing agreements a breaking change hits, from the base AND the head specs.

Both, because a pull request may edit an agreement along with the contract: the base's agreement is
the promise in force today, the head's the one after merge. A column change hits the agreements that
deliver that column; a port-level change (removed, retired, SLA) hits every agreement on the port.
A loosened SLA breaks each agreement whose promise (its own term, or the base contract's) the new
contract no longer keeps.
"""

from __future__ import annotations

from pathlib import Path

from meshlake.governance.review._changes import AgreementHit, Change
from meshlake.platform import PortRef
from meshlake.platform.specs import AgreementSpec, Contract, Mesh, SlaProperty, Term, sla_looser


class AgreementReaders:
    """Agreements on each port of the base and the head meshes."""

    def __init__(self, base: Mesh | None, head: Mesh | None) -> None:
        self.sides = [(label, mesh) for label, mesh in (("base", base), ("head", head)) if mesh]

    def of_change(self, change: Change) -> list[AgreementHit]:
        if change.port is None:
            return []
        ref = PortRef.parse(f"{change.product}.{change.port}")
        hits: dict[str, AgreementHit] = {}
        for label, mesh in self.sides:
            contract = _contract(mesh, ref)
            for spec in mesh.agreements_on(ref):
                if change.column is not None and not spec.reads_column(ref, change.column):
                    continue
                hit = hits.get(spec.name)
                if hit is None:  # the base's terms first: the promise in force before the change
                    hit = hits[spec.name] = _hit(spec, contract, mesh.root)
                hit.specs.append(label)
        if change.kind == "sla_loosened" and change.sla_property:
            head = next((mesh for label, mesh in self.sides if label == "head"), None)
            offered = None
            if head is not None and (contract := _contract(head, ref)) is not None:
                offered = contract.sla(change.sla_property)
            for hit in hits.values():
                hit.broken = _broken(hit, change.sla_property, offered)
        return sorted(hits.values(), key=lambda hit: hit.name)


def attach_agreements(changes: list[Change], readers: AgreementReaders) -> None:
    """Fill ``agreements`` of every breaking change on a port."""
    for change in changes:
        if change.breaking:
            change.agreements = readers.of_change(change)


def _contract(mesh: Mesh, ref: PortRef) -> Contract | None:
    product = mesh.products.get(ref.product_ref)
    port = product.ports.get(ref.port) if product is not None else None
    return port.contract if port is not None else None


def _hit(spec: AgreementSpec, contract: Contract | None, root: Path) -> AgreementHit:
    agreement = spec.agreement
    try:
        file = str(spec.file.relative_to(root))
    except ValueError:
        file = str(spec.file)
    return AgreementHit(
        spec.name,
        agreement.consumer.kind,
        agreement.consumer.id,
        agreement.purpose,
        file,
        [_term(term) for term in spec.terms(contract)],
    )


def _term(term: Term) -> dict[str, object]:
    return {
        "property": term.property,
        "value": term.value,
        "unit": term.unit,
        "from": term.source,
        "text": str(term),
    }


def _broken(hit: AgreementHit, name: str, offered: SlaProperty | None) -> str:
    promised = next((term for term in hit.terms if term["property"] == name), None)
    if promised is None:
        return ""
    item = SlaProperty.model_validate(
        {"property": name, "value": promised["value"], "unit": promised["unit"]}
    )
    now = "nothing" if offered is None else _text(offered)
    if offered is None or sla_looser(item, offered):
        return f"promises {promised['text']}; the contract now promises {now}"
    return ""


def _text(item: SlaProperty) -> str:
    unit = "" if item.unit is None or str(item.value).endswith("%") else f" {item.unit}"
    return f"{item.property} {item.value}{unit}"
