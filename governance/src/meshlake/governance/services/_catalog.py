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
    PolicyDecision,
    Product,
    ProductInput,
    Zone,
)
from meshlake.governance.policies import default_engine, select_policies
from meshlake.governance.services import _audit, _quarantine
from meshlake.governance.services._access import Caller
from meshlake.governance.services._delta_log import RUN_ID_KEY, VersionFacts, read_version
from meshlake.governance.services._documents import reindex_product
from meshlake.governance.services._schemas import schema_mismatches
from meshlake.governance.services._staged import check_port_names, registered_contract
from meshlake.platform.specs import Contract, field_path, highest_classification, spark_type


def put_zone(session: Session, caller: Caller, name: str, body: ZoneIn) -> Zone:
    caller.require_admin("register landing zones")
    if body.policies is not None:
        # The zone's products are judged by these: a name the policies do not have is refused
        # now (422, naming policies[i]), not found out at the first decision.
        select_policies(body.policies, default_engine().known_policies)
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
    zone.policies = list(body.policies) if body.policies is not None else None
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


def list_zones(session: Session) -> list[tuple[Zone, dict[str, list[str]]]]:
    """Every zone with the products of each of its domains (``{domain: [product refs]}``)."""
    zones = list(session.scalars(select(Zone).order_by(Zone.name)))
    hosted: dict[int, dict[str, list[str]]] = {zone.id: {} for zone in zones}
    by_id: dict[int, list[str]] = {}
    for domain in session.scalars(select(Domain).order_by(Domain.name)):
        by_id[domain.id] = hosted.setdefault(domain.zone_id, {}).setdefault(domain.name, [])
    for product in session.scalars(select(Product).order_by(Product.ref)):
        by_id.setdefault(product.domain_id, []).append(product.ref)
    return [(zone, hosted[zone.id]) for zone in zones]


def remove_zone(session: Session, caller: Caller, name: str) -> None:
    """Remove a zone and its domains; refused (409) while a domain of it has products, naming
    them, because their tables and versions would lose their zone."""
    caller.require_admin("remove landing zones")
    zone = session.scalar(select(Zone).where(Zone.name == name))
    if zone is None:
        raise NotFoundError(f"no landing zone {name!r}")
    domains = list(session.scalars(select(Domain).where(Domain.zone_id == zone.id)))
    held = sorted(
        product.ref
        for product in session.scalars(
            select(Product).where(Product.domain_id.in_([domain.id for domain in domains]))
        )
    )
    if held:
        raise ConflictError(
            f"landing zone {name!r} still holds products: {', '.join(held)}; move their domains "
            "to another zone (landingZone in domain.yaml) or retire the products first"
        )
    before = _zone_state(zone)
    for domain in domains:
        session.delete(domain)
    session.delete(zone)
    session.flush()
    _audit.record(
        session,
        principal=caller.name,
        action="zone.remove",
        target=name,
        before={**(before or {}), "domains": sorted(domain.name for domain in domains)},
        after=None,
    )


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
        dataset = _put_dataset(
            session,
            product,
            port.name,
            port.description,
            port.location,
            port.contract,
            contracts[port.name],
        )
        _quarantine.put_quarantine(session, dataset, port.quarantine)
    # Declared inputs are replaced as a whole, in the order given.
    product.inputs.clear()
    session.flush()
    product.inputs.extend(
        ProductInput(
            position=position,
            name=item.name,
            kind=item.kind,
            port=item.port,
            source=item.source,
            domain=item.domain,
        )
        for position, item in enumerate(body.inputs)
    )
    session.flush()
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


def record_versions(
    session: Session, caller: Caller, domain_name: str, name: str, body: PublicationIn
) -> tuple[Product, bool]:
    """Record the committed versions of a product's ports, after reading each in its Delta log.

    Refused (409) unless the decision named is this product's and run's and let the platform
    commit, every port staged under it is recorded at once, and each version's log agrees: it
    exists, its commit carries this run's id, its rows equal the claimed count (when claimed) and
    its schema is the registered contract's. What is recorded is what the log says; the quality
    and the policy reasons come from the decision. Returns the product and whether anything was
    new: the same (port, version, run) recorded again changes nothing (an outbox may retry).
    """
    caller.require_domain_writer(domain_name, f"publish products of domain {domain_name!r}")
    product = get_product(session, domain_name, name)
    datasets = {dataset.name: dataset for dataset in product.datasets}
    check_port_names(product, [item.port for item in body.ports], datasets, "recorded")
    decision = _commit_decision(session, product, body)
    staged = {item["port"]: item for item in (decision.staged or {}).get("ports", [])}
    unrecorded = sorted(set(staged) - {item.port for item in body.ports})
    if unrecorded:
        raise ConflictError(
            f"port {', '.join(unrecorded)} of {product.ref} was staged under decision "
            f"{decision.id} but is not recorded here; record every port of the product at once"
        )
    new: list[tuple[Dataset, VersionFacts, dict[str, Any]]] = []
    problems: list[str] = []
    for item in body.ports:
        dataset = datasets[item.port]
        if item.port not in staged:
            raise ConflictError(
                f"port {item.port} of {product.ref} was not staged under decision {decision.id}"
            )
        where = f"port {item.port} ({dataset.ref}) version {item.delta_version}"
        for claimed, holder in (
            (dataset.contract_version, "the catalog holds"),
            (staged[item.port]["contract_version"], f"decision {decision.id} staged"),
        ):
            if item.contract_version != claimed:
                raise ConflictError(
                    f"{where}: contract_version: expected {claimed} ({holder}), found "
                    f"{item.contract_version}; register the product and decide again"
                )
        existing = session.scalar(
            select(DatasetVersion).where(
                DatasetVersion.dataset_id == dataset.id,
                DatasetVersion.delta_version == item.delta_version,
            )
        )
        if existing is not None:
            if existing.run_id == body.run_id:
                continue  # recorded already, by this run: idempotent
            raise ConflictError(
                f"{dataset.ref} version {item.delta_version} is already published "
                f"(by run {existing.run_id})"
            )
        facts = read_version(dataset.location, item.delta_version)
        found = _log_mismatches(session, dataset, item.row_count, body.run_id, facts)
        problems += [f"{where}: {line}" for line in found]
        new.append((dataset, facts, staged[item.port]))
    quarantined, found = _quarantine.check_versions(session, datasets, body.ports, body.run_id)
    problems += found
    if problems:
        raise ConflictError(
            "; ".join(problems) + "; nothing recorded: the Delta log is the evidence"
        )
    _quarantine.record(session, quarantined, body.run_id, decision.id)
    for dataset, facts, staged_port in new:
        session.add(
            DatasetVersion(
                dataset_id=dataset.id,
                delta_version=facts.version,
                row_count=facts.row_count,
                contract_version=dataset.contract_version,
                quality=staged_port.get("quality") or {},
                run_id=body.run_id,
                published_by=caller.name,
                # In warn mode the denials travel with the version, marked as such.
                policy_warnings=list(decision.reasons),
                decision_id=decision.id,
                delta_schema=[column.as_dict() for column in facts.columns],
            )
        )
    session.flush()
    session.refresh(product)
    if new or quarantined:
        _audit.record(
            session,
            principal=caller.name,
            action="product.published",
            target=product.ref,
            after={
                "run_id": body.run_id,
                "decision": decision.id,
                "ports": {
                    dataset.name: {"delta_version": facts.version, "row_count": facts.row_count}
                    for dataset, facts, _ in new
                },
                "quarantine": {
                    item.quarantine.ref: {
                        "delta_version": item.facts.version,
                        "row_count": item.facts.row_count,
                    }
                    for item in quarantined
                },
            },
        )
    return product, bool(new or quarantined)


