"""Typed shapes of the spec files: landing zones, domains, ODPS product descriptors, ODCS contracts.

The ODPS and ODCS models follow the official v1.0.0 and v3.1.0 JSON Schemas for the fields meshlake
reads, and forbid unknown fields where the standard does, so that a misspelt key is reported instead of
silently ignored. meshlake's own settings live in ``customProperties``, as the standards intend.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
SEMVER_PATTERN = r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class _Open(BaseModel):
    """For standard sections meshlake passes through without reading (they stay valid ODCS/ODPS)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)


class CustomProperty(_Strict):
    property: str
    value: Any
    description: str | None = None


def custom_property(properties: list[CustomProperty], name: str, default: Any = None) -> Any:
    """The value of custom property ``name``, or ``default``."""
    for item in properties:
        if item.property == name:
            return item.value
    return default


class AuthoritativeDefinition(_Strict):
    type: str
    url: str
    description: str | None = None
    id: str | None = None


class TeamMember(_Strict):
    username: str
    name: str | None = None
    description: str | None = None
    role: str | None = None
    date_in: str | None = Field(default=None, alias="dateIn")
    date_out: str | None = Field(default=None, alias="dateOut")
    replaced_by_username: str | None = Field(default=None, alias="replacedByUsername")
    tags: list[str] = []
    custom_properties: list[CustomProperty] = Field(default=[], alias="customProperties")
    authoritative_definitions: list[AuthoritativeDefinition] = Field(
        default=[], alias="authoritativeDefinitions"
    )
    id: str | None = None


class Team(_Strict):
    name: str | None = None
    description: str | None = None
    members: list[TeamMember] = []
    tags: list[str] = []
    custom_properties: list[CustomProperty] = Field(default=[], alias="customProperties")
    authoritative_definitions: list[AuthoritativeDefinition] = Field(
        default=[], alias="authoritativeDefinitions"
    )
    id: str | None = None

    @property
    def owners(self) -> list[str]:
        """Usernames of members whose role is ``owner`` (the people Dagster lists as owners)."""
        return [member.username for member in self.members if member.role == "owner"]


# ---------------------------------------------------------------------------------------------
# Landing zones and domains (meshlake's own files)


COMPUTE_PATTERN = r"^(local(\[(\*|[1-9][0-9]*)\])?|spark://[A-Za-z0-9.-]+:[0-9]{1,5}|sc://[A-Za-z0-9.-]+:[0-9]{1,5}(/.*)?)$"
"""Local Spark (``local[*]``), a standalone cluster (``spark://host:port``) or Spark Connect
(``sc://host:port``): the three kinds of compute a zone declares."""

POLICY_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$"
"""A decision (``publication``) or one policy package of it (``publication.residency``)."""


def _policy_name(name: str) -> str:
    if not re.match(POLICY_PATTERN, name):
        raise ValueError(
            f"{name!r} is no policy name: write a decision (publication) or a policy package of "
            "it (publication.residency); leave policies out for all"
        )
    return name


ZONE_SERVICE_PREFIX = "zone-service-"
"""The default service principal of a zone is ``zone-service-<zone>``, the name governed runs
have always used, so that an existing catalog keeps its principals."""


