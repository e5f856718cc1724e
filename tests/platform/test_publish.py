"""The one publish path: governance decides before the commit, and the platform obeys.

Real Spark and Delta, the embedded governance service over real HTTP (SQLite in the test's state
folder). The mini mesh is deliberately bare (no column descriptions, no SLAs): the enforcing gate
denies it, the ``warn`` gate publishes it with the denials as warnings.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from deltalake import DeltaTable

from meshlake.platform import GovernanceClient, Platform, PortRef
from meshlake.platform._governance import PublicationRecord
from tests.helpers import governed_platform

pytestmark = pytest.mark.integration

THINGS = PortRef("alpha", "things", "things")
SUMMARY = PortRef("alpha", "summary", "summary")


def _files(location: str) -> set[str]:
    return {path.name for path in Path(location).glob("*.parquet")}


@pytest.fixture
def warn_gate(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("MESHLAKE_POLICY_GATE", "warn")
    return monkeypatch


def test_a_denied_publication_commits_nothing_and_keeps_the_previous_version(
    mini_project: Path, spark: object, warn_gate: pytest.MonkeyPatch
) -> None:
    with governed_platform(mini_project) as platform:
        platform.ingest(scale=1.0)
        (first,) = platform.publish(["alpha.things"])
        assert first.status == "published" and first.gate == "warn"
        files = _files(platform.location(THINGS))

        warn_gate.setenv("MESHLAKE_POLICY_GATE", "enforce")
        (denied,) = platform.publish(["alpha.things"])

        with GovernanceClient(str(platform.settings.governance_url), _admin(platform)) as admin:
            published = admin.request("GET", "/api/v1/datasets/alpha.things.things/published")
            decisions = admin.request(
                "GET", "/api/v1/policies/decisions", params={"subject": "alpha.things"}
            )

    assert denied.status == "failed" and denied.gate == "enforce"
    assert "governance denied the publication" in (denied.error or "")
    assert "column_documentation [deny]" in (denied.error or "")
    table = DeltaTable(platform.location(THINGS))
    assert table.version() == 0  # no commit
    assert _files(platform.location(THINGS)) == files  # the staged files are gone
    assert published["delta_version"] == 0
    assert [d["allowed"] for d in decisions][:2] == [False, False]


def test_publication_fails_closed_when_governance_cannot_be_reached(
    mini_project: Path, spark: object
) -> None:
    settings = Platform(
        _settings(mini_project, governance_url="http://127.0.0.1:9", governance_token="t")
    ).settings
    platform = Platform(settings)
    platform.ingest(scale=1.0)

    (result,) = platform.publish(["alpha.things"])

    assert result.status == "failed"
    assert "failed closed, nothing was committed" in (result.error or "")
    assert "127.0.0.1:9 cannot be reached" in (result.error or "")
    log = Path(platform.location(THINGS)) / "_delta_log"
    assert not list(log.glob("*.json"))
    assert not _files(platform.location(THINGS))


def test_an_input_reads_the_version_the_catalog_published_not_the_latest_commit(
    mini_project: Path, spark, warn_gate: pytest.MonkeyPatch
) -> None:
    with governed_platform(mini_project) as platform:
        platform.ingest(scale=1.0)
        platform.publish(["alpha.things"])
        # A commit no governance decision covers (another writer, or a run whose record failed):
        # readers must not see it.
        location = platform.location(THINGS)
        spark.read.format("delta").load(location).limit(10).write.format("delta").mode(
            "overwrite"
        ).save(location)
        assert DeltaTable(location).version() == 1

        (summary,) = platform.publish(["alpha.summary"])

    assert summary.status == "published", summary.error
    totals = spark.read.format("delta").load(summary.ports[0].location).groupBy().sum("things")
    assert totals.first()[0] == 100  # version 0's rows, not the 10 of version 1


def test_a_record_lost_in_transit_waits_in_the_outbox_and_is_sent_by_the_next_run(
    mini_project: Path, spark: object, warn_gate: pytest.MonkeyPatch
) -> None:
    with governed_platform(mini_project) as platform:
        platform.ingest(scale=1.0)
        real = platform.governance(platform.mesh.product("alpha.things"))
        dead = GovernanceClient("http://127.0.0.1:9", "t")
        original = type(real).record

        def record_to_a_dead_service(self: GovernanceClient, record: PublicationRecord) -> None:
            original(dead, record)  # a real connection failure, after the commit

        type(real).record = record_to_a_dead_service  # type: ignore[method-assign]
        try:
            (committed,) = platform.publish(["alpha.things"])
        finally:
            type(real).record = original  # type: ignore[method-assign]
        with GovernanceClient(str(platform.settings.governance_url), _admin(platform)) as admin:
            before = admin.request("GET", "/api/v1/datasets/alpha.things.things")["versions"]
            (summary,) = platform.publish(["alpha.summary"])  # replays the outbox first
            after = admin.request("GET", "/api/v1/datasets/alpha.things.things")["versions"]

    assert committed.status == "published" and not committed.recorded, committed.error
    assert before == []
    assert [(v["delta_version"], v["row_count"]) for v in after] == [(0, 100)]
    assert summary.status == "published", summary.error
    assert not list((platform.state_home / "governance-outbox").glob("*.json"))


def test_any_exception_fails_only_its_product_with_a_fail_event(
    mini_project: Path, spark: object, warn_gate: pytest.MonkeyPatch
) -> None:
    (mini_project / "domains/alpha/products/summary/transform.py").write_text(
        "def transform(inputs, ctx):\n    return 1 / 0\n"
    )
    with governed_platform(mini_project) as platform:
        platform.ingest(scale=1.0)
        things, summary = platform.publish()
        with GovernanceClient(str(platform.settings.governance_url), _admin(platform)) as admin:
            runs = admin.request("GET", "/api/v1/lineage/runs", params={"job": "alpha.summary"})

    assert things.status == "published"
    assert summary.status == "failed"
    assert "ZeroDivisionError" in (summary.error or "")
    assert [run["state"] for run in runs][:1] == ["FAIL"]
    assert not Path(platform.location(SUMMARY), "_delta_log").exists() or not list(
        Path(platform.location(SUMMARY), "_delta_log").glob("*.json")
    )


def test_two_publications_of_one_product_take_turns(
    mini_project: Path, spark: object, warn_gate: pytest.MonkeyPatch
) -> None:
    with governed_platform(mini_project) as platform:
        platform.ingest(scale=1.0)
        product = platform.mesh.product("alpha.things")
        results = []
        threads = [
            threading.Thread(target=lambda: results.append(platform.publisher().publish(product)))
            for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert sorted(result.status for result in results) == ["published", "published"]
    assert sorted(result.ports[0].version for result in results) == [0, 1]


def _settings(project: Path, **values: object):
    from meshlake.platform import Settings

    return Settings(project=project, home=project / ".meshlake", spark_master="local[2]", **values)


def _admin(platform: Platform) -> str:
    token = platform.settings.governance_token
    assert token is not None
    return token.get_secret_value()
