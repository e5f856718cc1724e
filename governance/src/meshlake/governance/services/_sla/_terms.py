"""SLA terms: what a port promises, parsed from ODCS ``slaProperties`` items.

A contract's items are the default terms of every agreement on its port; an agreement may add
its own items, but only to tighten them (``SlaTerms.stricter``): a consumer cannot be promised less
than the contract promises everyone. Terms this engine measures from the Delta log:

=============  ===========================================  =================================
property       item                                         stricter when
=============  ===========================================  =================================
latency        ``value: 1, unit: d`` (a duration)           shorter
frequency      ``value: 1, unit: h`` (a duration)           shorter
retention      ``value: 10, unit: y`` (a duration)          longer
availability   ``value: 99.5%`` (or ``99.5`` with ``%``)    higher
completeness   ``value: 1000, unit: rows`` (minimum rows)   higher
=============  ===========================================  =================================

Other ODCS properties of a contract (``generalAvailability``, ``timeToRepair``, ...) are kept as
``unmeasured`` and reported as such; an agreement may not promise one, since nothing could say
whether it is kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from meshlake.governance._errors import InvalidRequestError
from meshlake.platform.specs import DURATION_UNITS, Contract, SlaProperty, sla_duration

DURATIONS = ("latency", "frequency", "retention")
MEASURED = (*DURATIONS, "availability", "completeness")
ROW_UNITS = ("rows", "row", "records")
PERCENT_UNITS = ("%", "percent")
AVAILABILITY_PERIOD = timedelta(days=30)
"""The period availability is measured over (ODCS gives none); a term may set another."""


class SlaTermsError(InvalidRequestError):
    """An SLA item cannot be measured or loosens a promise (422): names the item and the fix."""

    def __init__(self, message: str, prop: str | None = None, where: str = "") -> None:
        self.property = prop
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


@dataclass(frozen=True)
class SlaTerms:
    """The SLA one port keeps for one consumer; None means the term is not promised."""

    latency: timedelta | None = None
    frequency: timedelta | None = None
    retention: timedelta | None = None
    availability: float | None = None
    """Percent of the availability period during which every other term is met."""
    min_rows: int | None = None
    """``completeness``: the table has at least this many rows at its current version."""
    availability_period: timedelta = AVAILABILITY_PERIOD
    unmeasured: tuple[str, ...] = ()
    texts: Mapping[str, str] = field(default_factory=dict)
    """Each promised property as written (``1 d``, ``99.5%``), for evidence and messages."""
    unmeasured_texts: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_items(
        cls, items: Iterable[SlaProperty | Mapping[str, Any]], where: str = ""
    ) -> SlaTerms:
        """Terms from ODCS ``slaProperties`` items; an unmeasured property is kept, not refused."""
        return _parse(items, where, allow_unmeasured=True)

    @classmethod
    def from_contract(cls, contract: Contract) -> SlaTerms:
        """The contract's ``slaProperties``: the terms every consumer of its port gets."""
        return cls.from_items(contract.sla_properties, f"contract {contract.id} {contract.version}")

    def stricter(
        self, overrides: Iterable[SlaProperty | Mapping[str, Any]], where: str = "agreement"
    ) -> SlaTerms:
        """These terms tightened by ``overrides``; SlaTermsError names any item that loosens one."""
        items = list(overrides)
        tighter = _parse(items, where, allow_unmeasured=False)
        positions = {_item(raw, where).property: index for index, raw in enumerate(items)}
        changes: dict[str, Any] = {}
        texts = dict(self.texts)
        for prop in tighter.texts:
            name = "min_rows" if prop == "completeness" else prop
            old, new = getattr(self, name), getattr(tighter, name)
            if old is not None and _looser(prop, old, new):
                raise SlaTermsError(
                    f"{prop} {tighter.texts[prop]} is looser than the {self.texts[prop]} the "
                    f"contract promises; an agreement may only tighten a term (use "
                    f"{_bound(prop)} {self.texts[prop]}, or leave {prop} out)",
                    prop,
                    f"{where} slaProperties[{positions[prop]}]",
                )
            changes[name] = new
            texts[prop] = tighter.texts[prop]
        return replace(self, texts=texts, **changes)


def _looser(prop: str, old: Any, new: Any) -> bool:
    if prop in ("latency", "frequency"):
        return bool(new > old)
    return bool(new < old)  # retention, availability, completeness: more is stricter


def _bound(prop: str) -> str:
    return "at most" if prop in ("latency", "frequency") else "at least"


