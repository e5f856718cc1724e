"""Publish the small mesh once per compute given, in this one process; write what happened as JSON.

The scale tests run this in a process of their own: switching a classic session to another master
stops it, which the test process's own session (tests/conftest.py) must not suffer.

    python tests/scale/_publish_on.py PROJECT HOME OUT.json COMPUTE [COMPUTE ...]

Before each run the zone file ``infra/landing-zones/lab.yaml`` is pointed at the compute, the way
a user would write it; the raw drop is made once, so every run reads the same data.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from meshlake.orchestration._governed import governed
from meshlake.platform import Platform, Settings, stop_spark
from meshlake.platform._spark import is_connect


def point_zone_at(zone_file: Path, compute: str) -> None:
    text = re.sub(r"(?m)^(sparkMaster|compute):.*\n", "", zone_file.read_text())
    zone_file.write_text(text + f"compute: {compute}\n")


def session_of(session: Any) -> dict[str, Any]:
    if is_connect(session):
        return {"connect": True, "master": None}
    return {"connect": False, "master": str(session.sparkContext.master)}


def run(project: Path, home: Path, compute: str) -> dict[str, Any]:
    started = time.monotonic()
    point_zone_at(project / "infra" / "landing-zones" / "lab.yaml", compute)
    settings = Settings(project=project, home=home, spark_driver_memory="1g")
    with governed(settings) as governed_settings:
        platform = Platform(governed_settings)
        try:
            results = platform.publish()
            sessions = {str(p.ref): session_of(platform.spark(p)) for p in platform.plan()}
        finally:
            platform.close()
    return {
        "compute": compute,
        "seconds": round(time.monotonic() - started, 1),
        "sessions": sessions,
        "products": {
            result.product: {
                "status": result.status,
                "error": result.error,
                "engine": result.engine,
                "ports": {
                    str(port.ref): {
                        "location": port.location,
                        "version": port.version,
                        "rows": port.rows,
                    }
                    for port in result.ports
                },
            }
            for result in results
        },
    }


def main(argv: list[str]) -> None:
    project, home, out = Path(argv[0]), Path(argv[1]), Path(argv[2])
    Platform(Settings(project=project, home=home)).ingest()
    try:
        runs = [run(project, home, compute) for compute in argv[3:]]
    finally:
        stop_spark()
    out.write_text(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
