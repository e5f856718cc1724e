"""The small mesh spread over zones with different computes, published in a child process, and
what each zone's run published, read back with delta-rs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from deltalake import DeltaTable

from tests.helpers import REPO

DRIVER = Path(__file__).with_name("_publish_on.py")
RUN_TIMEOUT = 900


def add_zone_copy(project: Path, source_domain: str, zone: str, domain: str, compute: str) -> None:
    """A data zone ``zone`` on ``compute`` holding ``domain``, a copy of ``source_domain``."""
    (project / "infra" / "landing-zones" / f"{zone}.yaml").write_text(
        f"name: {zone}\nkind: data\nregion: westeurope\nstorageRoot: lake/{zone}\n"
        f"compute: {compute}\ndomains: [{domain}]\n"
    )
    origin = project / "domains" / source_domain
    target = project / "domains" / domain
    for path in origin.rglob("*"):
        # Spec files and transforms only: a __pycache__ left by an interpreter is no text.
        if path.is_file() and "__pycache__" not in path.parts:
            copy = target / path.relative_to(origin)
            copy.parent.mkdir(parents=True, exist_ok=True)
            text = path.read_text().replace(source_domain, domain)
            copy.write_text(text.replace("landingZone: lab", f"landingZone: {zone}"))


def publish_zones(project: Path, home: Path, domains: list[str]) -> dict[str, Any]:
    """Each domain's products published in turn, in one child process; its report by domain."""
    out = home.parent / "runs.json"
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable}
    env.pop("MESHLAKE_SPARK_MASTER", None)  # it would override the zones' computes
    # The mini mesh is deliberately bare (no SLAs, no descriptions), which the publication
    # policies deny; the gate warns here, as in tests/platform/test_materialize.py.
    env["MESHLAKE_POLICY_GATE"] = "warn"
    done = subprocess.run(
        [sys.executable, str(DRIVER), str(project), str(home), str(out), *domains],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"the publishing process failed:\n{done.stderr[-4000:]}"
    runs: dict[str, Any] = json.loads(out.read_text())
    return runs


def published(run: dict[str, Any]) -> dict[str, tuple[list[Any], list[tuple[Any, ...]]]]:
    """Each port (``product.port``, without the domain) at the version the run committed: its
    Delta schema (names, types, nullability) and its rows, sorted."""
    tables = {}
    for ref, product in run["products"].items():
        for port, facts in product["ports"].items():
            table = DeltaTable(facts["location"], version=facts["version"])
            schema = [(f.name, str(f.type), f.nullable) for f in table.schema().fields]
            rows = [
                tuple(str(v) if isinstance(v, Decimal) else v for v in row.values())
                for row in table.to_pyarrow_table().to_pylist()
            ]
            tables[f"{ref.split('.', 1)[1]}.{port}"] = (schema, sorted(rows, key=repr))
    return tables
