"""The facts of a staged version, checked against the catalog before the publication policies run.

Each check returns reasons in the shape of a policy's (``policy``, ``deny``, message), so the one
decision the platform gets says everything that stands in the way, whichever side found it:

- ``declared_inputs``: every input the product declares resolves through the catalog (a port to
  its product, domain, zone and region; a raw source to its domain's zone), and the staged
  version read nothing it does not declare. What cannot be resolved denies (fail closed).
- ``contract_version``: each port was staged under the contract version the catalog holds.
- ``contract_schema``: each staged schema is the registered contract's (names, order, types,
  required columns not nullable).
- ``input_versions``: each input port was read at a version the catalog published.
- ``whole_product``: every output port is staged; a product is published whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meshlake.governance._errors import InvalidRequestError
from meshlake.governance.api._models import DecisionIn
from meshlake.governance.db._tables import (
    ContractRevision,
    Dataset,
    DatasetVersion,
    Domain,
    Product,
    ProductInput,
)
from meshlake.governance.policies import Reason
from meshlake.governance.services._schemas import (
    FoundColumn,
    TypeSyntaxError,
    canonical_type,
    schema_mismatches,
)
from meshlake.platform.specs import Contract


@dataclass
class ResolvedInputs:
    """The declared inputs in the publication input's shape, and those that did not resolve."""

    inputs: list[dict[str, Any]] = field(default_factory=list)
    denials: list[Reason] = field(default_factory=list)


def resolve_inputs(session: Session, product: Product) -> ResolvedInputs:
    """Each declared input resolved through the catalog to its domain, zone and region."""
    resolved = ResolvedInputs()
    for item in product.inputs:
        found = _resolve(session, product, item)
        if isinstance(found, str):
            resolved.denials.append(Reason("declared_inputs", "deny", found))
        else:
            resolved.inputs.append(found)
    return resolved


def _resolve(session: Session, product: Product, item: ProductInput) -> dict[str, Any] | str:
    """The input's publication-input entry, or why it does not resolve."""
    what = f"declared input {item.name!r} of {product.ref}"
    if item.kind == "product":
        dataset = session.scalar(select(Dataset).where(Dataset.ref == item.port))
        if dataset is None:
            return (
                f"{what} reads port {item.port}, which is not in the catalog; register its "
                "product first (meshlake governance sync)"
            )
        owner = dataset.product.domain
        if owner.name != item.domain:
            return (
                f"{what} says port {item.port} belongs to domain {item.domain}, but the catalog "
                f"holds it in domain {owner.name}"
            )
        contract_id = dataset.contract_id
    else:
        owner_or_none = session.scalar(select(Domain).where(Domain.name == item.domain))
        if owner_or_none is None:
            return (
                f"{what} reads raw source {item.source} of domain {item.domain}, which is not in "
                "the catalog; register the domain first (meshlake governance sync)"
            )
        owner = owner_or_none
        contract_id = str(item.source)
    return {
        "name": item.name,
        "contract_id": contract_id,
        "kind": item.kind,
        "domain": owner.name,
        "zone": owner.zone.name,
        "region": owner.zone.region,
    }


def staged_reasons(session: Session, product: Product, body: DecisionIn) -> list[Reason]:
    """What in the staged facts the catalog refuses; InvalidRequestError for a malformed body."""
    datasets = {dataset.name: dataset for dataset in product.datasets}
    _check_names(product, body, datasets)
    reasons: list[Reason] = []
    staged = {item.port for item in body.ports}
    for name in sorted(set(datasets) - staged):
        reasons.append(
            Reason(
                "whole_product",
                "deny",
                f"port {name} of {product.ref} is not staged; a product is published whole, "
                "every port staged and checked before any commit",
            )
        )
    for item in body.ports:
        dataset = datasets[item.port]
        if item.contract_version != dataset.contract_version:
            reasons.append(
                Reason(
                    "contract_version",
                    "deny",
                    f"port {item.port} was staged under contract {item.contract_version}, but "
                    f"the catalog holds contract {dataset.contract_version} for {dataset.ref}; "
                    "register the product first",
                )
            )
            continue
        contract = registered_contract(session, dataset)
        found = [
            _staged_column(column.name, column.type, column.nullable) for column in item.columns
        ]
        reasons += [
            Reason(
                "contract_schema",
                "deny",
                f"staged schema of port {item.port} differs from contract {contract.id} "
                f"{contract.version}: {mismatch}",
            )
            for mismatch in schema_mismatches(found, contract)
        ]
    return reasons + _input_reasons(session, product, body)


