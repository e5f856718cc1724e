"""Quarantined rows go with their product's publication: staged with the port, committed after it
under the run's Delta transaction identifier, recorded in the catalog from the quarantine table's
own log. A retried run quarantines nothing twice; a denied publication quarantines nothing.

Real Spark and Delta, the embedded governance service over real HTTP (SQLite in the state folder).
The mini mesh is denied by the enforcing gate (see tests/platform/test_publish.py), so the
publishing runs use the ``warn`` gate.
"""

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
RUN = "0b0e4f5c-6d1a-4c43-9d55-6a0f3c1b7e21"  # lineage run ids are UUIDs
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


def _with_quarantine_rule(project: Path) -> None:
    contract = project / "domains/alpha/products/things/contract.yaml"
    contract.write_text(contract.read_text().replace(LABEL, LABEL + RULE))


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


@pytest.fixture
def warn_gate(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("MESHLAKE_POLICY_GATE", "warn")
    return monkeypatch


def test_a_retried_run_quarantines_nothing_twice_and_the_catalog_records_it_once(
    mini_project: Path, spark: object, warn_gate: pytest.MonkeyPatch
) -> None:
    _with_quarantine_rule(mini_project)
    with governed_platform(mini_project) as platform:
        platform.ingest(scale=1.0)
        _add_bad_rows(platform)
        first = platform.publish_product("alpha.things", run_id=RUN)
        where = quarantine_location(platform.location(THINGS))
        files = _data_files(where)
        retried = platform.publish_product("alpha.things", run_id=RUN)
        product = _product(platform)

    assert first.status == "published", first.error
    assert retried.status == "published", retried.error
    (port,), (again,) = first.ports, retried.ports
    assert port.quarantine is not None and again.quarantine is not None
    assert (port.quarantine.version, port.quarantine.rows, port.quarantine.skipped) == (0, 2, False)
    assert (again.quarantine.version, again.quarantine.rows, again.quarantine.skipped) == (
        0,
        2,
        True,
    )
    table = DeltaTable(where)
    assert table.version() == 0  # the retry committed nothing
    rows = table.to_pyarrow_table().to_pylist()
    assert sorted((row["thing_id"], row["label"], row["_run_id"]) for row in rows) == [
        ("T9998", "B***", RUN),
        ("T9999", "j***@***", RUN),
    ]
    assert _data_files(where) == files  # the retry's staged files were deleted
    quarantine = product["datasets"][0]["quarantine"]
    assert quarantine["kind"] == "quarantine" and quarantine["location"] == where
    assert quarantine["classification"] == "personal"
    assert [c["name"] for c in quarantine["columns"] if c["masked"]] == ["label"]
    assert quarantine["retention_days"] == 30  # no retention SLA: the default setting
    assert [(v["delta_version"], v["row_count"], v["run_id"]) for v in quarantine["versions"]] == [
        (0, 2, RUN)
    ]


def test_a_denied_publication_leaves_no_quarantined_rows(mini_project: Path, spark: object) -> None:
    _with_quarantine_rule(mini_project)
    with governed_platform(mini_project) as platform:
        platform.ingest(scale=1.0)
        _add_bad_rows(platform)
        denied = platform.publish_product("alpha.things")
        product = _product(platform)

    assert denied.status == "failed" and denied.gate == "enforce"
    assert "governance denied the publication" in (denied.error or "")
    (report,) = denied.quality
    assert report.quarantined_rows == 2  # the rules ran and set rows aside, in staging only
    where = Path(quarantine_location(platform.location(THINGS)))
    assert not list(where.glob("_delta_log/*.json"))  # no quarantine version
    assert _data_files(str(where)) == set()  # and no staged file left behind
    assert product["datasets"][0]["quarantine"]["versions"] == []
