"""``check_arrow``: one port's rules run by DuckDB on its Arrow rows before the commit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from meshlake.platform.quality._profile import Profile
from meshlake.platform.quality._results import QualityReport
from meshlake.platform.quality._rules import compile_port


@dataclass
class DuckCheck:
    """A port after its checks: what to publish, what to quarantine, the report and profile."""

    report: QualityReport | None
    """None when the port has no rules (nothing was checked)."""
    publish: pa.Table
    """The rows to publish: the rows checked, less the quarantined ones."""
    quarantined: pa.Table | None = None
    """The rows quarantine rules set aside, with the columns the Spark quarantine rows carry
    (classified columns masked as text, ``_quarantine_rules``, ``_run_id``, ``_quarantined_at``);
    None when none were, or when the checks block publication."""
    profile: Profile | None = None
    """The distribution profile of ``publish`` for the commit (None when the commit will not
    hold exactly these rows: an append or a merge into an existing table)."""


def check_arrow(
    port: Any,
    rows: pa.Table,
    *,
    location: str,
    run_id: str,
    state_home: Path,
    data_docs: bool,
) -> DuckCheck:
    """Check ``rows`` for ``port`` (a ``PortSpec``) about to be published at ``location``."""
    compiled = compile_port(port)
    if not compiled.rules and not compiled.not_evaluated:
        return DuckCheck(None, rows)
    raise NotImplementedError("the DuckDB checks are being built (issue 18)")
