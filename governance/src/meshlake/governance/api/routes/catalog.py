"""Catalog endpoints: register zones, domains and products; publish versions; read it all."""

from __future__ import annotations

from fastapi import APIRouter

from meshlake.governance.api._models import (
    ColumnOut,
    DatasetOut,
    DomainIn,
    ProductIn,
    ProductOut,
    PublicationIn,
    VersionOut,
    ZoneIn,
)
from meshlake.governance.api.deps import CallerDep, SessionDep
from meshlake.governance.db._tables import Dataset, Product
from meshlake.governance.services import _catalog

router = APIRouter(prefix="/api/v1", tags=["catalog"])


@router.put("/zones/{name}", status_code=204, summary="Register or update a landing zone (admin)")
def put_zone(name: str, body: ZoneIn, session: SessionDep, caller: CallerDep) -> None:
    _catalog.put_zone(session, caller, name, body)


@router.put("/domains/{name}", status_code=204, summary="Register or update a domain (admin)")
def put_domain(name: str, body: DomainIn, session: SessionDep, caller: CallerDep) -> None:
    _catalog.put_domain(session, caller, name, body)


@router.put(
    "/products/{domain}/{product}",
    summary="Register or update a product and its ports (the domain's owners and members)",
)
def put_product(
    domain: str, product: str, body: ProductIn, session: SessionDep, caller: CallerDep
) -> ProductOut:
    return product_out(_catalog.put_product(session, caller, domain, product, body))


@router.post(
    "/products/{domain}/{product}/versions",
    status_code=201,
    summary="Publish new Delta versions of a product's ports (the domain's owners and members)",
)
def publish(
    domain: str, product: str, body: PublicationIn, session: SessionDep, caller: CallerDep
) -> ProductOut:
    return product_out(_catalog.publish(session, caller, domain, product, body))


@router.get("/products", summary="Every product in the catalog")
def list_products(
    session: SessionDep, _caller: CallerDep, domain: str | None = None
) -> list[ProductOut]:
    return [product_out(product) for product in _catalog.list_products(session, domain)]


@router.get(
    "/products/{domain}/{product}", summary="One product with its ports, columns and versions"
)
def get_product(domain: str, product: str, session: SessionDep, _caller: CallerDep) -> ProductOut:
    return product_out(_catalog.get_product(session, domain, product))


@router.get(
    "/datasets/{ref}", summary="One output port (domain.product.port) with columns and versions"
)
def get_dataset(ref: str, session: SessionDep, _caller: CallerDep) -> DatasetOut:
    return dataset_out(_catalog.get_dataset(session, ref))


def dataset_out(dataset: Dataset) -> DatasetOut:
    return DatasetOut(
        ref=dataset.ref,
        name=dataset.name,
        description=dataset.description,
        location=dataset.location,
        contract_id=dataset.contract_id,
        contract_version=dataset.contract_version,
        classification=dataset.classification,
        columns=[ColumnOut.model_validate(column) for column in dataset.columns],
        versions=[VersionOut.model_validate(version) for version in dataset.versions],
    )


def product_out(product: Product) -> ProductOut:
    return ProductOut(
        ref=product.ref,
        domain=product.domain.name,
        zone=product.domain.zone.name,
        name=product.name,
        description=product.description,
        status=product.status,
        tier=product.tier,
        team=product.team,
        owners=product.owners,
        tags=product.tags,
        datasets=[dataset_out(dataset) for dataset in product.datasets],
    )
