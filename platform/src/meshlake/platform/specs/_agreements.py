"""Sharing agreements as code: who may read which output ports of another domain, how and until when.

An agreement lives in the consumer's domain folder, ``domains/<consumer domain>/agreements/*.yaml``,
so that the team that needs the data proposes it in a pull request; the producing domain approves
it in the governance service (``meshlake governance sync`` registers each file as a request). The file::

    apiVersion: meshlake/v1
    kind: SharingAgreement
    name: sales-account-managers-read-employees   # unique in the mesh, ^[a-z][a-z0-9-]{2,62}$
    consumer:
      kind: product            # product | person | team | external
      id: sales.account_manager_performance       # a product of this folder's domain, a username,
                                                  # a team name or an external recipient's name
    purpose: sales_performance_reporting          # ^[a-z][a-z0-9_]*$, judged by the policies
    legalBasis: legitimate_interest               # needed when personal columns go out unmasked
    start: 2026-01-01
    end: 2027-12-31                               # after start
    ports:
      - port: hr.employees.employees              # a contract id of another domain's output port
        columns: [employee_id, full_name]         # omitted: every column of the contract
        masked: [full_name]                       # delivered masked; each among the columns
        rows:                                     # optional row scope, column -> allowed values (AND)
          country: [US, CA]
    sla:                                          # optional; as ODCS slaProperties, never looser
      - property: latency                         # than the contract's own
        value: 12
        unit: h

The terms an agreement promises are the contract's ``slaProperties`` with the agreement's ``sla``
items in place of the contract's for the same property (:meth:`AgreementSpec.terms`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from meshlake.platform._ids import PortRef, ProductRef
from meshlake.platform.specs._models import NAME_PATTERN, Contract, SlaProperty, _Strict
from meshlake.platform.specs._sla import DURATION_UNITS, duration_of

AGREEMENTS_DIR = "agreements"
AGREEMENT_NAME_PATTERN = r"^[a-z][a-z0-9-]{2,62}$"
AGREEMENT_SCHEMA_FILE = Path(__file__).parent / "schemas" / "sharing-agreement.schema.json"

# SLA properties an agreement may promise, and which way is stricter. Durations: smaller is
# stricter for latency and frequency, larger for retention; availability is a percentage.
DURATION_PROPERTIES = ("latency", "frequency", "retention")
# completeness: the least rows the port holds (``value: 1000``, ``unit: rows``).
SLA_PROPERTIES = (*DURATION_PROPERTIES, "availability", "completeness")
_LARGER_IS_STRICTER = ("retention", "availability", "completeness")
PERCENT_UNITS = ("%", "percent")

# Classifications that make a column personal data: delivered unmasked only with a legal basis.
PERSONAL_CLASSIFICATIONS = ("personal", "sensitive", "restricted")

Scalar = str | int | float | bool


class AgreementConsumer(_Strict):
    """Who reads: a product of the agreement's domain, a person, a team or an external recipient."""

    kind: Literal["product", "person", "team", "external"]
    id: str = Field(min_length=1)


class AgreementPort(_Strict):
    """One output port shared, and how: which columns, which of them masked, which rows."""

    port: str = Field(min_length=1)
    columns: list[str] | None = Field(default=None, min_length=1)
    masked: list[str] = []
    rows: dict[str, list[Scalar]] = {}

    @model_validator(mode="after")
    def _row_scopes_allow_something(self) -> AgreementPort:
        for column, values in self.rows.items():
            if not values:
                raise ValueError(f"row scope {column!r} allows no value; list at least one")
        return self


class SharingAgreement(_Strict):
    """The agreement file as written (``domains/<domain>/agreements/<file>.yaml``)."""

    api_version: Literal["meshlake/v1"] = Field(alias="apiVersion")
    kind: Literal["SharingAgreement"]
    name: str
    consumer: AgreementConsumer
    purpose: str = Field(pattern=NAME_PATTERN)
    legal_basis: str | None = Field(default=None, alias="legalBasis", min_length=1)
    start: date
    end: date
    ports: list[AgreementPort] = Field(min_length=1)
    sla: list[SlaProperty] = []
    approved_by: str | None = Field(
        default=None,
        alias="approvedBy",
        min_length=1,
        description="The providing domain's owner who approved the agreement in review (its "
        "pull request); `meshlake governance sync` then records the approval in governance.",
    )

    @field_validator("name")
    @classmethod
    def _name_is_a_slug(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"{value!r} must be 3 to 63 lowercase letters, digits or hyphens, starting with a "
                "letter (e.g. sales-reads-employees)"
            )
        return value


_NAME = re.compile(AGREEMENT_NAME_PATTERN)


