"""Contract SLAs as Dagster freshness policies and schedules.

``latency`` is how old the published data may get: it becomes the freshness policy's fail window (warn
at half of it). The product's ``schedule`` (cron) says when it runs; without one, ``frequency`` picks
a cron of the same period.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from meshlake.platform.specs import Contract, ProductSpec, sla_duration

_FREQUENCY_CRONS = (
    (timedelta(minutes=15), "*/15 * * * *"),
    (timedelta(hours=1), "0 * * * *"),
    (timedelta(days=1), "0 0 * * *"),
    (timedelta(weeks=1), "0 0 * * 1"),
)


def freshness_policy(contract: Contract) -> dg.FreshnessPolicy | None:
    latency = sla_duration(contract, "latency")
    if latency is None or latency <= timedelta(0):
        return None
    return dg.FreshnessPolicy.time_window(fail_window=latency, warn_window=latency / 2)


def product_cron(product: ProductSpec) -> str | None:
    """The product's schedule: its ``schedule`` custom property, else derived from ``frequency``."""
    if product.descriptor.schedule:
        return product.descriptor.schedule
    periods = [sla_duration(port.contract, "frequency") for port in product.ports.values()]
    shortest = min((period for period in periods if period), default=None)
    if shortest is None:
        return None
    for limit, cron in _FREQUENCY_CRONS:
        if shortest <= limit:
            return cron
    return "0 0 1 * *"
