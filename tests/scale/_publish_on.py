"""Publish a mesh zone by zone in this one process; write what happened as JSON.

The scale tests run this in a process of their own: moving a classic session to another master
stops it, which the test process's own session (tests/conftest.py) must not suffer.

    python tests/scale/_publish_on.py PROJECT HOME OUT.json DOMAIN [DOMAIN ...]

The first domain's raw drops are generated and copied to every other domain (copies of it in other
zones), so every domain reads the same rows. Then each domain's products are published, one domain
after the other (as one Dagster run per zone would), each on its zone's compute.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from meshlake.orchestration._governed import governed
from meshlake.platform import Platform, Settings, stop_spark
from meshlake.platform._raw import raw_source_location
from meshlake.platform._spark import is_connect


def copy_drops(platform: Platform, domains: list[str]) -> None:
    """Generate the first domain's raw drops; copy them to the same sources of the others."""
    mesh, home = platform.mesh, platform.state_home
    first = {s.source.name: s for s in mesh.raw_sources.values() if s.domain.name == domains[0]}
    platform.ingest(only=[source.source.id for source in first.values()])
    for source in mesh.raw_sources.values():
        if source.domain.name in domains[1:]:
            origin = Path(raw_source_location(mesh, first[source.source.name], home))
            shutil.copytree(origin, raw_source_location(mesh, source, home))


def session_of(session: Any) -> dict[str, Any]:
    if is_connect(session):
        return {"connect": True, "master": None}
    return {"connect": False, "master": str(session.sparkContext.master)}


def publish_domain(platform: Platform, domain: str) -> dict[str, Any]:
    started = time.monotonic()
    names = [str(p.ref) for p in platform.plan() if p.ref.domain == domain]
    results = platform.publish(names)
    # Asked right after the domain's run: the session its products ran on, not a new one.
    sessions = {name: session_of(platform.spark(platform.mesh.product(name))) for name in names}
    return {
        "seconds": round(time.monotonic() - started, 1),
        "sessions": sessions,
        "products": {
            result.product: {
                "status": result.status,
                "error": result.error,
                "ports": {
                    str(port.ref.port): {
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
    project, home, out, domains = Path(argv[0]), Path(argv[1]), Path(argv[2]), argv[3:]
    settings = Settings(project=project, home=home, spark_driver_memory="1g")
    copy_drops(Platform(settings), domains)
    runs = {}
    try:
        with governed(settings) as governed_settings:
            platform = Platform(governed_settings)
            try:
                for domain in domains:
                    runs[domain] = publish_domain(platform, domain)
            finally:
                platform.close()
    finally:
        stop_spark()
    out.write_text(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
