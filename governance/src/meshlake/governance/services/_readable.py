"""What a caller may read, and reading it: the one place governed consumption asks both questions.

Governed SQL and the Delta Sharing server read output ports for consumers. Both take the terms from
here, so a port reads the same through either: its published version (the newest the catalog
recorded, never the table's latest commit), the agreement's columns, its masks and its row scope.

- A domain's own people (a domain role, or the zone service hosting it) read its ports whole.
- Anyone else reads a port only under an active agreement naming them as the consumer (a person,
  team or external recipient by principal name), or naming a product of a domain they write.
- An admin reads what the domains' own people read: everything, unmasked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyarrow as pa
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError, TableNotFoundError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from meshlake.governance._errors import ConflictError, NotFoundError
from meshlake.governance.db._tables import Agreement, Dataset, DatasetVersion, Domain, Product
from meshlake.governance.services._access import DOMAIN_ROLES, Caller
from meshlake.governance.services._agreements import advance
from meshlake.governance.services._sharing_decision import ports_of
from meshlake.governance.services._sql import TableGrant, filtered
from meshlake.platform import storage_options


@dataclass(frozen=True)
class ReadablePort:
    """One output port as one reader may read it."""

    port: str
    """``domain.product.port``, the dataset's catalog ref."""
    location: str
    version: int
    """The published Delta version: the newest the catalog recorded."""
    grant: TableGrant
    agreement: str | None
    """The agreement it is read under; None for a domain's own people."""


def relation_name(port: str) -> str:
    """A plain identifier for ``port``'s filtered table (``hr.employees.employees`` ->
    ``hr__employees__employees``), unique per port since refs hold no double underscore."""
    return port.replace(".", "__").replace("-", "_")


def own_domains(caller: Caller) -> set[str]:
    """The domains whose ports ``caller`` reads whole."""
    return {scope for role, scope in caller.roles if role in DOMAIN_ROLES and scope} | {
        domain for _, domain in caller.hosted
    }


def readable_ports(session: Session, caller: Caller, today: date) -> dict[str, ReadablePort]:
    """Every published port ``caller`` may read, by ref; agreements are advanced to ``today``
    first, so an expired or revoked one grants nothing."""
    readable: dict[str, ReadablePort] = {}
    for agreement in _agreements_of(session, caller, today):
        for port in agreement_ports(session, agreement):
            readable.setdefault(port.port, port)
    domains = None if caller.is_admin else own_domains(caller)
    # One query whatever the catalog's size (columns loaded in a second): each port with its
    # published version, the newest recorded; a port with none is not readable yet.
    published = (
        select(
            DatasetVersion.dataset_id.label("dataset_id"),
            func.max(DatasetVersion.delta_version).label("version"),
        )
        .group_by(DatasetVersion.dataset_id)
        .subquery()
    )
    query = (
        select(Dataset, published.c.version)
        .join(published, published.c.dataset_id == Dataset.id)
        .join(Product, Dataset.product_id == Product.id)
        .join(Domain)
        .options(selectinload(Dataset.columns))
    )
    if domains is not None:
        query = query.where(Domain.name.in_(sorted(domains)))
    for dataset, version in session.execute(query.order_by(Dataset.ref)):
        names = tuple(column.name for column in dataset.columns)
        readable[dataset.ref] = ReadablePort(
            dataset.ref,
            dataset.location,
            version,
            TableGrant(relation_name(dataset.ref), names),
            None,
        )
    return readable


def agreement_ports(session: Session, agreement: Agreement) -> list[ReadablePort]:
    """The published ports of an active agreement, with its terms; [] when it is not active."""
    if agreement.state != "active":
        return []
    found = []
    for terms in ports_of(agreement.terms):
        dataset = session.scalar(select(Dataset).where(Dataset.ref == terms.port))
        if dataset is None:
            continue
        version = _published_version(session, dataset)
        if version is None:
            continue
        names = [column.name for column in dataset.columns]
        chosen = set(terms.columns) if terms.columns is not None else set(names)
        columns = tuple(name for name in names if name in chosen)
        grant = TableGrant(
            relation_name(dataset.ref),
            columns,
            masked=frozenset(name for name in terms.masked if name in chosen),
            row_filter={column: frozenset(values) for column, values in terms.rows.items()},
        )
        found.append(ReadablePort(dataset.ref, dataset.location, version, grant, agreement.name))
    return found


def read(port: ReadablePort, version: int | None = None) -> pa.Table:
    """``port`` at its published version (or an earlier ``version``), as its grant lets through.

    Read with delta-rs from the table's own log; a version past the published one is refused, so
    no reader sees what the catalog has not recorded.
    """
    return filtered(scan(port, version), port.grant)


def scan(port: ReadablePort, version: int | None = None) -> pa.Table:
    """The columns ``port``'s grant needs (visible and row-scope ones), before masks and filters.

    For governed SQL, whose ``run`` applies the grant itself on the locked connection: applying it
    twice would hash masked values again and miss the row-scope columns. Same version rule as
    :func:`read`.
    """
    at = port.version if version is None else version
    if at > port.version:
        raise NotFoundError(
            f"{port.port}: version {at} is not published; the published version is {port.version}"
        )
    try:
        table = DeltaTable(
            port.location, version=at, storage_options=storage_options(port.location)
        )
        raw = table.to_pyarrow_table(columns=list(port.grant.read_columns))
    except TableNotFoundError:
        raise ConflictError(f"{port.port}: no Delta table at {port.location}") from None
    except DeltaError as exc:
        raise ConflictError(f"{port.port}: version {at} cannot be read: {exc}") from None
    return raw


def _agreements_of(session: Session, caller: Caller, today: date) -> list[Agreement]:
    conditions = [Agreement.consumer_id == caller.name]
    domains = own_domains(caller)
    if domains:
        conditions.append(
            (Agreement.consumer_kind == "product") & Agreement.consumer_domain.in_(sorted(domains))
        )
    agreements = list(
        session.scalars(select(Agreement).where(or_(*conditions)).order_by(Agreement.id.desc()))
    )
    for agreement in agreements:
        advance(session, agreement, today)
    return [agreement for agreement in agreements if agreement.state == "active"]


def _published_version(session: Session, dataset: Dataset) -> int | None:
    return session.scalar(
        select(DatasetVersion.delta_version)
        .where(DatasetVersion.dataset_id == dataset.id)
        .order_by(DatasetVersion.delta_version.desc())
        .limit(1)
    )
