"""SLA evidence measured on real Delta tables written with delta-rs (no Spark, no mocks).

Commit times are the real ones; the ``now`` each evaluation is given moves the clock instead.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from sqlalchemy import select

from meshlake.governance.db._engine import make_engine, session_factory
from meshlake.governance.db._tables import Dataset
from meshlake.governance.services._sla import (
    PROPERTIES,
    CheckResult,
    Evaluation,
    LogFacts,
    PortFacts,
    SlaTerms,
    SlaTermsError,
    checks_from_summary,
    contract_terms,
    evaluate,
    evaluate_many,
    port_facts,
    rule_severities,
)
from tests.governance._publishing import (
    MESH,
    Publisher,
    publish_upstream,
    register_mesh,
    staged_ports,
)
from tests.governance.conftest import Service

pytestmark = pytest.mark.integration

REF = "sales.orders.orders"
ORDERS = MESH.product("sales.orders").ports["orders"].contract  # latency 1 d, frequency 1 d, ...


def _write(location: Path, rows: int, mode: str = "append") -> datetime:
    """Commit ``rows`` rows; the commit's time as the log records it."""
    data = pa.table({"id": list(range(rows))})
    if mode == "overwrite":
        write_deltalake(str(location), data, mode="overwrite")
    else:
        write_deltalake(str(location), data, mode="append")
    stamp = DeltaTable(str(location)).history(1)[0]["timestamp"]
    return datetime.fromtimestamp(stamp / 1000, UTC)


def _terms(*items: dict[str, Any]) -> SlaTerms:
    return SlaTerms.from_items(items)


def _port(location: Path, **kwargs: Any) -> PortFacts:
    return PortFacts(REF, str(location), **kwargs)


def _evidence(evaluation: Evaluation, prop: str) -> tuple[str, str]:
    item = evaluation.result(prop)
    return item.status, item.detail


LATENCY_1H = {"property": "latency", "value": 1, "unit": "h"}
FREQUENCY_1D = {"property": "frequency", "value": 1, "unit": "d"}


# -- terms ----------------------------------------------------------------------------------


def test_the_contracts_sla_properties_are_the_default_terms() -> None:
    terms = SlaTerms.from_contract(ORDERS)

    assert (terms.latency, terms.frequency, terms.retention) == (
        timedelta(days=1),
        timedelta(days=1),
        timedelta(days=3650),
    )
    assert (terms.availability, terms.min_rows) == (99.5, None)
    assert terms.texts["availability"] == "99.5%"


def test_an_agreement_may_tighten_a_term_and_add_one() -> None:
    terms = SlaTerms.from_contract(ORDERS).stricter(
        [
            {"property": "latency", "value": 12, "unit": "h"},
            {"property": "availability", "value": 99.9, "unit": "percent"},
            {"property": "completeness", "value": 1000, "unit": "rows"},
        ]
    )

    assert (terms.latency, terms.availability, terms.min_rows) == (timedelta(hours=12), 99.9, 1000)
    assert terms.frequency == timedelta(days=1)  # untouched terms stay the contract's
    assert terms.texts["latency"] == "12 h"


@pytest.mark.parametrize(
    ("item", "words"),
    [
        ({"property": "latency", "value": 2, "unit": "d"}, "latency 2 d is looser than the 1 d"),
        (
            {"property": "retention", "value": 1, "unit": "y"},
            "retention 1 y is looser than the 10 y",
        ),
        ({"property": "availability", "value": "99%"}, "availability 99% is looser than the 99.5%"),
    ],
)
def test_a_looser_override_is_refused_naming_the_property(item: dict[str, Any], words: str) -> None:
    with pytest.raises(SlaTermsError) as caught:
        SlaTerms.from_contract(ORDERS).stricter([item], where="agreement sales-reads-orders")

    assert caught.value.property == item["property"]
    assert words in str(caught.value)
    assert str(caught.value).startswith("agreement sales-reads-orders slaProperties[0]: ")
    assert "may only tighten" in str(caught.value)


