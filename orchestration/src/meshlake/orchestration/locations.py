"""Code locations: ``meshlake.orchestration.locations.<zone>`` is that landing zone's Definitions.

The generated workspace file points Dagster here, one location per data landing zone; the project
and state folder come from MESHLAKE_PROJECT / MESHLAKE_HOME (or the working directory).
"""

from __future__ import annotations

import dagster as dg

from meshlake.orchestration._definitions import zone_definitions
from meshlake.platform import Settings


def __getattr__(zone: str) -> dg.Definitions:
    if zone.startswith("__"):
        raise AttributeError(zone)
    return zone_definitions(zone, Settings())
