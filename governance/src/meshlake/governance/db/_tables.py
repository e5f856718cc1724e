"""Database tables (SQLAlchemy 2). Created only by the reviewed Alembic migrations, never at start-up."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that always comes back aware (UTC): SQLite keeps no offset, so its values came
    back naive and were served as times without an offset."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.astimezone(UTC) if value is not None and value.tzinfo is not None else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {
        dict[str, Any]: JSON,
        list[str]: JSON,
        list[dict[str, Any]]: JSON,
        datetime: UtcDateTime(),
        date: Date,
    }


# -- catalog -----------------------------------------------------------------------------------


class Zone(Base):
    __tablename__ = "zones"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    region: Mapped[str] = mapped_column(String(100))
    storage_root: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    # Migration 0012: the policies the zone file declares (decisions or decision.policy); None: all.
    policies: Mapped[list[str] | None] = mapped_column(JSON, default=None)


class Domain(Base):
    __tablename__ = "domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"))
    description: Mapped[str | None] = mapped_column(Text)
    team: Mapped[str | None] = mapped_column(String(200))
    owners: Mapped[list[str]] = mapped_column(default=list)

    zone: Mapped[Zone] = relationship()


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(201), unique=True)  # domain.product
    domain_id: Mapped[int] = mapped_column(ForeignKey("domains.id"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    tier: Mapped[str] = mapped_column(String(20))
    team: Mapped[str | None] = mapped_column(String(200))
    owners: Mapped[list[str]] = mapped_column(default=list)
    tags: Mapped[list[str]] = mapped_column(default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    domain: Mapped[Domain] = relationship()
    datasets: Mapped[list[Dataset]] = relationship(
        back_populates="product", order_by="Dataset.name"
    )
    inputs: Mapped[list[ProductInput]] = relationship(
        order_by="ProductInput.position", cascade="all, delete-orphan"
    )


class ProductInput(Base):
    """An input a product declares (migration 0006): another product's output port or a raw source.

    Stored as declared; the publication decision resolves it through the catalog (port -> product
    -> domain -> zone, raw source -> its domain -> zone) and denies what it cannot resolve.
    """

    __tablename__ = "product_inputs"
    __table_args__ = (
        UniqueConstraint("product_id", "name", name="uq_product_inputs_product_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))  # product | raw
    port: Mapped[str | None] = mapped_column(String(302))  # domain.product.port (kind product)
    source: Mapped[str | None] = mapped_column(String(300))  # raw source id (kind raw)
    domain: Mapped[str] = mapped_column(String(100))  # the domain the input says owns it


class Dataset(Base):
    """An output port: one published Delta table."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(302), unique=True)  # domain.product.port
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str] = mapped_column(Text)
    contract_id: Mapped[str] = mapped_column(String(300))
    contract_version: Mapped[str] = mapped_column(String(50))
    classification: Mapped[str | None] = mapped_column(String(50))
    tags: Mapped[list[str]] = mapped_column(default=list)

    product: Mapped[Product] = relationship(back_populates="datasets")
    columns: Mapped[list[Column]] = relationship(
        back_populates="dataset", order_by="Column.position", cascade="all, delete-orphan"
    )
    versions: Mapped[list[DatasetVersion]] = relationship(
        back_populates="dataset", order_by="DatasetVersion.delta_version"
    )
    # Migration 0010: the port's quarantine table, when its contract has quarantine rules.
    quarantine: Mapped[QuarantineDataset | None] = relationship(
        back_populates="dataset", cascade="all, delete-orphan"
    )


class QuarantineDataset(Base):
    """A port's quarantine table (``<product>/_quarantine/<port>``): the rows its quarantine rules
    set aside, masked as the port masks them, kept for ``retention_days`` (migration 0010).

    A table of its own, beside ``datasets``: it is no output port (no contract of its own, no
    consumers, no agreements), so nothing that lists a product's ports should meet it."""

    __tablename__ = "quarantine_datasets"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), unique=True
    )
    ref: Mapped[str] = mapped_column(String(320), unique=True)  # domain.product._quarantine.port
    location: Mapped[str] = mapped_column(Text)
    retention_days: Mapped[float]
    masked_columns: Mapped[list[str]] = mapped_column(default=list)
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)

    dataset: Mapped[Dataset] = relationship(back_populates="quarantine")
    versions: Mapped[list[QuarantineVersion]] = relationship(
        back_populates="quarantine",
        order_by="QuarantineVersion.delta_version",
        cascade="all, delete-orphan",
    )


