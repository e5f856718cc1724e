"""Request and response bodies of the sharing agreements API (``/api/v1/agreements``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

AGREEMENT_NAME = r"^[a-z][a-z0-9-]{2,62}$"
PORT_REF = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"
PURPOSE = r"^[a-z][a-z0-9_]{0,99}$"

ConsumerKind = Literal["product", "person", "team", "external"]
State = Literal["requested", "countered", "approved", "active", "expired", "revoked", "rejected"]
Name = Annotated[str, StringConstraints(pattern=AGREEMENT_NAME)]
ColumnName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
RowValue = Annotated[str, StringConstraints(max_length=200)] | bool | int | float
# Any ISO date (years 1 to 9999) is stored as it is by both databases; the policies judge how long.
AgreementDate = date


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConsumerIn(_Strict):
    kind: ConsumerKind
    id: Annotated[str, StringConstraints(min_length=1, max_length=300)] = Field(
        description="A product id (domain.product), a username, a team name or a recipient's name."
    )
    domain: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = Field(
        default=None,
        description="The domain that sponsors a person, team or external recipient (a product's "
        "domain is its own).",
    )


class PortTermsIn(_Strict):
    port: Annotated[str, StringConstraints(pattern=PORT_REF, max_length=302)]
    columns: list[ColumnName] | None = Field(
        default=None, max_length=1000, description="The columns delivered; omitted: all."
    )
    masked: list[ColumnName] = Field(
        default_factory=list, max_length=1000, description="Columns delivered masked."
    )
    rows: dict[ColumnName, list[RowValue]] = Field(
        default_factory=dict,
        max_length=20,
        description="Row scope: column -> the values a row may hold (all must hold).",
    )


class SlaItemIn(_Strict):
    """One SLA term, shaped as an ODCS ``slaProperties`` item."""

    property: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    value: (
        Annotated[int, Field(ge=0, le=10**12)]
        | Annotated[float, Field(ge=0, le=1e12)]
        | Annotated[str, StringConstraints(max_length=50)]
    )
    unit: Annotated[str, StringConstraints(max_length=20)] | None = None
    element: Annotated[str, StringConstraints(max_length=300)] | None = None


class AgreementIn(_Strict):
    """A consumer's request for access to output ports of one providing domain."""

    name: Name
    consumer: ConsumerIn
    purpose: Annotated[str, StringConstraints(pattern=PURPOSE)]
    legal_basis: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    start: AgreementDate
    end: AgreementDate
    ports: list[PortTermsIn] = Field(min_length=1, max_length=50)
    sla: list[SlaItemIn] = Field(
        default_factory=list,
        max_length=20,
        description="Stricter terms than the contracts' slaProperties; omitted: the contracts'.",
    )
    source: Annotated[str, StringConstraints(max_length=500)] | None = Field(
        default=None, description="Where the agreement is declared, e.g. its file in the specs."
    )


class CounterOfferIn(_Strict):
    """The provider's changed terms; what is omitted stays as requested."""

    ports: list[PortTermsIn] | None = Field(default=None, min_length=1, max_length=50)
    end: AgreementDate | None = None
    sla: list[SlaItemIn] | None = Field(default=None, max_length=20)
    reason: Annotated[str, StringConstraints(max_length=2000)] | None = None


class TransitionIn(_Strict):
    reason: Annotated[str, StringConstraints(max_length=2000)] | None = None


class RenewIn(_Strict):
    end: AgreementDate
    reason: Annotated[str, StringConstraints(max_length=2000)] | None = None


class ReasonOut(BaseModel):
    policy: str
    severity: str
    message: str


class SharingDecisionOut(BaseModel):
    allowed: bool
    reasons: list[ReasonOut]


class AgreementOut(BaseModel):
    name: str
    state: State
    consumer: ConsumerIn
    provider_domain: str
    purpose: str
    legal_basis: str | None
    start: date
    end: date
    ports: list[PortTermsIn]
    sla: list[SlaItemIn]
    offer: dict[str, Any] | None = Field(
        description="A counter-offer awaiting the consumer's answer (ports, end, sla, reason)."
    )
    decision: SharingDecisionOut | None
    source: str | None
    requested_by: str
    created_at: datetime
    updated_at: datetime


class AgreementEventOut(BaseModel):
    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str
    detail: dict[str, Any] | None


class CoverageOut(BaseModel):
    """What an active agreement lets a consumer read of one port, for the platform to apply."""

    agreement: str
    port: str
    columns: list[str] = Field(description="The columns delivered, in the port's order.")
    masked: list[str]
    rows: dict[str, list[RowValue]]
    ends_on: date


class EvidenceOut(BaseModel):
    property: str
    status: Literal["met", "missed", "unknown"]
    measured: str | None
    promised: str | None
    detail: str
    delta_version: int | None
    observed_at: datetime


class SlaEvaluationOut(BaseModel):
    """One measurement of an agreement's SLA on one of its ports."""

    agreement: str
    port: str
    evaluated_at: datetime
    delta_version: int | None
    met: bool
    results: list[EvidenceOut]


class SlaRunOut(BaseModel):
    evaluated: int = Field(description="Agreement ports measured.")
    missed: int = Field(description="Of which missed at least one term.")
    evaluations: list[SlaEvaluationOut]


class IncidentEvidenceOut(EvidenceOut):
    agreement: str


class IncidentOut(BaseModel):
    """An SLA breach of one port, for its provider: open until the SLA holds again."""

    id: int
    port: str
    provider_domain: str
    state: Literal["open", "resolved"]
    breached: list[str]
    agreements: list[str]
    evidence: list[IncidentEvidenceOut]
    breach_started_at: datetime | None = Field(
        description="The last evaluation that found the SLA met: the breach began after it."
    )
    opened_at: datetime
    resolved_at: datetime | None
    time_to_detect_seconds: float | None
    time_to_resolve_seconds: float | None