def _parse(
    items: Iterable[SlaProperty | Mapping[str, Any]], where: str, allow_unmeasured: bool
) -> SlaTerms:
    values: dict[str, Any] = {}
    texts: dict[str, str] = {}
    unmeasured: list[str] = []
    unmeasured_texts: dict[str, str] = {}
    for index, raw in enumerate(items):
        at = f"{where} slaProperties[{index}]" if where else f"slaProperties[{index}]"
        item = _item(raw, at)
        prop = item.property
        if prop in texts or prop in unmeasured:
            raise SlaTermsError(f"{prop} is promised twice; keep one item", prop, at)
        if prop not in MEASURED:
            if not allow_unmeasured:
                raise SlaTermsError(
                    f"property {prop!r} cannot be measured from the Delta log, so it cannot be "
                    f"promised here; use one of {', '.join(MEASURED)}",
                    prop,
                    at,
                )
            unmeasured.append(prop)
            unmeasured_texts[prop] = _text(item)
            continue
        if prop in DURATIONS:
            values[prop] = _duration(item, at)
        elif prop == "availability":
            values[prop] = _percent(item, at)
        else:
            values["min_rows"] = _rows(item, at)
        texts[prop] = _text(item)
    return SlaTerms(
        **values, unmeasured=tuple(unmeasured), texts=texts, unmeasured_texts=unmeasured_texts
    )


def _item(raw: SlaProperty | Mapping[str, Any], at: str) -> SlaProperty:
    if isinstance(raw, SlaProperty):
        return raw
    try:
        return SlaProperty.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "item"
        raise SlaTermsError(
            f"{name}: {first['msg']}; an item is {{property, value, unit}} as in ODCS slaProperties",
            str(raw.get("property")) if isinstance(raw, Mapping) else None,
            at,
        ) from None


def _duration(item: SlaProperty, at: str) -> timedelta:
    if isinstance(item.value, bool) or not isinstance(item.value, int | float) or item.value <= 0:
        raise SlaTermsError(
            f"{item.property} value {item.value!r} must be a positive number of units "
            "(e.g. value: 1, unit: d)",
            item.property,
            at,
        )
    if item.unit is None or item.unit.lower() not in DURATION_UNITS:
        raise SlaTermsError(
            f"{item.property} unit {item.unit!r} is not a duration unit; use one of "
            f"{', '.join(DURATION_UNITS)}",
            item.property,
            at,
        )
    # One unit table for the whole mesh: the platform's, read through its public helper.
    duration = sla_duration(Contract.model_construct(sla_properties=[item]), item.property)
    assert duration is not None  # value and unit were checked above
    return duration


def _percent(item: SlaProperty, at: str) -> float:
    value: Any = item.value
    unit = (item.unit or "").lower()
    if isinstance(value, str) and value.strip().endswith("%"):
        value, unit = value.strip()[:-1], "%"
    if unit not in ("", *PERCENT_UNITS):
        raise SlaTermsError(
            f"availability unit {item.unit!r} is not a percentage; write value: 99.5% "
            "(or value: 99.5, unit: percent)",
            item.property,
            at,
        )
    try:
        percent = float(value) if not isinstance(value, bool) and value is not None else -1.0
    except ValueError:
        percent = -1.0
    if not 0 < percent <= 100:
        raise SlaTermsError(
            f"availability value {item.value!r} must be a percentage above 0 and at most 100 "
            "(e.g. value: 99.5%)",
            item.property,
            at,
        )
    return percent


def _rows(item: SlaProperty, at: str) -> int:
    unit = (item.unit or "rows").lower()
    if unit in PERCENT_UNITS or (isinstance(item.value, str) and item.value.strip().endswith("%")):
        raise SlaTermsError(
            "completeness is measured from the Delta log as a minimum row count; a percentage "
            "cannot be measured there: write value: <rows>, unit: rows",
            item.property,
            at,
        )
    if unit not in ROW_UNITS:
        raise SlaTermsError(
            f"completeness unit {item.unit!r} is not known; write value: <rows>, unit: rows",
            item.property,
            at,
        )
    value = item.value
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SlaTermsError(
            f"completeness value {value!r} must be a whole number of rows, 0 or more",
            item.property,
            at,
        )
    return value


def _text(item: SlaProperty) -> str:
    if item.unit and not str(item.value).endswith("%"):
        return f"{item.value} {item.unit}"
    return str(item.value)