def check_port_names(
    product: Product, ports: list[str], datasets: dict[str, Dataset], twice: str
) -> None:
    """422 for a body's port that the product lacks or that it names twice (``is <twice> twice``)."""
    seen: set[str] = set()
    for index, port in enumerate(ports):
        if port not in datasets:
            known = ", ".join(sorted(datasets))
            raise InvalidRequestError(
                f"ports[{index}].port: product {product.ref} has no port {port!r} (it has {known})"
            )
        if port in seen:
            raise InvalidRequestError(f"ports[{index}].port: {port!r} is {twice} twice")
        seen.add(port)


def _check_names(product: Product, body: DecisionIn, datasets: dict[str, Dataset]) -> None:
    check_port_names(product, [item.port for item in body.ports], datasets, "staged")
    read: set[str] = set()
    for index, staged in enumerate(body.inputs):
        if staged.port in read:
            raise InvalidRequestError(f"inputs[{index}].port: {staged.port!r} is listed twice")
        read.add(staged.port)


def _input_reasons(session: Session, product: Product, body: DecisionIn) -> list[Reason]:
    declared = {item.port: item for item in product.inputs if item.kind == "product"}
    reasons: list[Reason] = []
    for staged in body.inputs:
        if staged.port not in declared:
            reasons.append(
                Reason(
                    "declared_inputs",
                    "deny",
                    f"the staged version of {product.ref} read {staged.port}, which the product "
                    "does not declare as an input; declare it (inputPorts) so that it is judged",
                )
            )
            continue
        dataset = session.scalar(select(Dataset).where(Dataset.ref == staged.port))
        if dataset is None:
            continue  # the declared input does not resolve: resolve_inputs denies it
        published = session.scalar(
            select(DatasetVersion.id).where(
                DatasetVersion.dataset_id == dataset.id,
                DatasetVersion.delta_version == staged.version,
            )
        )
        if published is None:
            versions = sorted(version.delta_version for version in dataset.versions)
            listed = (
                f"published: {', '.join(map(str, versions[-5:]))}"
                if versions
                else "nothing of it is published yet"
            )
            reasons.append(
                Reason(
                    "input_versions",
                    "deny",
                    f"input {staged.port} was read at version {staged.version}, which the catalog "
                    f"has not published ({listed}); read the published version",
                )
            )
    read = {staged.port for staged in body.inputs}
    for port, item in declared.items():
        known = session.scalar(select(Dataset.id).where(Dataset.ref == port)) is not None
        # An input the catalog does not know is denied by resolve_inputs, once.
        if port not in read and known:
            reasons.append(
                Reason(
                    "input_versions",
                    "deny",
                    f"declared input {item.name!r} ({port}) has no staged version: the staged "
                    "version must say which published version of it was read",
                )
            )
    return reasons


def registered_contract(session: Session, dataset: Dataset) -> Contract:
    """The contract the catalog holds for ``dataset`` (its current version)."""
    document = session.scalar(
        select(ContractRevision.document).where(
            ContractRevision.dataset_id == dataset.id,
            ContractRevision.version == dataset.contract_version,
        )
    )
    if document is None:  # pragma: no cover - put_product always stores the revision
        raise InvalidRequestError(
            f"{dataset.ref}: no registered contract {dataset.contract_version}"
        )
    return Contract.model_validate(document)


def _staged_column(name: str, type_: str, nullable: bool) -> FoundColumn:
    try:
        return FoundColumn(name, canonical_type(type_), nullable)
    except TypeSyntaxError:
        return FoundColumn(name, type_, nullable)
