"""Catalog rules: zones, domains, products with their ports, columns, contract history and versions."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from meshlake.governance._errors import ConflictError, InvalidRequestError, NotFoundError
from meshlake.governance.api._models import DomainIn, ProductIn, PublicationIn, ZoneIn
from meshlake.governance.db._tables import (
    Column,
    ContractRevision,
    Dataset,
    DatasetVersion,
    Domain,
    Product,
    Zone,
)
from meshlake.governance.services import _audit, _policies
from meshlake.governance.services._access import Caller
from meshlake.governance.services._documents import reindex_product
from meshlake.platform.specs import Contract, highest_classification, spark_type
from meshlake.platform.specs._problems import field_path


def put_zone(session: Session, caller: Caller, name: str, body: ZoneIn) -> Zone:
    caller.require_admin("register landing zones")
    zone = session.scalar(select(Zone).where(Zone.name == name))
    before = _zone_state(zone)
    if zone is None:
        zone = Zone(name=name, kind=body.kind, region=body.region, storage_root=body.storage_root)
        session.add(zone)
    zone.kind, zone.region, zone.storage_root, zone.description = (
        body.kind,
        body.region,
        body.storage_root,
        body.description,
    )
    session.flush()
    _audit.record(
        session,
        principal=caller.name,
        action="zone.put",
        target=name,
        before=before,
        after=_zone_state(zone),
    )
    return zone


def put_domain(session: Session, caller: Caller, name: str, body: DomainIn) -> Domain:
    caller.require_admin("register domains")
    zone = session.scalar(select(Zone).where(Zone.name == body.zone))
    if zone is None:
        raise NotFoundError(
            f"no landing zone {body.zone!r}; register it first (meshlake governance sync)"
        )
    domain = session.scalar(select(Domain).where(Domain.name == name))
    before = (
        None
        if domain is None
        else {"zone": domain.zone.name, "team": domain.team, "owners": domain.owners}
    )
    if domain is None:
        domain = Domain(name=name, zone_id=zone.id)
        session.add(domain)
    domain.zone_id, domain.description, domain.team, domain.owners = (
        zone.id,
        body.description,
        body.team,
        body.owners,
    )
    session.flush()
    after = {"zone": body.zone, "team": body.team, "owners": body.owners}
    _audit.record(
        session, principal=caller.name, action="domain.put", target=name, before=before, after=after
    )
    return domain


def put_product(
    session: Session, caller: Caller, domain_name: str, name: str, body: ProductIn
) -> Product:
    """Register or update a product and its ports; every new contract version is kept."""
    caller.require_domain_writer(domain_name, f"register products of domain {domain_name!r}")
    domain = session.scalar(select(Domain).where(Domain.name == domain_name))
    if domain is None:
        raise NotFoundError(
            f"no domain {domain_name!r}; register it first (meshlake governance sync)"
        )
    ref = f"{domain_name}.{name}"
    contracts = {
        port.name: _contract(port.contract, f"ports[{index}].contract")
        for index, port in enumerate(body.ports)
    }
    product = session.scalar(select(Product).where(Product.ref == ref))
    before = None if product is None else _product_state(product)
    if product is None:
        product = Product(
            ref=ref, domain_id=domain.id, name=name, status=body.status, tier=body.tier
        )
        session.add(product)
    product.description, product.status, product.tier = body.description, body.status, body.tier
    product.team, product.owners, product.tags = body.team, body.owners, body.tags
    session.flush()
    for port in body.ports:
        _put_dataset(
            session,
            product,
            port.name,
            port.description,
            port.location,
            port.contract,
            contracts[port.name],
        )
    session.refresh(product)
    reindex_product(session, product)
    _audit.record(
        session,
        principal=caller.name,
        action="product.put",
        target=ref,
        before=before,
        after=_product_state(product),
    )
    return product


def publish(
    session: Session, caller: Caller, domain_name: str, name: str, body: PublicationIn
) -> Product:
    """Record a materialization: one new Delta version per port, with its row count and quality."""
    caller.require_domain_writer(domain_name, f"publish products of domain {domain_name!r}")
    product = get_product(session, domain_name, name)
    # The publication gate: a deny rule refuses (403, audited); warnings go with the versions.
    warnings = _policies.check_publication(session, caller, product)
    datasets = {dataset.name: dataset for dataset in product.datasets}
    for index, item in enumerate(body.ports):
        dataset = datasets.get(item.port)
        if dataset is None:
            known = ", ".join(sorted(datasets))
            raise InvalidRequestError(
                f"ports[{index}].port: product {product.ref} has no port {item.port!r} (it has {known})"
            )
        if item.contract_version != dataset.contract_version:
            raise ConflictError(
                f"ports[{index}].contract_version: {item.contract_version} was published but the catalog "
                f"holds contract {dataset.contract_version} for {dataset.ref}; register the product first"
            )
        exists = session.scalar(
            select(DatasetVersion).where(
                DatasetVersion.dataset_id == dataset.id,
                DatasetVersion.delta_version == item.delta_version,
            )
        )
        if exists is not None:
            raise ConflictError(f"{dataset.ref} version {item.delta_version} is already published")
        session.add(
            DatasetVersion(
                dataset_id=dataset.id,
                delta_version=item.delta_version,
                row_count=item.row_count,
                contract_version=item.contract_version,
                quality=item.quality,
                run_id=body.run_id,
                published_by=caller.name,
                policy_warnings=warnings,
            )
        )
    session.flush()
    session.refresh(product)
    after = {
        item.port: {"delta_version": item.delta_version, "row_count": item.row_count}
        for item in body.ports
    }
    _audit.record(
        session, principal=caller.name, action="product.published", target=product.ref, after=after
    )
    return product


def get_product(session: Session, domain_name: str, name: str) -> Product:
    product = session.scalar(select(Product).where(Product.ref == f"{domain_name}.{name}"))
    if product is None:
        raise NotFoundError(f"no product {domain_name}.{name} in the catalog")
    return product


def list_products(session: Session, domain: str | None = None) -> list[Product]:
    query = select(Product).order_by(Product.ref)
    if domain:
        query = query.join(Domain).where(Domain.name == domain)
    return list(session.scalars(query))


def get_dataset(session: Session, ref: str) -> Dataset:
    dataset = session.scalar(select(Dataset).where(Dataset.ref == ref))
    if dataset is None:
        raise NotFoundError(f"no dataset {ref} in the catalog")
    return dataset


def _contract(document: dict[str, Any], where: str) -> Contract:
    try:
        return Contract.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = field_path(tuple(first["loc"]))
        raise InvalidRequestError(f"{where}.{path}: {first['msg']}") from None


def _put_dataset(
    session: Session,
    product: Product,
    name: str,
    description: str | None,
    location: str,
    document: dict[str, Any],
    contract: Contract,
) -> None:
    ref = f"{product.ref}.{name}"
    dataset = session.scalar(select(Dataset).where(Dataset.ref == ref))
    if dataset is None:
        dataset = Dataset(
            ref=ref,
            product_id=product.id,
            name=name,
            location=location,
            contract_id=contract.id,
            contract_version=contract.version,
        )
        session.add(dataset)
        session.flush()
    revision = session.scalar(
        select(ContractRevision).where(
            ContractRevision.dataset_id == dataset.id, ContractRevision.version == contract.version
        )
    )
    if revision is not None and revision.document != document:
        raise ConflictError(
            f"{ref}: contract {contract.id} version {contract.version} is already registered with other "
            "content; a changed contract needs a new version"
        )
    if revision is None:
        session.add(
            ContractRevision(dataset_id=dataset.id, version=contract.version, document=document)
        )
    dataset.description = description or contract.table.description
    dataset.location, dataset.contract_id, dataset.contract_version = (
        location,
        contract.id,
        contract.version,
    )
    dataset.classification = highest_classification(
        [prop.classification for prop in contract.columns]
    )
    dataset.tags = list(contract.tags)
    # Old columns go first: the new set may reuse their names (unique per dataset).
    dataset.columns.clear()
    session.flush()
    dataset.columns.extend(
        Column(
            position=position,
            name=prop.name,
            type=spark_type(prop.logical_type, prop.physical_type).lower(),
            description=prop.description,
            classification=prop.classification,
            required=prop.required,
            tags=list(prop.tags),
        )
        for position, prop in enumerate(contract.columns)
    )
    session.flush()


def _zone_state(zone: Zone | None) -> dict[str, Any] | None:
    if zone is None:
        return None
    return {"kind": zone.kind, "region": zone.region, "storage_root": zone.storage_root}


def _product_state(product: Product) -> dict[str, Any]:
    return {
        "status": product.status,
        "tier": product.tier,
        "owners": product.owners,
        "ports": {dataset.name: dataset.contract_version for dataset in product.datasets},
    }
