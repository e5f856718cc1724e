"""Durations in contract SLAs (ODCS ``slaProperties``): ``value`` with an ISO-style ``unit``."""

from __future__ import annotations

from datetime import timedelta

from meshlake.platform.specs._models import Contract

_UNITS = {
    "m": timedelta(minutes=1),
    "min": timedelta(minutes=1),
    "minute": timedelta(minutes=1),
    "minutes": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "hr": timedelta(hours=1),
    "hour": timedelta(hours=1),
    "hours": timedelta(hours=1),
    "d": timedelta(days=1),
    "day": timedelta(days=1),
    "days": timedelta(days=1),
    "w": timedelta(weeks=1),
    "week": timedelta(weeks=1),
    "weeks": timedelta(weeks=1),
    "y": timedelta(days=365),
    "yr": timedelta(days=365),
    "year": timedelta(days=365),
    "years": timedelta(days=365),
}

DURATION_UNITS = tuple(_UNITS)


def sla_duration(contract: Contract, name: str) -> timedelta | None:
    """The SLA property ``name`` (latency, frequency, retention) as a duration, if it is one."""
    item = contract.sla(name)
    if item is None or item.unit is None or isinstance(item.value, bool):
        return None
    unit = _UNITS.get(item.unit.lower())
    if unit is None or not isinstance(item.value, int | float):
        return None
    return unit * item.value


def duration_of(value: object, unit: str | None) -> timedelta | None:
    """``value`` ``unit`` (an SLA item's, e.g. 12 h) as a duration; None when it is not one."""
    if unit is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    step = _UNITS.get(unit.lower())
    return None if step is None else step * value