@pytest.mark.parametrize(
    ("item", "words"),
    [
        (
            {"property": "latency", "value": 1, "unit": "fortnight"},
            "unit 'fortnight' is not a duration unit",
        ),
        ({"property": "latency", "value": "soon", "unit": "d"}, "must be a positive number"),
        ({"property": "availability", "value": "high"}, "must be a percentage above 0"),
        ({"property": "availability", "value": 101, "unit": "%"}, "must be a percentage above 0"),
        ({"property": "completeness", "value": "95%"}, "a percentage cannot be measured there"),
        ({"property": "completeness", "value": 10, "unit": "MB"}, "completeness unit 'MB'"),
        (
            {"property": "timeToRepair", "value": 4, "unit": "h"},
            "'timeToRepair' cannot be measured",
        ),
        ({"property": "latency"}, "value: Field required"),
    ],
)
def test_an_unmeasurable_override_is_refused_naming_the_field(
    item: dict[str, Any], words: str
) -> None:
    with pytest.raises(SlaTermsError) as caught:
        SlaTerms().stricter([item])

    assert words in str(caught.value)


def test_a_contract_keeps_properties_it_cannot_measure_as_unmeasured() -> None:
    terms = _terms(LATENCY_1H, {"property": "generalAvailability", "value": "2026-01-01"})

    assert terms.unmeasured == ("generalAvailability",)
    assert terms.latency == timedelta(hours=1)
    with pytest.raises(SlaTermsError, match="latency is promised twice"):
        _terms(LATENCY_1H, LATENCY_1H)


# -- freshness -------------------------------------------------------------------------------


def test_freshness_is_met_within_latency_plus_frequency_and_missed_after(tmp_path: Path) -> None:
    committed = _write(tmp_path / "t", 3)
    terms = _terms(LATENCY_1H, FREQUENCY_1D)
    port = _port(tmp_path / "t")

    within = evaluate(port, terms, committed + timedelta(hours=24, minutes=59), facts=LogFacts())
    late = evaluate(port, terms, committed + timedelta(hours=25, minutes=1), facts=LogFacts())
    latency_only = evaluate(port, _terms(LATENCY_1H), committed + timedelta(hours=2))

    assert _evidence(within, "freshness")[0] == "met"
    assert within.result("freshness").promised == "latency 1 h + frequency 1 d"
    assert _evidence(late, "freshness") == (
        "missed",
        "version 0 (WRITE) was committed 1.0 d ago; the limit is 1.0 d",
    )
    assert late.result("freshness").measured == "1.0 d"
    assert not late.met
    assert _evidence(latency_only, "freshness")[0] == "missed"
    assert _evidence(evaluate(port, SlaTerms(), committed), "freshness")[0] == "unknown"


def test_maintenance_commits_do_not_make_a_table_fresh(tmp_path: Path) -> None:
    _write(tmp_path / "t", 3)
    committed = _write(tmp_path / "t", 3)
    DeltaTable(str(tmp_path / "t")).optimize.compact()  # commit 2 (OPTIMIZE) changes no data

    late = evaluate(
        _port(tmp_path / "t"), _terms(LATENCY_1H), committed + timedelta(hours=1, seconds=30)
    )

    assert late.delta_version == 2
    assert _evidence(late, "freshness")[0] == "missed"
    assert "version 1 (WRITE)" in _evidence(late, "freshness")[1]


# -- completeness ----------------------------------------------------------------------------


def test_completeness_counts_the_rows_at_the_latest_version(tmp_path: Path) -> None:
    location = tmp_path / "t"
    _write(location, 400)
    _write(location, 700)  # 1,100 rows at version 1
    promised = _terms({"property": "completeness", "value": 1000, "unit": "rows"})
    now = datetime.now(UTC)

    met = evaluate(_port(location), promised, now)
    _write(location, 10, mode="overwrite")  # version 2: 10 rows
    missed = evaluate(_port(location), promised, now)

    assert (_evidence(met, "completeness")[0], met.result("completeness").measured) == (
        "met",
        "1100 rows",
    )
    assert _evidence(missed, "completeness") == (
        "missed",
        "version 2 has 10 rows; at least 1000 are promised",
    )
    assert _evidence(evaluate(_port(location), SlaTerms(), now), "completeness")[0] == "unknown"


