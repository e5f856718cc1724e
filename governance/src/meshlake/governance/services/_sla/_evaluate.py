"""Measure whether a port keeps its SLA terms: pure, on facts from the Delta log and the catalog.

The rules, per property (each gives ``met``, ``missed`` or ``unknown``):

- freshness: the age of the newest commit that changed data (OPTIMIZE and VACUUM do not count)
  against ``latency + frequency``. A port promising ``frequency`` commits once per period, and
  each commit may arrive up to ``latency`` after its period ends; just before the next commit is
  due, the newest one is legitimately ``frequency + latency`` old. Judging against latency alone
  would call a daily product with a 1 h latency late for 23 hours a day. With one of the two
  promised, that one is the limit; with neither, freshness is unknown.
- completeness: the rows at the table's latest version (the log's ``numRecords``) against the
  promised minimum.
- quality: the checks recorded with the latest published version; missed when an
  error-severity check failed, unknown when nothing is published or nothing was recorded.
- availability: the share of the last ``availability_period`` during which the port was up (every
  other property not missed), from the earlier evaluations passed in and this one: each
  evaluation's state holds until the next. Time before the first evaluation is not counted, so
  a port is judged on what was observed; with no earlier evaluation it is unknown.
- retention: the version that was current at the start of the retention window (or version 0
  when the table is younger than the window) must still be readable: its commit in the log and
  every data file it needs. Missed when the log no longer reaches back to the window's start.
- a missing table: every property missed, each saying the table is not there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from itertools import pairwise

from meshlake.governance.services._sla._evidence import (
    PROPERTIES,
    Evaluation,
    Evidence,
    PortFacts,
    Status,
)
from meshlake.governance.services._sla._facts import LogFacts, TableFacts
from meshlake.governance.services._sla._terms import SlaTerms

_DEFAULT_FACTS = LogFacts()


def evaluate(
    port: PortFacts,
    terms: SlaTerms,
    now: datetime,
    history: Sequence[Evaluation] = (),
    facts: LogFacts | None = None,
) -> Evaluation:
    """Every property of ``terms`` measured on ``port`` as of ``now`` (timezone-aware).

    ``history``: earlier evaluations of the same port under the same terms, for availability.
    ``facts``: the log cache to use (a process-wide one by default).
    """
    log = facts or _DEFAULT_FACTS
    return _evaluate(port, terms, _aware(now), history, log.facts(port.location), log)


def evaluate_many(
    items: Iterable[tuple[PortFacts, SlaTerms]],
    now: datetime,
    history: Mapping[int, Sequence[Evaluation]] | None = None,
    facts: LogFacts | None = None,
) -> list[Evaluation]:
    """``evaluate`` for many (port, terms) pairs, listing each distinct table's log only once.

    ``history`` maps an item's index to its earlier evaluations.
    """
    log = facts or _DEFAULT_FACTS
    moment = _aware(now)
    seen: dict[str, TableFacts | None] = {}
    results = []
    for index, (port, terms) in enumerate(items):
        if port.location not in seen:
            seen[port.location] = log.facts(port.location)
        earlier = history.get(index, ()) if history else ()
        results.append(_evaluate(port, terms, moment, earlier, seen[port.location], log))
    return results


def _evaluate(
    port: PortFacts,
    terms: SlaTerms,
    now: datetime,
    history: Sequence[Evaluation],
    table: TableFacts | None,
    log: LogFacts,
) -> Evaluation:
    if table is None:
        detail = (
            f"no Delta table at {port.location}: {port.ref} has nothing to measure, "
            "so no term is kept"
        )
        missing = tuple(
            Evidence(prop, "missed", None, _promised(terms, prop), detail, None, now)
            for prop in (*PROPERTIES, *terms.unmeasured)
        )
        return Evaluation(port.ref, None, now, missing)

    def evidence(prop: str, status: Status, measured: str | None, detail: str) -> Evidence:
        version = port.published_version if prop == "quality" else table.version
        return Evidence(prop, status, measured, _promised(terms, prop), detail, version, now)

    results = [
        evidence("freshness", *_freshness(terms, table, now)),
        evidence("completeness", *_completeness(terms, table)),
        evidence("quality", *_quality(port)),
        evidence("retention", *_retention(terms, table, now, log)),
    ]
    up = not any(item.status == "missed" for item in results)
    results.insert(3, evidence("availability", *_availability(port, terms, now, history, up)))
    results.extend(
        evidence(prop, "unknown", None, f"{prop} is not measured from the Delta log")
        for prop in terms.unmeasured
    )
    return Evaluation(port.ref, table.version, now, tuple(results))


def _freshness(terms: SlaTerms, table: TableFacts, now: datetime) -> tuple[Status, str | None, str]:
    commit = table.last_data_commit
    age = now - commit.at
    measured = _human(age)
    limits = [limit for limit in (terms.latency, terms.frequency) if limit is not None]
    if not limits:
        return "unknown", measured, "no latency or frequency is promised"
    limit = sum(limits, timedelta())
    said = f"version {commit.version} ({commit.operation or 'commit'}) was committed {measured} ago"
    if age > limit:
        return "missed", measured, f"{said}; the limit is {_human(limit)}"
    return "met", measured, f"{said}, within {_human(limit)}"


def _completeness(terms: SlaTerms, table: TableFacts) -> tuple[Status, str | None, str]:
    measured = f"{table.row_count} rows"
    if terms.min_rows is None:
        return "unknown", measured, "no minimum row count (completeness) is promised"
    said = f"version {table.version} has {table.row_count} rows"
    if table.row_count < terms.min_rows:
        return "missed", measured, f"{said}; at least {terms.min_rows} are promised"
    return "met", measured, f"{said}, at least {terms.min_rows} promised"


def _quality(port: PortFacts) -> tuple[Status, str | None, str]:
    if port.published_version is None:
        return "unknown", None, f"no version of {port.ref} is published, so no checks are recorded"
    if not port.checks:
        return (
            "unknown",
            None,
            f"no check results are recorded for version {port.published_version}",
        )
    failed = [check for check in port.checks if not check.passed]
    errors = [check.name for check in failed if check.severity != "warning"]
    warnings = [check.name for check in failed if check.severity == "warning"]
    measured = f"{len(port.checks) - len(failed)} of {len(port.checks)} checks passed"
    said = f"version {port.published_version}: {measured}"
    if errors:
        return "missed", measured, f"{said}; error-severity checks failed: {', '.join(errors)}"
    if warnings:
        return "met", measured, f"{said}; only warnings failed: {', '.join(warnings)}"
    return "met", measured, said


def _availability(
    port: PortFacts,
    terms: SlaTerms,
    now: datetime,
    history: Sequence[Evaluation],
    up_now: bool,
) -> tuple[Status, str | None, str]:
    period = terms.availability_period
    start = now - period
    samples = sorted(
        ((_aware(item.observed_at), item.up) for item in history if item.ref == port.ref),
        key=lambda sample: sample[0],
    )
    samples = [sample for sample in samples if sample[0] < now]
    # Keep the last sample before the window: its state holds into the window's start.
    before = [sample for sample in samples if sample[0] <= start]
    samples = before[-1:] + [sample for sample in samples if sample[0] > start]
    samples.append((now, up_now))
    observed = uptime = timedelta()
    for (at, up), (following, _) in pairwise(samples):
        span = following - max(at, start)
        observed += span
        if up:
            uptime += span
    if observed <= timedelta():
        return (
            "unknown",
            None,
            f"no earlier evaluation in the last {_human(period)} to measure from",
        )
    share = 100 * uptime / observed
    measured = f"{share:.2f}%"
    said = f"up {_human(uptime)} of {_human(observed)} observed in the last {_human(period)}"
    if terms.availability is None:
        return "unknown", measured, f"{said}; no availability is promised"
    if share < terms.availability:
        return "missed", measured, f"{said} ({measured}); {terms.availability:g}% is promised"
    return "met", measured, f"{said} ({measured}), {terms.availability:g}% promised"


def _retention(
    terms: SlaTerms, table: TableFacts, now: datetime, log: LogFacts
) -> tuple[Status, str | None, str]:
    if terms.retention is None:
        return "unknown", None, "no retention is promised"
    start = now - terms.retention
    promised = terms.texts.get("retention", _human(terms.retention))
    oldest = table.commits[-1]
    at_start = next((commit for commit in table.commits if commit.at <= start), None)
    if at_start is None and oldest.version > 0:
        return (
            "missed",
            f"from version {oldest.version}",
            f"the Delta log begins at version {oldest.version}, committed "
            f"{_human(now - oldest.at)} ago: the history of the last {promised} "
            "is no longer there",
        )
    target = at_start or oldest
    measured = f"from version {target.version}"
    if at_start is None:
        window = f"the table is younger than {promised}; its first version 0"
    else:
        window = f"version {target.version} was current {promised} ago and"
    reason = log.unreadable(table, target.version)
    if reason is not None:
        return "missed", None, f"{window} is no longer readable: {reason}"
    return "met", measured, f"{window} is still readable"


def _promised(terms: SlaTerms, prop: str) -> str | None:
    if prop == "freshness":
        parts = [
            f"{name} {terms.texts[name]}"
            for name in ("latency", "frequency")
            if name in terms.texts
        ]
        return " + ".join(parts) or None
    if prop == "completeness":
        return f"at least {terms.texts['completeness']}" if "completeness" in terms.texts else None
    if prop == "quality":
        return "no failed error-severity check"
    return terms.texts.get(prop, terms.unmeasured_texts.get(prop))


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{moment.isoformat()} has no time zone; pass an aware datetime (UTC)")
    return moment


def _human(duration: timedelta) -> str:
    seconds = duration.total_seconds()
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"