class LandingZone(_Strict):
    """A deployment unit: where a set of domains store data and run compute.

    ``compute`` is the newer name of ``sparkMaster`` (files may keep the old one); the Dagster code
    location, the service principal and the policies default to the zone's name, its
    ``zone-service-<name>`` principal and every policy."""

    name: str = Field(pattern=NAME_PATTERN)
    kind: Literal["governance", "data"]
    region: str = Field(min_length=1)
    description: str | None = None
    storage_root: str = Field(alias="storageRoot", min_length=1)
    spark_master: str = Field(default="local[*]", alias="sparkMaster")
    compute: str | None = None
    code_location: str | None = Field(
        default=None, alias="codeLocation", pattern=r"^[A-Za-z][A-Za-z0-9_-]*$"
    )
    service_principal: str | None = Field(
        default=None, alias="servicePrincipal", pattern=r"^[a-z][a-z0-9_.-]*$", max_length=200
    )
    policies: list[Annotated[str, AfterValidator(_policy_name)]] | None = Field(
        default=None, min_length=1
    )
    domains: list[str] = []
    engine: Literal["spark", "duckdb", "auto"] = "spark"
    """The engine of the zone's products that do not name one (customProperties ``engine``)."""

    @field_validator("compute")
    @classmethod
    def _compute_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        if not re.match(COMPUTE_PATTERN, value):
            raise ValueError(
                f"{value!r} is no compute this zone can use: write local[*] (local Spark), "
                "spark://host:port (a standalone cluster) or sc://host:port (Spark Connect)"
            )
        # sparkMaster is the older name; written beside compute (other than its default), the two
        # must agree.
        master = info.data.get("spark_master", value)
        if master not in (value, "local[*]"):
            raise ValueError(
                f"compute ({value}) and sparkMaster ({master}) disagree: keep compute and drop "
                "sparkMaster"
            )
        return value

    @model_validator(mode="after")
    def _compute_is_spark_master(self) -> LandingZone:
        if self.compute is not None:
            # Frozen model: the one place spark_master is derived, before anyone reads it.
            self.__dict__["spark_master"] = self.compute
        return self

    @property
    def location_name(self) -> str:
        """The Dagster code location of the zone's products."""
        return self.code_location or self.name

    @property
    def principal(self) -> str:
        """The service principal the zone's products publish as."""
        return self.service_principal or ZONE_SERVICE_PREFIX + self.name

    @property
    def compute_kind(self) -> str:
        """``local``, ``standalone`` or ``connect``; ``other`` for a master outside the three."""
        master = self.spark_master
        if master.startswith("local"):
            return "local"
        if master.startswith("spark://"):
            return "standalone"
        if master.startswith("sc://"):
            return "connect"
        return "other"


class RawSource(_Strict):
    """A file drop in the landing zone's raw area, the way an ingestion job would leave it."""

    id: str
    name: str = Field(pattern=NAME_PATTERN)
    version: str = Field(pattern=SEMVER_PATTERN)
    format: Literal["csv", "jsonl"]
    description: str | None = None
    # Either a Spark DDL schema, or an ODCS contract file (beside domain.yaml) describing the drop
    # as the source system does; the loader fills schema_ddl from the contract's columns.
    schema_ddl: str = Field(default="", alias="schema")
    contract: str | None = None
    generator: str | None = None

    @model_validator(mode="after")
    def _schema_or_contract(self) -> RawSource:
        if bool(self.schema_ddl) == bool(self.contract):
            raise ValueError(
                "give either schema (Spark DDL) or contract (an ODCS contract file), not both"
                if self.contract
                else "give schema (Spark DDL) or contract (an ODCS contract file)"
            )
        return self