# -- quality ---------------------------------------------------------------------------------


def test_quality_is_the_published_versions_checks(tmp_path: Path) -> None:
    _write(tmp_path / "t", 3)
    now = datetime.now(UTC)
    terms = SlaTerms()

    def quality(*checks: CheckResult, published: int | None = 0) -> tuple[str, str]:
        port = _port(tmp_path / "t", checks=checks, published_version=published)
        return _evidence(evaluate(port, terms, now), "quality")

    passed, warned = CheckResult("ids_unique", True), CheckResult("share", False, "warning")
    assert quality(passed, warned) == (
        "met",
        "version 0: 1 of 2 checks passed; only warnings failed: share",
    )
    assert quality(passed, CheckResult("ids_not_null", False)) == (
        "missed",
        "version 0: 1 of 2 checks passed; error-severity checks failed: ids_not_null",
    )
    assert quality()[0] == "unknown"
    assert quality(passed, published=None)[0] == "unknown"


def test_the_stored_summary_gets_its_severities_from_the_contract() -> None:
    severities = rule_severities(ORDERS)
    summary = {"rules": 4, "passed": 2, "failed": ["non_revenue_share", "mystery_rule"]}

    checks = checks_from_summary(summary, severities)

    assert severities["non_revenue_share"] == "warning"
    assert [(c.name, c.passed, c.severity) for c in checks if not c.passed] == [
        ("non_revenue_share", False, "warning"),
        ("mystery_rule", False, "error"),  # not named in the contract: the default severity
    ]
    assert sum(c.passed for c in checks) == 2
    assert checks_from_summary({}) == ()


# -- availability ----------------------------------------------------------------------------


def test_availability_is_the_share_of_observed_time_the_port_was_up(tmp_path: Path) -> None:
    committed = _write(tmp_path / "t", 3)
    port = _port(tmp_path / "t")
    latency = {"property": "latency", "value": 1, "unit": "d"}
    strict = _terms(latency, {"property": "availability", "value": "90%"})
    lenient = _terms(latency, {"property": "availability", "value": "60%"})
    log = LogFacts()
    up = evaluate(port, strict, committed + timedelta(hours=1), facts=log)
    down = evaluate(port, strict, committed + timedelta(days=2), facts=log)
    # Stored and read back, as the agreements code keeps them.
    history = [Evaluation.from_dict(item.to_dict()) for item in (up, down)]
    now = committed + timedelta(days=3)

    missed = evaluate(port, strict, now, history, facts=log)
    met = evaluate(port, lenient, now, history, facts=log)
    first = evaluate(port, strict, now, facts=log)

    assert (up.up, down.up) == (True, False)
    # Up from +1 h to +2 d (47 h) of the 71 h observed since the first evaluation: 66.20 %.
    assert missed.result("availability").measured == "66.20%"
    assert _evidence(missed, "availability")[0] == "missed"
    assert _evidence(met, "availability")[0] == "met"
    assert _evidence(first, "availability")[0] == "unknown"


def test_availability_counts_only_the_period(tmp_path: Path) -> None:
    committed = _write(tmp_path / "t", 3)
    port = _port(tmp_path / "t")
    terms = _terms(
        {"property": "latency", "value": 1, "unit": "d"},
        {"property": "availability", "value": "99%"},
    )
    up = evaluate(port, terms, committed + timedelta(hours=1))  # before the window
    down = evaluate(port, terms, committed + timedelta(days=2))  # inside it
    now = committed + timedelta(days=31, hours=1)  # the window starts at +1 d 1 h

    evaluation = evaluate(port, terms, now, [up, down])

    # The up sample holds into the window's start until the down one: 23 h of 30 d.
    assert evaluation.result("availability").measured == f"{100 * 23 / 720:.2f}%"
    assert "of 30.0 d observed in the last 30.0 d" in _evidence(evaluation, "availability")[1]


# -- retention -------------------------------------------------------------------------------


