"""Catalog endpoints: register zones, domains and products; decide on and record publications; read."""

from __future__ import annotations

from fastapi import APIRouter, Response

from meshlake.governance.api._models import (
    ColumnOut,
    DatasetOut,
    DecisionIn,
    DomainIn,
    InputOut,
    ProductIn,
    ProductOut,
    PublicationDecisionOut,
    PublicationIn,
    PublishedOut,
    QuarantineColumnOut,
    QuarantineOut,
    QuarantineVersionOut,
    VersionOut,
    ZoneIn,
    ZoneOut,
)
from meshlake.governance.api._policy_models import ReasonOut
from meshlake.governance.api.deps import CallerDep, NowDep, SessionDep
from meshlake.governance.db._tables import Dataset, Product
from meshlake.governance.services import _catalog, _incidents, _policies, _quarantine

router = APIRouter(prefix="/api/v1", tags=["catalog"])


@router.put("/zones/{name}", status_code=204, summary="Register or update a landing zone (admin)")
def put_zone(name: str, body: ZoneIn, session: SessionDep, caller: CallerDep) -> None:
    _catalog.put_zone(session, caller, name, body)


@router.get("/zones", summary="Every landing zone with its domains and their products")
def list_zones(session: SessionDep, _caller: CallerDep) -> list[ZoneOut]:
    return [
        ZoneOut(
            name=zone.name,
            kind=zone.kind,
            region=zone.region,
            storage_root=zone.storage_root,
            description=zone.description,
            domains=domains,
            policies=zone.policies,
        )
        for zone, domains in _catalog.list_zones(session)
    ]


@router.delete(
    "/zones/{name}",
    status_code=204,
    summary="Remove a landing zone and its domains (admin); refused while they hold products",
)
def remove_zone(name: str, session: SessionDep, caller: CallerDep) -> None:
    _catalog.remove_zone(session, caller, name)


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
    "/products/{domain}/{product}/decisions",
    summary="Decide on publishing a staged version of a product, before any commit (the domain's "
    "writers)",
    description="Judged from the catalog: the staged schema against the registered contract, the "
    "inputs read against the published versions, the declared inputs resolved to their zones and "
    "regions, then the publication policies. A denial answers 200 with allowed false; `commit` "
    "says whether the platform may commit (allowed, or the gate in warn mode).",
)
def decide(
    domain: str, product: str, body: DecisionIn, session: SessionDep, caller: CallerDep
) -> PublicationDecisionOut:
    decision, row = _policies.decide_publication(session, caller, domain, product, body)
    return PublicationDecisionOut(
        id=row.id,
        allowed=decision.allowed,
        gate="warn" if row.gate == "warn" else "enforce",
        commit=bool(row.commit_allowed),
        reasons=[
            ReasonOut(policy=reason.policy, severity=reason.severity, message=reason.message)
            for reason in decision.reasons
        ],
        policies=decision.policies,
        bundle=decision.bundle,
    )


@router.post(
    "/products/{domain}/{product}/versions",
    status_code=201,
    summary="Record the committed Delta versions of a product's ports, verified against their "
    "Delta logs (the domain's writers)",
    description="Under a decision that let this run commit. Each version is read from its Delta "
    "log (it exists, its commit carries the run id, its rows and schema); a record that does not "
    "match is refused (409). Recording the same versions of the same run again answers 200.",
    responses={200: {"description": "Already recorded by this run; nothing changed."}},
)
def record_versions(
    domain: str,
    product: str,
    body: PublicationIn,
    session: SessionDep,
    caller: CallerDep,
    response: Response,
    now: NowDep,
) -> ProductOut:
    recorded, new = _catalog.record_versions(session, caller, domain, product, body)
    if not new:
        response.status_code = 200
    else:
        for dataset in recorded.datasets:
            _incidents.evaluate_after_publication(session, now, dataset.ref)
    return product_out(recorded)


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


@router.get(
    "/datasets/{ref}/published",
    summary="The version of an output port that readers read: the last the catalog published",
)
def get_published(ref: str, session: SessionDep, _caller: CallerDep) -> PublishedOut:
    version = _catalog.published(session, ref)
    return PublishedOut(
        ref=ref,
        location=version.dataset.location,
        delta_version=version.delta_version,
        row_count=version.row_count,
        run_id=version.run_id,
        published_at=version.published_at,
    )


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
        quarantine=quarantine_out(dataset),
    )


def quarantine_out(dataset: Dataset) -> QuarantineOut | None:
    quarantine = dataset.quarantine
    if quarantine is None:
        return None
    return QuarantineOut(
        ref=quarantine.ref,
        port=dataset.ref,
        location=quarantine.location,
        classification=dataset.classification,
        retention_days=quarantine.retention_days,
        columns=[QuarantineColumnOut(**column) for column in _quarantine.columns(quarantine)],
        versions=[QuarantineVersionOut.model_validate(item) for item in quarantine.versions],
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
        inputs=[InputOut.model_validate(item) for item in product.inputs],
        datasets=[dataset_out(dataset) for dataset in product.datasets],
    )