@dataclass(frozen=True)
class Term:
    """One SLA term an agreement promises, and whether it is the agreement's own or the contract's."""

    property: str
    value: Any
    unit: str | None
    source: Literal["agreement", "contract"]

    def __str__(self) -> str:
        unit = "" if self.unit is None or str(self.value).endswith("%") else f" {self.unit}"
        return f"{self.property} {self.value}{unit}"


@dataclass(frozen=True)
class AgreementSpec:
    """A loaded agreement: the file's model, the domain whose folder holds it, and its ports
    resolved to the output ports they name (same order as ``agreement.ports``)."""

    agreement: SharingAgreement
    domain: str
    file: Path
    port_refs: tuple[PortRef, ...]

    @property
    def name(self) -> str:
        return self.agreement.name

    @property
    def consumer_product(self) -> ProductRef | None:
        consumer = self.agreement.consumer
        return ProductRef.parse(consumer.id) if consumer.kind == "product" else None

    def active_on(self, day: date) -> bool:
        """Whether ``day`` lies within start..end, both included."""
        return self.agreement.start <= day <= self.agreement.end

    def expired_on(self, day: date) -> bool:
        return self.agreement.end < day

    def port(self, ref: PortRef) -> AgreementPort | None:
        """The terms for output port ``ref``, or None when the agreement does not share it."""
        for resolved, port in zip(self.port_refs, self.agreement.ports, strict=True):
            if resolved == ref:
                return port
        return None

    def reads_column(self, ref: PortRef, column: str) -> bool:
        """Whether the agreement delivers ``column`` of ``ref`` (every column when none are listed)."""
        port = self.port(ref)
        if port is None:
            return False
        return port.columns is None or column.lower() in {name.lower() for name in port.columns}

    def terms(self, contract: Contract | None) -> list[Term]:
        """The SLA the agreement promises on a port of ``contract``: the agreement's own items,
        and the contract's for every property the agreement does not name."""
        own = {item.property: item for item in self.agreement.sla}
        found = [Term(item.property, item.value, item.unit, "agreement") for item in own.values()]
        for item in contract.sla_properties if contract is not None else []:
            if item.property in SLA_PROPERTIES and item.property not in own:
                found.append(Term(item.property, item.value, item.unit, "contract"))
        order = {name: index for index, name in enumerate(SLA_PROPERTIES)}
        return sorted(found, key=lambda term: order.get(term.property, len(order)))


def sla_item_problem(item: SlaProperty) -> tuple[str, str] | None:
    """What is wrong with an agreement's SLA item, as (field, message); None when it is usable."""
    if item.property not in SLA_PROPERTIES:
        return "property", (
            f"unknown SLA property {item.property!r}; an agreement may promise "
            f"{', '.join(SLA_PROPERTIES)}"
        )
    if item.property in DURATION_PROPERTIES:
        if isinstance(item.value, bool) or not isinstance(item.value, int | float):
            return "value", f"{item.property} {item.value!r} must be a number of units (e.g. 12)"
        if duration_of(item.value, item.unit) is None:
            return "unit", (
                f"{item.property} unit {item.unit!r} is not one of {', '.join(DURATION_UNITS)}"
            )
        return None
    if item.property == "completeness":
        return _rows_problem(item)
    if percent(item) is None:
        return "value", f"availability {item.value!r} must be a percentage such as 99.5%"
    return None


def _rows_problem(item: SlaProperty) -> tuple[str, str] | None:
    if (item.unit or "").lower() != "rows":
        return "unit", f"completeness unit {item.unit!r} must be rows (the least rows promised)"
    if isinstance(item.value, bool) or not isinstance(item.value, int) or item.value < 0:
        return "value", f"completeness {item.value!r} must be a whole number of rows"
    return None


def percent(item: SlaProperty) -> float | None:
    """An availability item's percentage (``99.5%``, or 99.5 with unit ``%``), or None."""
    if isinstance(item.value, bool) or item.value is None:
        return None
    text = str(item.value).strip()
    if item.unit is not None and item.unit.lower() not in PERCENT_UNITS:
        return None
    if not text.endswith("%") and item.unit is None:
        return None
    try:
        value = float(text.removesuffix("%"))
    except ValueError:
        return None
    return value if 0 <= value <= 100 else None


def sla_looser(promised: SlaProperty, offered: SlaProperty) -> bool:
    """Whether ``offered`` promises less than ``promised`` for the same property (unknown: no)."""
    name = promised.property
    first, second = _magnitude(promised), _magnitude(offered)
    if first is None or second is None:
        return False
    return second < first if name in _LARGER_IS_STRICTER else second > first


def _magnitude(item: SlaProperty) -> float | None:
    if item.property in DURATION_PROPERTIES:
        duration = duration_of(item.value, item.unit)
        return None if duration is None else duration / timedelta(seconds=1)
    if item.property == "availability":
        return percent(item)
    if item.property == "completeness" and _rows_problem(item) is None:
        return float(item.value)  # type: ignore[arg-type]
    return None