def test_retention_keeps_the_version_current_at_the_windows_start(tmp_path: Path) -> None:
    location = tmp_path / "t"
    committed = _write(location, 3)
    _write(location, 4, mode="overwrite")
    ten_years = _terms({"property": "retention", "value": 10, "unit": "y"})
    one_day = _terms({"property": "retention", "value": 1, "unit": "d"})
    now = committed + timedelta(minutes=1)

    young = evaluate(_port(location), ten_years, now, facts=LogFacts())
    DeltaTable(str(location)).vacuum(
        retention_hours=0, enforce_retention_duration=False, dry_run=False
    )
    vacuumed = evaluate(_port(location), ten_years, now, facts=LogFacts())
    older = evaluate(_port(location), one_day, committed + timedelta(days=2), facts=LogFacts())

    assert _evidence(young, "retention") == (
        "met",
        "the table is younger than 10 y; its first version 0 is still readable",
    )
    status, detail = _evidence(vacuumed, "retention")
    assert status == "missed"
    assert (
        "its first version 0 is no longer readable: 1 of the 1 data files of version 0 are gone"
        in detail
    )
    # Two days on, a one-day window starts after the vacuum: what was current then is all there.
    assert _evidence(older, "retention")[0] == "met"
    assert older.result("retention").measured == f"from version {older.delta_version}"


def test_retention_is_missed_when_the_log_no_longer_reaches_back(tmp_path: Path) -> None:
    location = str(tmp_path / "t")
    keep_no_log = {"delta.logRetentionDuration": "interval 0 seconds"}
    write_deltalake(location, pa.table({"id": [0]}), configuration=keep_no_log)
    for _ in range(3):
        committed = _write(tmp_path / "t", 1)
    table = DeltaTable(location)
    table.create_checkpoint()
    table.cleanup_metadata()  # the commits before the checkpoint (version 3) leave the log
    terms = _terms({"property": "retention", "value": 10, "unit": "y"})

    evaluation = evaluate(_port(tmp_path / "t"), terms, committed + timedelta(minutes=1))

    status, detail = _evidence(evaluation, "retention")
    assert (status, evaluation.delta_version) == ("missed", 3)
    assert detail.startswith("the Delta log begins at version 3, committed 1.0 min ago")
    assert detail.endswith("the history of the last 10 y is no longer there")


# -- a missing table ------------------------------------------------------------------------


def test_a_missing_table_misses_every_property(tmp_path: Path) -> None:
    evaluation = evaluate(
        _port(tmp_path / "nothing"), SlaTerms.from_contract(ORDERS), datetime.now(UTC)
    )

    assert [item.property for item in evaluation.results] == list(PROPERTIES)
    assert {item.status for item in evaluation.results} == {"missed"}
    assert all("no Delta table at" in item.detail for item in evaluation.results)
    assert evaluation.delta_version is None and not evaluation.met


# -- the cache -------------------------------------------------------------------------------


def test_unchanged_tables_are_listed_once_per_pass_and_read_once(tmp_path: Path) -> None:
    locations = [tmp_path / f"t{index}" for index in range(3)]
    for location in locations:
        _write(location, 5)
        _write(location, 5)  # version 1: retention checks that version 0 is still readable
    terms = SlaTerms.from_contract(ORDERS)
    items = [(_port(location), terms) for location in locations for _ in range(4)]  # 12 agreements
    log = LogFacts()
    now = datetime.now(UTC)

    first = evaluate_many(items, now, facts=log)
    facts = log.facts(str(locations[0]))
    second = evaluate_many(items, now + timedelta(minutes=5), facts=log)

    assert (log.reads["listing"], log.reads["load"], log.reads["older"]) == (3 + 1 + 3, 3, 3)
    assert log.facts(str(locations[0])) is facts
    assert [e.result("freshness").status for e in first] == [
        e.result("freshness").status for e in second
    ]

    _write(locations[0], 2)  # the version moves: that table's facts are read again, the rest kept
    third = evaluate_many(items, now, facts=log)

    moved = log.facts(str(locations[0]))
    assert moved is not facts and moved is not None and moved.version == 2
    assert [c.version for c in moved.commits] == [2, 1, 0]  # the new commit added to the known
    assert (log.reads["load"], log.reads["older"]) == (4, 4)
    assert {e.result("completeness").measured for e in third[:4]} == {"12 rows"}


