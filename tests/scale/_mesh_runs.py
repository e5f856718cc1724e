"""Run ``_publish_on.py`` in a process of its own and read back what each run published."""

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
RUN_TIMEOUT = 600


def publish_on(project: Path, home: Path, computes: list[str]) -> list[dict[str, Any]]:
    """One publication of the whole mesh per compute, in order, in one child process."""
    out = home.parent / "runs.json"
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable}
    env.pop("MESHLAKE_SPARK_MASTER", None)  # it would override the zone's compute
    # The mini mesh is deliberately bare (no SLAs, no descriptions), which the publication
    # policies deny; the gate warns here, as in tests/platform/test_materialize.py.
    env["MESHLAKE_POLICY_GATE"] = "warn"
    done = subprocess.run(
        [sys.executable, str(DRIVER), str(project), str(home), str(out), *computes],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"the publishing process failed:\n{done.stderr[-4000:]}"
    runs: list[dict[str, Any]] = json.loads(out.read_text())
    return runs


def published_rows(run: dict[str, Any]) -> dict[str, list[tuple[Any, ...]]]:
    """Each port's rows at the version the run committed, sorted, read with delta-rs."""
    tables = {}
    for product in run["products"].values():
        for ref, port in product["ports"].items():
            table = DeltaTable(port["location"], version=port["version"]).to_pyarrow_table()
            rows = [tuple(_plain(value) for value in row.values()) for row in table.to_pylist()]
            tables[ref] = sorted(rows, key=repr)
    return tables


def published_schemas(run: dict[str, Any]) -> dict[str, list[tuple[str, str, bool]]]:
    """Each port's Delta schema at the run's version: names, types, nullability."""
    schemas = {}
    for product in run["products"].values():
        for ref, port in product["ports"].items():
            schema = DeltaTable(port["location"], version=port["version"]).schema()
            schemas[ref] = [
                (field.name, str(field.type), field.nullable) for field in schema.fields
            ]
    return schemas


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value