def _commit_decision(session: Session, product: Product, body: PublicationIn) -> PolicyDecision:
    """The decision named by ``body``, if it lets this run of ``product`` commit; else 409."""
    decision = session.get(PolicyDecision, body.decision_id)
    if decision is None or decision.decision != "publication" or decision.staged is None:
        raise ConflictError(
            f"decision_id: {body.decision_id} is no publication decision on a staged version; ask "
            f"POST /api/v1/products/{product.domain.name}/{product.name}/decisions first"
        )
    if decision.subject != product.ref:
        raise ConflictError(
            f"decision_id: decision {decision.id} is about {decision.subject}, not {product.ref}"
        )
    if decision.run_id != body.run_id:
        raise ConflictError(
            f"decision_id: decision {decision.id} is for run {decision.run_id}, not {body.run_id}"
        )
    if not decision.commit_allowed:
        denial = next((r["message"] for r in decision.reasons if r["severity"] == "deny"), "")
        raise ConflictError(
            f"decision_id: decision {decision.id} denied publishing {product.ref} ({denial}); "
            "nothing may be recorded under it"
        )
    return decision


def _log_mismatches(
    session: Session, dataset: Dataset, row_count: int | None, run_id: str, facts: VersionFacts
) -> list[str]:
    """How a recorded version differs from what its Delta log holds."""
    problems = []
    if facts.run_id != run_id:
        problems.append(
            f"userMetadata {RUN_ID_KEY}: expected {run_id}, found "
            f"{facts.run_id or 'none'} in the commit"
        )
    if row_count is not None and row_count != facts.row_count:
        problems.append(
            f"row_count: expected {row_count} (claimed), found {facts.row_count} in the Delta log"
        )
    contract = registered_contract(session, dataset)
    problems += [
        f"schema: {mismatch.field}: expected {mismatch.expected}, found {mismatch.found} in "
        f"the Delta log (contract {contract.id} {contract.version})"
        for mismatch in schema_mismatches(facts.columns, contract)
    ]
    return problems


def published(session: Session, ref: str) -> DatasetVersion:
    """The version of output port ``ref`` that readers read: the newest the catalog recorded."""
    dataset = get_dataset(session, ref)
    version = session.scalar(
        select(DatasetVersion)
        .where(DatasetVersion.dataset_id == dataset.id)
        .order_by(DatasetVersion.delta_version.desc())
        .limit(1)
    )
    if version is None:
        raise NotFoundError(f"nothing of {ref} is published yet")
    return version


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
        contract = Contract.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = field_path(tuple(first["loc"]))
        raise InvalidRequestError(f"{where}.{path}: {first['msg']}") from None
    if len(contract.schema_) != 1:  # ODCS allows any number; a dataset is one table
        raise InvalidRequestError(
            f"{where}.schema: a port's contract describes the one table it publishes "
            f"(found {len(contract.schema_)} schema objects)"
        )
    return contract


def _put_dataset(
    session: Session,
    product: Product,
    name: str,
    description: str | None,
    location: str,
    document: dict[str, Any],
    contract: Contract,
) -> Dataset:
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
    return dataset


def _zone_state(zone: Zone | None) -> dict[str, Any] | None:
    if zone is None:
        return None
    return {
        "kind": zone.kind,
        "region": zone.region,
        "storage_root": zone.storage_root,
        "policies": zone.policies,
    }


def _product_state(product: Product) -> dict[str, Any]:
    return {
        "status": product.status,
        "tier": product.tier,
        "owners": product.owners,
        "ports": {dataset.name: dataset.contract_version for dataset in product.datasets},
        "inputs": {item.name: item.port or item.source for item in product.inputs},
    }
