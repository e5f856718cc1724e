"""Where a port's quarantine table lives, how long its rows are kept, and how the catalog sees it.

Spark-free: the catalog client describes the table when it registers a product, and vacuum and the
quality engine use the same location and retention.

A quarantine table keeps the rows its port's quarantine rules set aside, for whoever debugs the
port. Its rows are kept for the port contract's ``retention`` SLA, else for
``MESHLAKE_QUARANTINE_RETENTION_DAYS`` (30 days): rows quarantined longer ago are deleted by
``meshlake vacuum``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from meshlake.platform.quality._mask import is_masked
from meshlake.platform.quality._rules import port_rules
from meshlake.platform.specs._sla import sla_duration

QUARANTINE_FOLDER = "_quarantine"
QUARANTINE_COLUMNS = ("_quarantine_rules", "_run_id", "_quarantined_at")
QUARANTINED_AT = "_quarantined_at"


def quarantine_location(location: str) -> str:
    """``<root>/<domain>/<product>/<port>`` -> ``<root>/<domain>/<product>/_quarantine/<port>``.

    ``_quarantine`` cannot clash with a port, whose name starts with a letter.
    """
    parent, _, port = location.rstrip("/").rpartition("/")
    return f"{parent}/{QUARANTINE_FOLDER}/{port}"


def quarantines(port: Any) -> bool:
    """Whether the port (a ``PortSpec``) has a quarantine rule, so has a quarantine table."""
    return any(rule.quarantine for rule in port_rules(port))


def quarantine_retention(contract: Any, default_days: float | None = None) -> timedelta:
    """How long quarantined rows are kept: the contract's ``retention`` SLA, else
    ``default_days`` (None: the ``quarantine_retention_days`` setting)."""
    retention = sla_duration(contract, "retention")
    if retention is not None:
        return retention
    if default_days is None:
        from meshlake.platform._settings import Settings

        default_days = Settings().quarantine_retention_days
    return timedelta(days=default_days)


def masked_columns(contract: Any) -> list[str]:
    """The columns the quarantine table holds masked (as text): those the port classifies."""
    return [prop.name for prop in contract.columns if is_masked(prop.classification)]


def quarantine_description(
    port: Any, location: str, default_days: float | None = None
) -> dict[str, Any] | None:
    """The port's quarantine table as the catalog registers it (None: the port quarantines
    nothing): its location, retention in days and masked columns."""
    if not quarantines(port):
        return None
    retention = quarantine_retention(port.contract, default_days)
    return {
        "location": quarantine_location(location),
        "retention_days": retention / timedelta(days=1),
        "masked_columns": masked_columns(port.contract),
    }