def test_a_table_that_appears_or_goes_is_seen_on_the_next_evaluation(tmp_path: Path) -> None:
    log = LogFacts()
    port = _port(tmp_path / "t")
    now = datetime.now(UTC)

    before = evaluate(port, SlaTerms(), now, facts=log)
    _write(tmp_path / "t", 2)
    after = evaluate(port, SlaTerms(), now, facts=log)
    shutil.rmtree(tmp_path / "t")
    gone = evaluate(port, SlaTerms(), now, facts=log)

    assert (before.delta_version, after.delta_version, gone.delta_version) == (None, 0, None)
    assert (before.met, after.met, gone.met) == (False, True, False)
    assert log.facts(str(tmp_path / "t")) is None


def test_without_the_cache_every_evaluation_reads_the_log(tmp_path: Path) -> None:
    _write(tmp_path / "t", 5)
    _write(tmp_path / "t", 5)
    log = LogFacts(cached=False)
    terms = SlaTerms.from_contract(ORDERS)

    for _ in range(3):
        evaluate(_port(tmp_path / "t"), terms, datetime.now(UTC), facts=log)

    assert (log.reads["listing"], log.reads["load"], log.reads["older"]) == (3, 3, 3)


def test_a_naive_now_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no time zone"):
        evaluate(_port(tmp_path / "t"), SlaTerms(), datetime(2026, 1, 1))


def test_a_contract_property_that_is_not_measured_is_reported_unknown(tmp_path: Path) -> None:
    _write(tmp_path / "t", 3)
    terms = _terms(LATENCY_1H, {"property": "timeToRepair", "value": 4, "unit": "h"})

    evaluation = evaluate(_port(tmp_path / "t"), terms, datetime.now(UTC))

    item = evaluation.result("timeToRepair")
    assert (item.status, item.promised) == ("unknown", "4 h")
    assert item.detail == "timeToRepair is not measured from the Delta log"
    assert [e.property for e in evaluation.results] == [*PROPERTIES, "timeToRepair"]


# -- from the catalog (the service over real HTTP, its store read directly) ------------------


def test_the_catalog_gives_the_published_checks_and_the_contract_terms(
    service: Service, tmp_path: Path
) -> None:
    register_mesh(service, tmp_path / "state")
    publisher = Publisher(service)
    publish_upstream(publisher, "sales.orders")
    product = MESH.product("sales.orders")
    ports = staged_ports(product)
    ports[0]["quality"] = {"rules": 6, "passed": 5, "failed": ["non_revenue_share"]}
    decided = publisher.decide(product, "run-sla", ports=ports)
    assert decided.status_code == 200, decided.text
    versions = publisher.commit_ports(product, "run-sla")
    recorded = publisher.record(product, "run-sla", decided.json()["id"], versions)
    assert recorded.status_code == 201, recorded.text
    engine = make_engine(service.database_url)
    try:
        with session_factory(engine)() as session:
            dataset = session.scalars(select(Dataset).where(Dataset.ref == REF)).one()
            port = port_facts(session, dataset)
            terms = contract_terms(session, dataset)
    finally:
        engine.dispose()

    evaluation = evaluate(port, terms, datetime.now(UTC), facts=LogFacts())

    assert (port.published_version, port.location) == (versions["orders"], publisher.location(REF))
    assert [(c.name, c.severity) for c in port.checks if not c.passed] == [
        ("non_revenue_share", "warning")
    ]
    assert (terms.latency, terms.availability) == (timedelta(days=1), 99.5)
    assert _evidence(evaluation, "quality") == (
        "met",
        f"version {versions['orders']}: 5 of 6 checks passed; only warnings failed: non_revenue_share",
    )
    assert _evidence(evaluation, "freshness")[0] == "met"
    assert evaluation.delta_version == versions["orders"]
