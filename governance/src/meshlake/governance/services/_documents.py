"""Search documents: the text of products, datasets, columns and glossary terms, kept in step.

The database's full-text index (FTS5 on SQLite, tsvector on PostgreSQL) covers ``search_documents``
and is maintained by the database itself (see the search migration).
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from meshlake.governance.db._tables import Dataset, GlossaryTerm, Product, SearchDocument
from meshlake.platform.specs import highest_classification


def reindex_product(session: Session, product: Product) -> None:
    """Replace the documents of ``product``, its datasets and their columns."""
    session.execute(delete(SearchDocument).where(SearchDocument.ref.startswith(product.ref + ".")))
    session.execute(delete(SearchDocument).where(SearchDocument.ref == product.ref))
    terms = _terms_by_column(session, product.ref)
    owner = product.team or (product.owners[0] if product.owners else None)
    domain = product.domain.name
    column_text = " ".join(
        column.name for dataset in product.datasets for column in dataset.columns
    )
    session.add(
        SearchDocument(
            kind="product",
            ref=product.ref,
            name=product.name,
            domain=domain,
            owner=owner,
            classification=highest_classification(
                [
                    column.classification
                    for dataset in product.datasets
                    for column in dataset.columns
                ]
            ),
            tags=product.tags,
            description=product.description or "",
            body=" ".join([column_text, *product.tags, *(terms.values())]),
        )
    )
    for dataset in product.datasets:
        session.add(
            SearchDocument(
                kind="dataset",
                ref=dataset.ref,
                name=dataset.name,
                domain=domain,
                owner=owner,
                classification=dataset.classification,
                tags=dataset.tags or product.tags,
                description=dataset.description or "",
                body=" ".join(
                    [
                        " ".join(f"{c.name} {c.description or ''}" for c in dataset.columns),
                        *product.tags,
                        # A port is found by the business terms of its columns.
                        *(
                            terms[f"{dataset.ref}.{c.name}"]
                            for c in dataset.columns
                            if f"{dataset.ref}.{c.name}" in terms
                        ),
                    ]
                ),
            )
        )
        if dataset.quarantine is not None:
            _index_quarantine(session, dataset, domain, owner)
        for column in dataset.columns:
            reference = f"{dataset.ref}.{column.name}"
            session.add(
                SearchDocument(
                    kind="column",
                    ref=reference,
                    name=column.name,
                    domain=domain,
                    owner=owner,
                    classification=column.classification,
                    tags=column.tags,
                    description=column.description or "",
                    body=" ".join([dataset.name, terms.get(reference, "")]),
                )
            )
    session.flush()


def _index_quarantine(session: Session, dataset: Dataset, domain: str, owner: str | None) -> None:
    """A port's quarantine table, found under its own kind (``quarantine``), never as a port."""
    from meshlake.governance.services._quarantine import columns

    quarantine = dataset.quarantine
    assert quarantine is not None
    masked = ", ".join(quarantine.masked_columns) or "none"
    session.add(
        SearchDocument(
            kind="quarantine",
            ref=quarantine.ref,
            name=f"{dataset.name} quarantine",
            domain=domain,
            owner=owner,
            classification=dataset.classification,
            tags=["quarantine"],
            description=(
                f"Quarantine of {dataset.ref}: the rows its quarantine rules set aside, kept "
                f"{quarantine.retention_days:g} days; masked columns: {masked}."
            ),
            body=" ".join(["quarantine", *(column["name"] for column in columns(quarantine))]),
        )
    )


def reindex_term(session: Session, term: GlossaryTerm) -> None:
    reference = f"term:{term.name}"
    session.execute(delete(SearchDocument).where(SearchDocument.ref == reference))
    session.add(
        SearchDocument(
            kind="term",
            ref=reference,
            name=term.name,
            description=term.definition,
            body=" ".join(term.columns),
        )
    )
    session.flush()


def _terms_by_column(session: Session, product_ref: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for term in session.scalars(select(GlossaryTerm)):
        for column in term.columns:
            if column.startswith(product_ref + "."):
                found[column] = f"{found.get(column, '')} {term.name}".strip()
    return found
