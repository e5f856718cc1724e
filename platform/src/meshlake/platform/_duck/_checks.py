"""The port's quality checks on the DuckDB engine, behind one small adapter.

The checks themselves are ``meshlake.platform.quality._duck.check_arrow`` (one DuckDB counting pass,
the same rules, severities, quarantine and drift as the Spark path); a port without rules needs no
checks at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from meshlake.platform.quality import QualityReport
from meshlake.platform.quality._duck import check_arrow
from meshlake.platform.quality._rules import compile_port
from meshlake.platform.specs import PortSpec


@dataclass(frozen=True)
class Checked:
    """What the checks made of a port's rows (the fields of quality._duck's DuckCheck)."""

    report: QualityReport | None
    publish: pa.Table
    quarantined: pa.Table | None
    profile: Any | None
    """A drift ``Profile`` (``to_metadata()`` goes into the commit's userMetadata), or None."""


def has_rules(port: PortSpec) -> bool:
    compiled = compile_port(port)
    return bool(compiled.rules or compiled.not_evaluated)


def check(
    port: PortSpec, rows: pa.Table, *, location: str, run_id: str, state_home: Path, data_docs: bool
) -> Checked:
    """Judge ``rows`` by the port's rules; a port without rules publishes every row unchecked."""
    if not has_rules(port):
        return Checked(None, rows, None, None)
    done = check_arrow(
        port, rows, location=location, run_id=run_id, state_home=state_home, data_docs=data_docs
    )
    return Checked(done.report, done.publish, done.quarantined, done.profile)
