"""Quarantined rows on the DuckDB engine go with their product's publication as on Spark
(tests/platform/test_quarantine_publish.py): staged with the port, committed after it with delta-rs
under the run's transaction identifier, recorded in the catalog from the table's own log, masked;
a retried run quarantines nothing twice, a denied one nothing at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable

from meshlake.platform import GovernanceClient, Platform, PortRef
from meshlake.platform.quality._quarantine_table import quarantine_location
from tests.helpers import governed_platform

pytestmark = pytest.mark.integration

THINGS = PortRef("alpha", "things", "things")
RUN = "5d1f0c55-3c1e-4a57-8a43-2f4e1d0b9a10"
LABEL = "      - name: label\n        logicalType: string\n"
RULE = (
    "        classification: personal\n"
    "        quality:\n"
    "          - metric: invalidValues\n"
    "            arguments:\n"
    "              pattern: '^thing [0-9]+$'\n"
    "            mustBe: 0\n"
    "            customProperties:\n"
    "              - property: quarantine\n"
    "                value: true\n"
)


@pytest.fixture
def project(mini_project: Path) -> Path:
    contract = mini_project / "domains/alpha/products/things/contract.yaml"
    contract.write_text(contract.read_text().replace(LABEL, LABEL + RULE))
    product = mini_project / "domains/alpha/products/things/product.yaml"
    product.write_text(product.read_text() + "  - property: engine\n    value: duckdb\n")
    return mini_project


def _add_bad_rows(platform: Platform) -> None:
    drop = Path(platform.state_home) / "lake/lab/_raw/alpha/things_raw/part-00000.csv"
    drop.write_text(drop.read_text() + "T9998,Bob,6.0,b\nT9999,jane@example.org,1.0,c\n")


def _data_files(location: str) -> set[str]:
    return {path.name for path in Path(location).glob("*.parquet")}


def _product(platform: Platform) -> dict[str, Any]:
    token = platform.settings.governance_token
    assert token is not None
    with GovernanceClient(str(platform.settings.governance_url), token.get_secret_value()) as c:
        return dict(c.request("GET", "/api/v1/products/alpha/things"))


def test_duckdb_quarantines_once_per_run_masked_and_recorded(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESHLAKE_POLICY_GATE", "warn")
    with governed_platform(project) as platform:
        platform.ingest(scale=1.0)
        _add_bad_rows(platform)
        first = platform.publish_product("alpha.things", run_id=RUN)
        where = quarantine_location(platform.location(THINGS))
        files = _data_files(where)
        retried = platform.publish_product("alpha.things", run_id=RUN)
        product = _product(platform)

    assert first.status == "published", first.error
    assert first.engine == "duckdb"
    assert retried.status == "published", retried.error
    (port,), (again,) = first.ports, retried.ports
    assert port.rows == 100  # the two bad rows are set aside
    assert port.quarantine is not None and again.quarantine is not None
    assert (port.quarantine.version, port.quarantine.rows, port.quarantine.skipped) == (0, 2, False)
    assert (again.quarantine.version, again.quarantine.skipped) == (0, True)
    table = DeltaTable(where)
    assert table.version() == 0  # the retry committed nothing
    rows = table.to_pyarrow_table().to_pylist()
    assert sorted((row["thing_id"], row["label"], row["_run_id"]) for row in rows) == [
        ("T9998", "B***", RUN),
        ("T9999", "j***@***", RUN),
    ]
    assert _data_files(where) == files  # the retry's staged files were deleted
    quarantine = product["datasets"][0]["quarantine"]
    assert [(v["delta_version"], v["row_count"], v["run_id"]) for v in quarantine["versions"]] == [
        (0, 2, RUN)
    ]


def test_a_denied_duckdb_publication_leaves_no_files(project: Path) -> None:
    with governed_platform(project) as platform:
        platform.ingest(scale=1.0)
        _add_bad_rows(platform)
        denied = platform.publish_product("alpha.things")

    assert denied.status == "failed" and denied.gate == "enforce"
    assert denied.engine == "duckdb"
    (report,) = denied.quality
    assert report.quarantined_rows == 2  # judged in staging only
    where = Path(quarantine_location(platform.location(THINGS)))
    assert _data_files(str(where)) == set()
    assert _data_files(platform.location(THINGS)) == set()
    assert not list(Path(platform.location(THINGS)).glob("_delta_log/*.json"))
