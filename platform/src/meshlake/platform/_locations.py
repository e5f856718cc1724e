"""Where data lives: zone storage roots, output port tables and raw drops.

An output port's table is ``<zone storage root>/<domain>/<product>/<port>``; raw drops are under
``<zone storage root>/_raw/<domain>/<source>`` (``_raw`` cannot clash with a domain name, which must
start with a letter). A relative storage root is placed under the state folder.
"""

from __future__ import annotations

from pathlib import Path

from meshlake.platform._ids import PortRef
from meshlake.platform.specs import LandingZone

RAW_AREA = "_raw"


def is_uri(location: str) -> bool:
    return "://" in location


def zone_root(zone: LandingZone, state_home: Path) -> str:
    root = zone.storage_root
    if is_uri(root):
        return root.rstrip("/")
    path = Path(root).expanduser()
    return str(path if path.is_absolute() else (state_home / path).resolve())


def port_location(zone: LandingZone, ref: PortRef, state_home: Path) -> str:
    return f"{zone_root(zone, state_home)}/{ref.domain}/{ref.product}/{ref.port}"


def raw_location(zone: LandingZone, domain: str, source: str, state_home: Path) -> str:
    return f"{zone_root(zone, state_home)}/{RAW_AREA}/{domain}/{source}"
