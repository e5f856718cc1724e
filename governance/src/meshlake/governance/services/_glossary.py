"""The business glossary: terms with a definition, linked to catalog columns.

A term links columns by their contract column reference (``domain.product.port.column``). Linking
a column needs write access to its domain (or admin), so a domain's stewards curate the terms of
their own columns. Search indexes each term, and the term's name in the text of every column, port
and product it is linked to, so searching a business word finds the data behind it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from meshlake.governance._errors import InvalidRequestError, NotFoundError
from meshlake.governance.api._glossary_models import TermIn
from meshlake.governance.db._tables import Column, Dataset, GlossaryTerm, Product
from meshlake.governance.services import _audit
from meshlake.governance.services._access import Caller
from meshlake.governance.services._documents import reindex_product, reindex_term

MAX_NAME = 200


@dataclass(frozen=True)
class LinkedColumn:
    ref: str
    dataset: str
    column: str
    in_catalog: bool
    type: str | None = None
    description: str | None = None
    classification: str | None = None


@dataclass(frozen=True)
class Term:
    name: str
    definition: str
    columns: list[LinkedColumn]


def list_terms(session: Session) -> list[Term]:
    terms = list(session.scalars(select(GlossaryTerm).order_by(GlossaryTerm.name)))
    known = _columns(session, [ref for term in terms for ref in term.columns])
    return [_term(term, known) for term in terms]


def get_term(session: Session, name: str) -> Term:
    term = _find(session, name)
    return _term(term, _columns(session, term.columns))


def put_term(session: Session, caller: Caller, name: str, body: TermIn) -> Term:
    """Create or replace a term; every linked column must be in the catalog."""
    name = _name(name)
    term = session.scalar(select(GlossaryTerm).where(GlossaryTerm.name == name))
    before = None if term is None else {"definition": term.definition, "columns": term.columns}
    columns = list(dict.fromkeys(body.columns))  # keeps the order, drops repeats
    touched = {_domain(ref) for ref in columns} | {_domain(ref) for ref in _before_columns(term)}
    if touched:
        for domain in sorted(touched):
            caller.require_domain_writer(domain, f"link glossary terms to columns of {domain!r}")
    else:
        caller.require_admin("define glossary terms that link no column")
    known = _columns(session, columns)
    for index, ref in enumerate(body.columns):
        if ref not in known:
            raise InvalidRequestError(
                f"columns[{index}]: no column {ref} in the catalog; register its product first "
                "(meshlake governance sync) or fix the reference (domain.product.port.column)"
            )
    stale_products = {_product(ref) for ref in _before_columns(term)}
    if term is None:
        term = GlossaryTerm(name=name, definition=body.definition, columns=columns)
        session.add(term)
    term.definition, term.columns = body.definition, columns
    session.flush()
    for product_ref in sorted(stale_products | {_product(ref) for ref in columns}):
        product = session.scalar(select(Product).where(Product.ref == product_ref))
        if product is not None:
            reindex_product(session, product)
    reindex_term(session, term)
    after = {"definition": term.definition, "columns": term.columns}
    _audit.record(
        session,
        principal=caller.name,
        action="glossary.put",
        target=name,
        before=before,
        after=after,
    )
    return _term(term, known)


def _before_columns(term: GlossaryTerm | None) -> list[str]:
    return [] if term is None else list(term.columns)


def _find(session: Session, name: str) -> GlossaryTerm:
    term = session.scalar(select(GlossaryTerm).where(GlossaryTerm.name == name))
    if term is None:
        raise NotFoundError(f"no glossary term {name!r}")
    return term


def _name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_NAME:
        raise InvalidRequestError(f"name: a term name of 1 to {MAX_NAME} characters expected")
    return cleaned


def _domain(ref: str) -> str:
    return ref.split(".", 1)[0]


def _product(ref: str) -> str:
    return ".".join(ref.split(".")[:2])


def _dataset(ref: str) -> str:
    return ref.rsplit(".", 1)[0]


def _columns(session: Session, refs: Iterable[str]) -> dict[str, Column]:
    """The catalog's columns among ``refs``, by reference."""
    wanted = set(refs)
    datasets = {_dataset(ref) for ref in wanted}
    if not datasets:
        return {}
    rows = session.execute(
        select(Dataset.ref, Column).join(Column.dataset).where(Dataset.ref.in_(sorted(datasets)))
    )
    found = {f"{dataset_ref}.{column.name}": column for dataset_ref, column in rows}
    return {ref: column for ref, column in found.items() if ref in wanted}


def _term(term: GlossaryTerm, known: dict[str, Column]) -> Term:
    linked = []
    for ref in term.columns:
        column = known.get(ref)
        linked.append(
            LinkedColumn(
                ref=ref,
                dataset=_dataset(ref),
                column=ref.rsplit(".", 1)[1],
                in_catalog=column is not None,
                type=column.type if column else None,
                description=column.description if column else None,
                classification=column.classification if column else None,
            )
        )
    return Term(term.name, term.definition, linked)