class QuarantineVersion(Base):
    """One version of a quarantine table that a run committed, as governance read it in the log."""

    __tablename__ = "quarantine_versions"
    __table_args__ = (UniqueConstraint("quarantine_id", "delta_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    quarantine_id: Mapped[int] = mapped_column(
        ForeignKey("quarantine_datasets.id", ondelete="CASCADE")
    )
    delta_version: Mapped[int]
    row_count: Mapped[int] = mapped_column(BigInteger)
    run_id: Mapped[str] = mapped_column(String(100))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("policy_decisions.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    quarantine: Mapped[QuarantineDataset] = relationship(back_populates="versions")


class Column(Base):
    __tablename__ = "columns"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    classification: Mapped[str | None] = mapped_column(String(50))
    required: Mapped[bool] = mapped_column(default=False)
    tags: Mapped[list[str]] = mapped_column(default=list)

    dataset: Mapped[Dataset] = relationship(back_populates="columns")


class DatasetVersion(Base):
    """One published Delta version of an output port, with its evidence."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "delta_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    delta_version: Mapped[int]
    row_count: Mapped[int | None]
    contract_version: Mapped[str] = mapped_column(String(50))
    quality: Mapped[dict[str, Any]] = mapped_column(default=dict)
    run_id: Mapped[str | None] = mapped_column(String(100))
    published_by: Mapped[str] = mapped_column(String(200))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Warn rules of the publication policies that matched (migration 0005); None before it.
    policy_warnings: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # Migration 0006: the publication decision it was recorded under, and the schema governance
    # read from the Delta log at this version ({name, type, nullable} per column).
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("policy_decisions.id"))
    delta_schema: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    dataset: Mapped[Dataset] = relationship(back_populates="versions")


class ContractRevision(Base):
    """Every contract version a port has had (product history)."""

    __tablename__ = "contract_revisions"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    version: Mapped[str] = mapped_column(String(50))
    document: Mapped[dict[str, Any]]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class GlossaryTerm(Base):
    __tablename__ = "glossary_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    definition: Mapped[str] = mapped_column(Text)
    # Column references "domain.product.port.column" this term describes.
    columns: Mapped[list[str]] = mapped_column(default=list)


# -- access -------------------------------------------------------------------------------------


class Principal(Base):
    """A person or a service account."""

    __tablename__ = "principals"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # person | service
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="principal", cascade="all, delete-orphan"
    )


class RoleGrant(Base):
    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("principal_id", "role", "domain"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id", ondelete="CASCADE"))
    # admin | domain_owner | domain_member | consumer | zone_service
    role: Mapped[str] = mapped_column(String(30))
    domain: Mapped[str | None] = mapped_column(String(100))
    zone: Mapped[str | None] = mapped_column(String(100))  # zone_service's zone (migration 0006)

    principal: Mapped[Principal] = relationship(back_populates="grants")


class ApiToken(Base):
    """A bearer token, stored as its SHA-256 (tokens are random; a slow hash adds nothing).

    Lifecycle columns (migration 0007): ``expires_at`` NULL means no expiry (tokens issued before
    0007); ``last_used_at`` is refreshed at most once a minute; ``replaces_id`` links a rotated
    token to the one it replaced (unique: a token is rotated at most once).
    """

    __tablename__ = "api_tokens"
    __table_args__ = (
        Index("ix_api_tokens_principal", "principal_id"),
        UniqueConstraint("replaces_id", name="uq_api_tokens_replaces"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    replaces_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_tokens.id", name="fk_api_tokens_replaces", ondelete="SET NULL")
    )

    principal: Mapped[Principal] = relationship()
    replaces: Mapped[ApiToken | None] = relationship(
        remote_side="ApiToken.id", back_populates="replaced_by"
    )
    replaced_by: Mapped[ApiToken | None] = relationship(back_populates="replaces")


class AuditEntry(Base):
    """Append-only: the service inserts, never updates or deletes."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    principal: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(20))  # ok | refused
    reason: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


# -- search -------------------------------------------------------------------------------------


class SearchDocument(Base):
    """One searchable thing (product, dataset, column, term): the text the search index covers.

    The full-text index itself is database-specific (SQLite FTS5 table / PostgreSQL tsvector) and is
    created by the migration.
    """

    __tablename__ = "search_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # product | dataset | column | term
    ref: Mapped[str] = mapped_column(String(500), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    domain: Mapped[str | None] = mapped_column(String(100))
    owner: Mapped[str | None] = mapped_column(String(200))
    classification: Mapped[str | None] = mapped_column(String(50))
    tags: Mapped[list[str]] = mapped_column(default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(
        Text, default=""
    )  # columns, terms, tags: the rest of the text


# -- lineage ------------------------------------------------------------------------------------


class LineageJob(Base):
    __tablename__ = "lineage_jobs"
    __table_args__ = (UniqueConstraint("namespace", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    namespace: Mapped[str] = mapped_column(String(300))
    name: Mapped[str] = mapped_column(String(300))


class LineageDataset(Base):
    __tablename__ = "lineage_datasets"
    __table_args__ = (
        UniqueConstraint("namespace", "name"),
        Index("ix_lineage_datasets_logical_name", "logical_name"),  # migration 0003
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    namespace: Mapped[str] = mapped_column(String(300))
    name: Mapped[str] = mapped_column(Text)
    logical_name: Mapped[str | None] = mapped_column(
        String(500)
    )  # domain.product.port, from symlinks


class LineageRun(Base):
    __tablename__ = "lineage_runs"
    __table_args__ = (Index("ix_lineage_runs_job", "job_id"),)  # migration 0003

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), unique=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("lineage_jobs.id"))
    state: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class LineageIO(Base):
    """A job reads (input) or writes (output) a dataset; the table-level graph."""

    __tablename__ = "lineage_io"
    __table_args__ = (
        UniqueConstraint("job_id", "dataset_id", "direction"),
        Index("ix_lineage_io_dataset", "dataset_id", "direction"),  # migration 0003
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("lineage_jobs.id"))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("lineage_datasets.id"))
    direction: Mapped[str] = mapped_column(String(10))  # input | output


class ColumnEdgeRow(Base):
    """output dataset.column depends on input dataset.column, with how and how we know."""

    __tablename__ = "lineage_column_edges"
    __table_args__ = (
        UniqueConstraint(
            "output_dataset_id", "output_column", "input_dataset_id", "input_column", "subtype"
        ),
        Index("ix_lineage_column_edges_input", "input_dataset_id", "input_column"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("lineage_jobs.id"))
    output_dataset_id: Mapped[int] = mapped_column(ForeignKey("lineage_datasets.id"))
    output_column: Mapped[str] = mapped_column(String(200))  # "" for dataset-level
    input_dataset_id: Mapped[int] = mapped_column(ForeignKey("lineage_datasets.id"))
    input_column: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))
    subtype: Mapped[str] = mapped_column(String(30))
    provenance: Mapped[str] = mapped_column(String(20))
    # migration 0004: current while retired_at is NULL (see the migration for the rule)
    seen_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]


class LineageEvent(Base):
    """An OpenLineage event as received (migration 0011), read back by run, job or dataset.

    ``digest`` (sha256 of the body) keeps an event sent twice (HTTP transports retry) once."""

    __tablename__ = "lineage_events"
    __table_args__ = (
        Index("ix_lineage_events_run", "run_id"),
        Index("ix_lineage_events_job", "job_id"),
        # Retention prunes by age (migration 0012), without a scan of every kept event.
        Index("ix_lineage_events_received", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    shape: Mapped[str] = mapped_column(String(20))  # RunEvent | JobEvent | DatasetEvent
    event_type: Mapped[str | None] = mapped_column(String(20))
    event_time: Mapped[datetime]
    run_id: Mapped[str | None] = mapped_column(String(64))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("lineage_jobs.id"))
    received_at: Mapped[datetime]
    body: Mapped[str] = mapped_column(Text)


class LineageEventDataset(Base):
    """A dataset an event names (input, output, or a DatasetEvent's dataset)."""

    __tablename__ = "lineage_event_datasets"
    __table_args__ = (
        UniqueConstraint("event_id", "dataset_id"),
        Index("ix_lineage_event_datasets_dataset", "dataset_id", "event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("lineage_events.id"))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("lineage_datasets.id"))


# -- policies -----------------------------------------------------------------------------------


class PolicyDecision(Base):
    """One decision the policies took, with its input and reasons (migration 0005)."""

    __tablename__ = "policy_decisions"
    __table_args__ = (
        Index("ix_policy_decisions_at", "at"),
        Index("ix_policy_decisions_decision", "decision", "allowed"),
        Index("ix_policy_decisions_subject_run", "subject", "run_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    decision: Mapped[str] = mapped_column(String(30))  # publication | review | access
    subject: Mapped[str | None] = mapped_column(Text)  # what was decided on, e.g. a product ref
    principal: Mapped[str | None] = mapped_column(String(200))
    allowed: Mapped[bool]
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    input: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Migration 0006, publication decisions on a staged version: its run, the gate mode, whether
    # the platform may commit, and the staged facts (ports with schema, rows, quality; inputs).
    run_id: Mapped[str | None] = mapped_column(String(100))
    gate: Mapped[str | None] = mapped_column(String(10))
    commit_allowed: Mapped[bool | None]
    staged: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Migration 0012: the policies that judged (decision.policy) and their bundle's version.
    policies: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    bundle: Mapped[str | None] = mapped_column(String(64), default=None)


# -- sharing agreements and SLAs ------------------------------------------------------------------


class Agreement(Base):
    """A data-sharing agreement (migration 0009): a consumer may use output ports of one providing
    domain for a purpose, with columns, masks and a row scope, between two dates, under SLA terms.

    ``terms`` holds what was agreed (``ports``: port, columns, masked, rows; ``sla``: ODCS
    slaProperties items); ``offer`` a provider's counter-offer awaiting the consumer's answer.
    """

    __tablename__ = "agreements"
    __table_args__ = (Index("ix_agreements_state", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    consumer_kind: Mapped[str] = mapped_column(String(20))  # product | person | team | external
    consumer_id: Mapped[str] = mapped_column(String(300))
    consumer_domain: Mapped[str | None] = mapped_column(String(100))
    provider_domain: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(100))
    legal_basis: Mapped[str | None] = mapped_column(String(200))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    state: Mapped[str] = mapped_column(String(20))
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)
    offer: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    source: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    ports: Mapped[list[AgreementPort]] = relationship(
        back_populates="agreement", cascade="all, delete-orphan"
    )
    events: Mapped[list[AgreementEvent]] = relationship(
        back_populates="agreement", order_by="AgreementEvent.id", cascade="all, delete-orphan"
    )


class AgreementPort(Base):
    """The ports an agreement covers, for finding the agreements of a port."""

    __tablename__ = "agreement_ports"
    __table_args__ = (
        UniqueConstraint("agreement_id", "port"),
        Index("ix_agreement_ports_port", "port"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"))
    port: Mapped[str] = mapped_column(String(302))

    agreement: Mapped[Agreement] = relationship(back_populates="ports")


class AgreementEvent(Base):
    """One transition of an agreement: who moved it from which state to which, and why."""

    __tablename__ = "agreement_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    agreement: Mapped[Agreement] = relationship(back_populates="events")


class SlaEvaluation(Base):
    """One evaluation of an agreement's SLA on one port: the evidence, kept as a history."""

    __tablename__ = "sla_evaluations"
    __table_args__ = (Index("ix_sla_evaluations_agreement_at", "agreement_id", "evaluated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"))
    port: Mapped[str] = mapped_column(String(302))
    evaluated_at: Mapped[datetime] = mapped_column(default=utcnow)
    delta_version: Mapped[int | None] = mapped_column(BigInteger)
    met: Mapped[bool]
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON)

    agreement: Mapped[Agreement] = relationship()


class Incident(Base):
    """An SLA breach of one port, for its provider: open until the SLA holds again."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_port_state", "port", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    port: Mapped[str] = mapped_column(String(302))
    provider_domain: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20))  # open | resolved
    breached: Mapped[list[str]] = mapped_column(JSON)
    agreements: Mapped[list[str]] = mapped_column(JSON)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    breach_started_at: Mapped[datetime | None]
    """The last evaluation that found the SLA met: the breach began after it (None: never met)."""
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]


# -- webhooks -----------------------------------------------------------------------------------


class WebhookSubscription(Base):
    """A receiver of notifications (migration 0008): who it speaks for, where, and for which events.

    ``secret`` is kept in clear because every delivery is signed with it (HMAC); it is returned
    once, at registration. A deleted subscription keeps its row (``deleted_at``) so that its
    deliveries stay readable; its pending deliveries are cancelled.
    """

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (Index("ix_webhook_subscriptions_subscriber", "subscriber"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber: Mapped[str] = mapped_column(String(300))  # domain:<name> | principal:<name>
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(default=list)  # glob patterns
    description: Mapped[str | None] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """One notification to one subscription: the outbox row, written in the notifier's transaction.

    ``body`` is the exact JSON sent (and signed), so every retry sends the same bytes. A
    deliverer claims a due row by moving ``leased_until`` forward where it has passed; ``history``
    holds one entry per attempt.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    event_id: Mapped[str] = mapped_column(String(36), unique=True)  # the envelope's uuid
    event: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # pending | delivered | dead | cancelled
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime | None]
    leased_until: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    last_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_status_code: Mapped[int | None]
    delivered_at: Mapped[datetime | None]
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    subscription: Mapped[WebhookSubscription] = relationship()
