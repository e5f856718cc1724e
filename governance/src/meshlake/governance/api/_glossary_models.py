"""API models of the business glossary (``/api/v1/glossary``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

COLUMN_REF_PATTERN = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$"

ColumnRef = Annotated[
    str,
    Field(
        pattern=COLUMN_REF_PATTERN,
        max_length=500,
        description="A contract column reference: domain.product.port.column.",
    ),
]


class TermIn(BaseModel):
    """A glossary term and the columns it describes."""

    definition: str = Field(min_length=1, max_length=5000)
    columns: list[ColumnRef] = Field(
        default=[],
        max_length=1000,
        description="The columns the term describes; each must be in the catalog (register its"
        " product first).",
    )


class LinkedColumnOut(BaseModel):
    """A column a term is linked to, as the catalog holds it now."""

    ref: str = Field(description="domain.product.port.column")
    dataset: str = Field(description="domain.product.port")
    column: str
    in_catalog: bool = Field(
        description="False when the column has left its port's contract since the term was"
        " linked (the link stays until the term is updated)."
    )
    type: str | None = None
    description: str | None = None
    classification: str | None = None


class TermOut(BaseModel):
    name: str
    definition: str
    columns: list[LinkedColumnOut]
