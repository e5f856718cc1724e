"""The version a publication replaces and its profile, read with delta-rs (no Spark).

The profile is the one the previous commit carries in its ``userMetadata`` (``_profile.py``);
a commit without one (made outside meshlake, or by OPTIMIZE) makes drift profile the table as
read back, as the Spark checks do.
"""

from __future__ import annotations

from typing import Any

import duckdb

from meshlake.platform.quality._duck._drift import profile_of
from meshlake.platform.quality._profile import Profile

PREVIOUS_VIEW = "__meshlake_previous__"


def previous(
    port: Any, location: str, con: duckdb.DuckDBPyConnection
) -> tuple[int | None, Profile | None]:
    """The latest version of the table at ``location`` and its profile (None, None: no table)."""
    from deltalake import DeltaTable

    from meshlake.platform._storage import storage_options

    options = storage_options(location)
    if not DeltaTable.is_deltatable(location, storage_options=options):
        return None, None
    table = DeltaTable(location, storage_options=options)
    version = table.version()
    latest = table.history(1)
    profile = Profile.from_metadata(latest[0].get("userMetadata") if latest else None)
    if profile is None:
        con.register(PREVIOUS_VIEW, table.to_pyarrow_dataset())
        try:
            profile = profile_of(port.contract, con, PREVIOUS_VIEW)
        finally:
            con.unregister(PREVIOUS_VIEW)
    return version, profile
