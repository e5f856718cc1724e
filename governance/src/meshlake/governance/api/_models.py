"""API models: what goes over the wire (separate from the database tables)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from meshlake.governance.api._bounds import Count, Id
from meshlake.governance.api._policy_models import ReasonOut

# What the validators below refuse, said in the JSON Schema too, so that a client generating
# requests from the OpenAPI does not send what is certain to be refused.
_GRANT_SCOPES: dict[str, Any] = {
    "anyOf": [
        {
            "properties": {
                "role": {"enum": ["admin", "consumer"]},
                "domain": {"type": "null"},
                "zone": {"type": "null"},
            }
        },
        {
            "properties": {
                "role": {"enum": ["domain_owner", "domain_member"]},
                "domain": {"type": "string"},
                "zone": {"type": "null"},
            },
            "required": ["domain"],
        },
        {
            "properties": {
                "role": {"const": "zone_service"},
                "zone": {"type": "string"},
                "domain": {"type": "null"},
            },
            "required": ["zone"],
        },
    ]
}
# Only a service principal holds a zone_service grant.
SERVICE_ONLY_GRANTS: dict[str, Any] = {
    "anyOf": [
        {"properties": {"kind": {"const": "service"}}},
        {
            "properties": {
                "grants": {"items": {"properties": {"role": {"not": {"const": "zone_service"}}}}}
            }
        },
    ]
}


class Grant(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_GRANT_SCOPES)

    role: Literal["admin", "domain_owner", "domain_member", "consumer", "zone_service"]
    domain: str | None = Field(
        default=None,
        max_length=100,
        description="The domain of a domain_owner or domain_member grant.",
    )
    zone: str | None = Field(
        default=None,
        max_length=100,
        description="The landing zone of a zone_service grant (a service principal's role): it "
        "writes and publishes the domains that zone hosts, and records lineage of their jobs.",
    )

    @model_validator(mode="after")
    def _one_scope(self) -> Grant:
        if self.zone is not None and self.role != "zone_service":
            raise ValueError(f"zone: only a zone_service grant has a zone, not {self.role}")
        if self.role == "zone_service" and self.domain is not None:
            raise ValueError("domain: a zone_service grant is scoped by its zone, not a domain")
        return self

    @property
    def scope(self) -> str | None:
        return self.zone if self.role == "zone_service" else self.domain


class PrincipalIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=SERVICE_ONLY_GRANTS)

    name: str = Field(
        min_length=1, max_length=200, description="A person's e-mail or a service account's name."
    )
    kind: Literal["person", "service"]
    grants: list[Grant] = []
    token_description: str | None = Field(default=None, max_length=1000)


class TokenOut(BaseModel):
    principal: str
    token: str = Field(description="Shown once; only its hash is stored.")


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    principal: str | None
    action: str
    target: str | None
    outcome: str
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class ZoneIn(BaseModel):
    kind: Literal["governance", "data"]
    region: str = Field(max_length=100)
    storage_root: str = Field(max_length=2000)
    description: str | None = None
    policies: list[Annotated[str, Field(max_length=200)]] | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The policies that judge the zone's products: decisions (publication) or "
        "single policies (sharing.residency); null for all. An unknown name is refused (422).",
    )


class ZoneOut(BaseModel):
    name: str
    kind: str
    region: str
    storage_root: str
    description: str | None = None
    domains: dict[str, list[str]] = Field(
        default={}, description="Each domain of the zone with its products' refs."
    )
    policies: list[str] | None = Field(
        default=None, description="The policies the zone declares, as registered; null for all."
    )


class DomainIn(BaseModel):
    zone: str = Field(max_length=100)
    description: str | None = None
    team: str | None = Field(default=None, max_length=200)
    owners: list[str] = []


class QuarantineIn(BaseModel):
    """A port's quarantine table: where it is, how long it keeps rows, which columns it masks."""

    location: str = Field(max_length=2000)
    retention_days: float = Field(
        gt=0, le=36500, description="The contract's retention SLA, else the platform's default."
    )
    masked_columns: list[Annotated[str, Field(max_length=200)]] = Field(
        default=[], max_length=1000, description="Columns held masked, as text."
    )


class PortIn(BaseModel):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=100)
    description: str | None = None
    location: str = Field(max_length=2000)
    contract: dict[str, Any] = Field(description="The port's ODCS v3.1 contract document.")
    quarantine: QuarantineIn | None = Field(
        default=None, description="Its quarantine table, when the contract has quarantine rules."
    )


_NAME = r"^[a-z][a-z0-9_]*$"
_PORT_REF = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"


_INPUT_KINDS: dict[str, Any] = {
    "anyOf": [
        {
            "properties": {
                "kind": {"const": "product"},
                "port": {"type": "string"},
                "source": {"type": "null"},
            },
            "required": ["port"],
        },
        {
            "properties": {
                "kind": {"const": "raw"},
                "source": {"type": "string"},
                "port": {"type": "null"},
            },
            "required": ["source"],
        },
    ]
}


class InputIn(BaseModel):
    """An input port as the product declares it: another product's output port, or a raw source.

    Governance resolves it through its own catalog (port -> product -> domain -> zone -> region;
    raw source -> its domain -> zone) when it decides on a publication.
    """

    model_config = ConfigDict(json_schema_extra=_INPUT_KINDS)

    name: str = Field(pattern=_NAME, max_length=100)
    kind: Literal["product", "raw"]
    port: str | None = Field(
        default=None,
        pattern=_PORT_REF,
        max_length=302,
        description="domain.product.port (kind product).",
    )
    source: str | None = Field(
        default=None, min_length=1, max_length=300, description="The raw source's id (kind raw)."
    )
    domain: str = Field(
        max_length=100, description="The domain that owns the port or the raw source."
    )

    @model_validator(mode="after")
    def _what_it_reads(self) -> InputIn:
        if self.kind == "product" and (self.port is None or self.source is not None):
            raise ValueError(
                "an input of kind product names a port (domain.product.port), no source"
            )
        if self.kind == "raw" and (self.source is None or self.port is not None):
            raise ValueError("an input of kind raw names a source (the raw source id), no port")
        return self


class InputOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    kind: str
    port: str | None
    source: str | None
    domain: str


class ProductIn(BaseModel):
    """A product's registration: its descriptor's catalog fields, its ports with contracts and the
    inputs it declares."""

    description: str | None = None
    status: str = Field(default="active", max_length=20)
    tier: Literal["bronze", "silver", "gold"] = "silver"
    team: str | None = Field(default=None, max_length=200)
    owners: list[str] = []
    tags: list[str] = []
    ports: list[PortIn] = Field(min_length=1)
    inputs: list[InputIn] = Field(
        default=[], description="What the product reads; publication is judged from these."
    )

    @model_validator(mode="after")
    def _unique_inputs(self) -> ProductIn:
        names = [item.name for item in self.inputs]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"inputs: {', '.join(twice)} declared more than once")
        return self


class StagedColumnIn(BaseModel):
    name: str = Field(max_length=200)
    type: str = Field(max_length=1000, description='Spark simpleString, e.g. "decimal(8,3)".')
    nullable: bool


class StagedPortIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    port: str = Field(max_length=100)
    contract_version: str = Field(max_length=50)
    columns: list[StagedColumnIn] = Field(alias="schema", description="The staged schema.")
    row_count: Count | None = Field(
        default=None,
        description="Rows the staged version writes; null when the rows are written only at the "
        "commit (a merge into an existing table).",
    )
    quality: dict[str, Any] = Field(default={}, description="QualityReport.summary() of the port.")


class StagedInputIn(BaseModel):
    port: str = Field(pattern=_PORT_REF, description="domain.product.port read.")
    version: Count = Field(description="The Delta version read.")


class DecisionIn(BaseModel):
    """A staged version of a product (files written, nothing committed), for a publication decision."""

    run_id: str = Field(min_length=1, max_length=100)
    ports: list[StagedPortIn] = Field(min_length=1)
    inputs: list[StagedInputIn] = []


class PublicationDecisionOut(BaseModel):
    id: int = Field(description="The decision's id; POST .../versions names it.")
    allowed: bool = Field(description="No deny rule matched.")
    gate: Literal["enforce", "warn"]
    commit: bool = Field(description="Whether the platform may commit: allowed, or gate warn.")
    reasons: list[ReasonOut]
    policies: list[str] = Field(
        default=[], description="The policies that judged it: those of the product's zone."
    )
    bundle: str | None = Field(default=None, description="The policy bundle's version.")


class RecordedQuarantineIn(BaseModel):
    """The version of the port's quarantine table that the same run committed."""

    delta_version: Count
    row_count: Count = Field(description="Rows at that version; refused unless the log agrees.")


class RecordedPortIn(BaseModel):
    port: str = Field(max_length=100)
    delta_version: Count
    contract_version: str = Field(max_length=50)
    row_count: Count | None = Field(
        default=None, description="The client's count; refused unless the log agrees."
    )
    quarantine: RecordedQuarantineIn | None = None


class PublicationIn(BaseModel):
    """Committed versions to record, one per port of the product, under an allowed decision."""

    run_id: str = Field(min_length=1, max_length=100)
    decision_id: Id
    ports: list[RecordedPortIn] = Field(min_length=1)


class ColumnOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    type: str
    description: str | None
    classification: str | None
    required: bool
    tags: list[str]


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    delta_version: int
    row_count: int | None
    contract_version: str
    quality: dict[str, Any]
    run_id: str | None
    published_by: str
    published_at: datetime
    policy_warnings: list[dict[str, Any]] | None = Field(
        default=None,
        description="Reasons of the decision it was recorded under: warn rules, and in warn "
        "mode the deny rules that matched.",
    )
    decision_id: int | None = Field(default=None, description="That publication decision.")


class QuarantineColumnOut(BaseModel):
    name: str
    type: str
    classification: str | None
    masked: bool = Field(description="Held masked, as text, as the port's failing samples are.")


class QuarantineVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    delta_version: int
    row_count: int
    run_id: str
    recorded_at: datetime


class QuarantineOut(BaseModel):
    """A port's quarantine table: not an output port (no consumers), labelled ``kind``."""

    kind: Literal["quarantine"] = "quarantine"
    ref: str
    port: str = Field(description="The output port whose rejected rows it holds.")
    location: str
    classification: str | None = Field(description="The port's.")
    retention_days: float
    columns: list[QuarantineColumnOut]
    versions: list[QuarantineVersionOut]


class DatasetOut(BaseModel):
    ref: str
    name: str
    description: str | None
    location: str
    contract_id: str
    contract_version: str
    classification: str | None
    columns: list[ColumnOut]
    versions: list[VersionOut]
    quarantine: QuarantineOut | None = None


class ProductOut(BaseModel):
    ref: str
    domain: str
    zone: str
    name: str
    description: str | None
    status: str
    tier: str
    team: str | None
    owners: list[str]
    tags: list[str]
    inputs: list[InputOut] = []
    datasets: list[DatasetOut]


class PublishedOut(BaseModel):
    """The version of an output port that readers read: the last one the catalog recorded."""

    ref: str
    location: str
    delta_version: int
    row_count: int | None
    run_id: str | None
    published_at: datetime
