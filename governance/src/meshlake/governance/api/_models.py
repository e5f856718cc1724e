"""API models: what goes over the wire (separate from the database tables)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Grant(BaseModel):
    role: Literal["admin", "domain_owner", "domain_member", "consumer", "zone_service"]
    domain: str | None = Field(
        default=None, description="The domain of a domain_owner or domain_member grant."
    )
    zone: str | None = Field(
        default=None,
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
    name: str = Field(
        min_length=1, max_length=200, description="A person's e-mail or a service account's name."
    )
    kind: Literal["person", "service"]
    grants: list[Grant] = []
    token_description: str | None = None


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
    region: str
    storage_root: str
    description: str | None = None


class DomainIn(BaseModel):
    zone: str
    description: str | None = None
    team: str | None = None
    owners: list[str] = []


class PortIn(BaseModel):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str | None = None
    location: str
    contract: dict[str, Any] = Field(description="The port's ODCS v3.1 contract document.")


class ProductIn(BaseModel):
    """A product's registration: its descriptor's catalog fields and its ports with contracts."""

    description: str | None = None
    status: str = "active"
    tier: Literal["bronze", "silver", "gold"] = "silver"
    team: str | None = None
    owners: list[str] = []
    tags: list[str] = []
    ports: list[PortIn] = Field(min_length=1)


class PublishedPortIn(BaseModel):
    port: str
    delta_version: int = Field(ge=0)
    row_count: int | None = Field(default=None, ge=0)
    contract_version: str
    quality: dict[str, Any] = {}


class PublicationIn(BaseModel):
    """A materialization's result: one new Delta version per port."""

    run_id: str | None = None
    ports: list[PublishedPortIn] = Field(min_length=1)


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
        default=None, description="Warn rules of the publication policies that matched."
    )


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
    datasets: list[DatasetOut]