class Domain(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    description: str
    landing_zone: str = Field(alias="landingZone")
    team: Team
    raw_sources: list[RawSource] = Field(default=[], alias="rawSources")


# ---------------------------------------------------------------------------------------------
# Open Data Product Standard v1.0.0


class ProductDescription(_Strict):
    purpose: str | None = None
    limitations: str | None = None
    usage: str | None = None
    authoritative_definitions: list[AuthoritativeDefinition] = Field(
        default=[], alias="authoritativeDefinitions"
    )
    custom_properties: list[CustomProperty] = Field(default=[], alias="customProperties")


class InputPort(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    version: str = Field(pattern=SEMVER_PATTERN)
    contract_id: str = Field(alias="contractId")
    tags: list[str] = []
    custom_properties: list[CustomProperty] = Field(default=[], alias="customProperties")
    authoritative_definitions: list[AuthoritativeDefinition] = Field(
        default=[], alias="authoritativeDefinitions"
    )

    @property
    def pinned_version(self) -> int | None:
        """A Delta version to read instead of the latest (customProperties ``deltaVersion``)."""
        value = custom_property(self.custom_properties, "deltaVersion")
        return None if value is None else int(value)


class OutputPort(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    version: str = Field(pattern=SEMVER_PATTERN)
    description: str | None = None
    type: str | None = None
    contract_id: str | None = Field(default=None, alias="contractId")
    sbom: list[dict[str, Any]] = []
    input_contracts: list[dict[str, Any]] = Field(default=[], alias="inputContracts")
    tags: list[str] = []
    custom_properties: list[CustomProperty] = Field(default=[], alias="customProperties")
    authoritative_definitions: list[AuthoritativeDefinition] = Field(
        default=[], alias="authoritativeDefinitions"
    )


TIERS = ("bronze", "silver", "gold")
ENGINES = ("spark", "duckdb", "auto")
"""Where a product runs: customProperties ``engine`` of a product, ``engine`` of its zone."""
WRITE_MODES = ("overwrite", "append", "merge")


class ProductDescriptor(_Strict):
    """An ODPS v1.0.0 data product descriptor (product.yaml)."""

    api_version: Literal["v1.0.0"] = Field(alias="apiVersion")
    kind: Literal["DataProduct"]
    id: str
    name: str = Field(pattern=NAME_PATTERN)
    version: str | None = Field(default=None, pattern=SEMVER_PATTERN)
    status: Literal["proposed", "draft", "active", "deprecated", "retired"]
    domain: str
    tenant: str | None = None
    description: ProductDescription | None = None
    team: Team | None = None
    tags: list[str] = []
    input_ports: list[InputPort] = Field(default=[], alias="inputPorts")
    output_ports: list[OutputPort] = Field(alias="outputPorts", min_length=1)
    management_ports: list[dict[str, Any]] = Field(default=[], alias="managementPorts")
    support: list[dict[str, Any]] = []
    custom_properties: list[CustomProperty] = Field(default=[], alias="customProperties")
    authoritative_definitions: list[AuthoritativeDefinition] = Field(
        default=[], alias="authoritativeDefinitions"
    )
    product_created_ts: str | None = Field(default=None, alias="productCreatedTs")

    @field_validator("product_created_ts", mode="before")
    @classmethod
    def _timestamp_as_text(cls, value: Any) -> Any:
        return value.isoformat() if hasattr(value, "isoformat") else value

    @property
    def tier(self) -> str:
        return str(custom_property(self.custom_properties, "tier", "silver"))

    @property
    def engine(self) -> str | None:
        """customProperties ``engine`` (spark, duckdb or auto); None: the zone's default."""
        value = custom_property(self.custom_properties, "engine")
        return None if value is None else str(value)

    @property
    def schedule(self) -> str | None:
        value = custom_property(self.custom_properties, "schedule")
        return None if value is None else str(value)


# ---------------------------------------------------------------------------------------------
# Open Data Contract Standard v3.1.0


class QualityRule(_Open):
    """A contract quality rule; compiled and run by the quality part, passed through here."""

    type: Literal["text", "library", "sql", "custom"] = "library"
    name: str | None = None
    description: str | None = None
    severity: str | None = None


class SchemaProperty(_Strict):
    name: str
    id: str | None = None
    logical_type: (
        Literal[
            "string", "date", "timestamp", "time", "number", "integer", "object", "array", "boolean"
        ]
        | None
    ) = Field(default=None, alias="logicalType")
    logical_type_options: dict[str, Any] = Field(default={}, alias="logicalTypeOptions")
    physical_type: str | None = Field(default=None, alias="physicalType")
    physical_name: str | None = Field(default=None, alias="physicalName")
    description: str | None = None
    business_name: str | None = Field(default=None, alias="businessName")
    required: bool = False
    unique: bool = False
    primary_key: bool = Field(default=False, alias="primaryKey")
    primary_key_position: int = Field(default=-1, alias="primaryKeyPosition")
    partitioned: bool = False
    partition_key_position: int = Field(default=-1, alias="partitionKeyPosition")
    classification: str | None = None
    encrypted_name: str | None = Field(default=None, alias="encryptedName")
    transform_source_objects: list[str] = Field(default=[], alias="transformSourceObjects")
    transform_logic: str | None = Field(default=None, alias="transformLogic")
    transform_description: str | None = Field(default=None, alias="transformDescription")
    examples: list[Any] = []
    critical_data_element: bool = Field(default=False, alias="criticalDataElement")
    relationships: list[dict[str, Any]] = []
    quality: list[QualityRule] = []
    tags: list[str] = []
    custom_properties: list[CustomProperty] = Field(default=[], alias="customProperties")
    authoritative_definitions: list[AuthoritativeDefinition] = Field(
        default=[], alias="authoritativeDefinitions"
    )
    items: dict[str, Any] | None = None
    properties: list[dict[str, Any]] = []


class SchemaObject(_Strict):
    name: str
    id: str | None = None
    logical_type: Literal["object"] = Field(default="object", alias="logicalType")
    physical_type: str | None = Field(default=None, alias="physicalType")
    physical_name: str | None = Field(default=None, alias="physicalName")
    description: str | None = None
    business_name: str | None = Field(default=None, alias="businessName")
    data_granularity_description: str | None = Field(
        default=None, alias="dataGranularityDescription"
    )
    properties: list[SchemaProperty] = []
    relationships: list[dict[str, Any]] = []
    quality: list[QualityRule] = []
    tags: list[str] = []
    custom_properties: list[CustomProperty] = Field(default=[], alias="customProperties")
    authoritative_definitions: list[AuthoritativeDefinition] = Field(
        default=[], alias="authoritativeDefinitions"
    )

    @model_validator(mode="after")
    def _unique_column_names(self) -> SchemaObject:
        seen: set[str] = set()
        for prop in self.properties:
            if prop.name in seen:
                raise ValueError(f"column {prop.name!r} is declared twice")
            seen.add(prop.name)
        return self


class SlaProperty(_Strict):
    property: str
    value: str | int | float | bool | None
    value_ext: Any = Field(default=None, alias="valueExt")
    unit: str | None = None
    element: str | None = None
    driver: str | None = None
    description: str | None = None
    scheduler: str | None = None
    schedule: str | None = None
    id: str | None = None


class ContractDescription(_Strict):
    purpose: str | None = None
    usage: str | None = None
    limitations: str | None = None
    authoritative_definitions: list[AuthoritativeDefinition] = Field(
        default=[], alias="authoritativeDefinitions"
    )
    custom_properties: list[CustomProperty] = Field(default=[], alias="customProperties")


ODCS_VERSIONS = ("v3.1.0", "v3.0.2", "v3.0.1", "v3.0.0")


class Contract(_Strict):
    """An ODCS v3.x data contract: the promise an output port makes, or a description of data.

    Any contract the standard's JSON Schema accepts validates here. It may describe several tables
    (schema objects) or none; an output port publishes one of them, bound by the port's name
    (:meth:`bound_to`). ``status`` is free text, as in the standard."""

    api_version: Literal["v3.1.0", "v3.0.2", "v3.0.1", "v3.0.0"] = Field(alias="apiVersion")
    kind: Literal["DataContract"]
    id: str
    version: str = Field(pattern=SEMVER_PATTERN)
    status: str
    name: str | None = None
    tenant: str | None = None
    domain: str | None = None
    data_product: str | None = Field(default=None, alias="dataProduct")
    description: ContractDescription | None = None
    schema_: list[SchemaObject] = Field(default=[], alias="schema")
    servers: list[_Open] = []
    support: list[_Open] = []
    price: _Open | None = None
    team: Team | None = None
    roles: list[_Open] = []
    sla_default_element: str | None = Field(default=None, alias="slaDefaultElement")
    sla_properties: list[SlaProperty] = Field(default=[], alias="slaProperties")
    tags: list[str] = []
    custom_properties: list[CustomProperty] = Field(default=[], alias="customProperties")
    authoritative_definitions: list[AuthoritativeDefinition] = Field(
        default=[], alias="authoritativeDefinitions"
    )
    contract_created_ts: str | None = Field(default=None, alias="contractCreatedTs")

    @field_validator("contract_created_ts", mode="before")
    @classmethod
    def _timestamp_as_text(cls, value: Any) -> Any:
        return value.isoformat() if hasattr(value, "isoformat") else value

    _bound: str | None = PrivateAttr(default=None)

    def bound_to(self, table: str) -> Contract:
        """This contract with ``table`` (a schema object's name) as the table its port publishes."""
        if table not in [item.name for item in self.schema_]:
            raise ValueError(f"contract {self.id!r} has no schema object {table!r}")
        bound = self.model_copy()
        bound._bound = table
        return bound

    @property
    def table_index(self) -> int:
        """The position in ``schema`` of the table an output port publishes."""
        if self._bound is not None:
            return [item.name for item in self.schema_].index(self._bound)
        if len(self.schema_) != 1:
            raise ValueError(
                f"contract {self.id!r} has {len(self.schema_)} schema objects; bind one by name"
            )
        return 0

    @property
    def table(self) -> SchemaObject:
        """The schema object an output port publishes (one port publishes one table)."""
        return self.schema_[self.table_index]

    @property
    def columns(self) -> list[SchemaProperty]:
        return self.table.properties

    @property
    def primary_key(self) -> list[str]:
        keyed = [prop for prop in self.columns if prop.primary_key]
        keyed.sort(key=lambda prop: prop.primary_key_position)
        return [prop.name for prop in keyed]

    def sla(self, name: str) -> SlaProperty | None:
        for item in self.sla_properties:
            if item.property == name:
                return item
        return None
