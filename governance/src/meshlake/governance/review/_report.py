"""The review as Markdown for a pull-request comment, or as JSON for tools."""

from __future__ import annotations

import json

from meshlake.governance.review._changes import AgreementHit, Change
from meshlake.governance.review._review import ReviewReport, policy_changes_note

# The CI workflow finds its earlier comment by this marker and updates it instead of adding one.
MARKER = "<!-- meshlake-review -->"


def to_json(report: ReviewReport) -> str:
    return json.dumps(report.as_dict(), indent=2)


def to_markdown(report: ReviewReport) -> str:
    violations, warnings = report.violations, report.warnings
    verdict = (
        f"❌ {len(violations)} violation{'s' if len(violations) != 1 else ''}"
        if violations
        else "✅ no violations"
    )
    lines = [
        MARKER,
        f"## meshlake review: {verdict}",
        "",
        f"Compared with `{report.base_ref}` ({report.base_commit[:12]}): "
        f"{len(report.breaking)} breaking change{'s' if len(report.breaking) != 1 else ''}, "
        f"{len(report.compatible)} compatible, "
        f"{len(report.publication)} product{'s' if len(report.publication) != 1 else ''} checked "
        f"against the policies; consumers from the {report.consumers_from}.",
    ]
    if report.policy_basis is not None:
        lines += ["", report.policy_basis.note]
    if violations:
        lines += ["", "### Violations", ""]
        lines += [f"- {_escape(item)}" for item in violations]
    if report.breaking:
        lines += [
            "",
            "### Breaking changes",
            "",
            "| what | change | contract | major bump | consumers hit |",
            "|---|---|---|---|---|",
        ]
        lines += [_breaking_row(change) for change in report.breaking]
    hits = [(change, hit) for change in report.breaking for hit in change.agreements]
    if hits:
        lines += [
            "",
            "### Sharing agreements hit",
            "",
            "| change | agreement | consumer | purpose | SLA it promises | declared in |",
            "|---|---|---|---|---|---|",
        ]
        lines += [_agreement_row(change, hit) for change, hit in hits]
    if report.compatible:
        lines += ["", "### Compatible changes", "", "| what | change | contract |", "|---|---|---|"]
        lines += [
            f"| `{change.target}` | {_escape(change.summary)} | {_contract(change)} |"
            for change in report.compatible
        ]
    if report.suspects:
        lines += [
            "",
            "### Columns that look personal",
            "",
            "| column | looks like | from its | classification |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| `{s.column}` | {s.kind} | {s.evidence} | {s.classification or '**none**'} |"
            for s in report.suspects
        ]
    if report.policy_changes:
        lines += [
            "",
            "### Policy changes",
            "",
            policy_changes_note(report),
            "",
            "| file | change | what |",
            "|---|---|---|",
        ]
        lines += [
            f"| `{change.path}` | {change.status} | "
            f"{_escape(change.what)}{' (' + _escape(change.detail) + ')' if change.detail else ''} |"
            for change in report.policy_changes
        ]
    if warnings:
        lines += ["", "### Warnings", ""]
        lines += [f"- {_escape(item)}" for item in warnings]
    if report.base_problems:
        lines += [
            "",
            f"<details><summary>The specs at {report.base_ref} do not load "
            f"({len(report.base_problems)} problems); compared against no base</summary>",
            "",
        ]
        lines += [f"- {_escape(item)}" for item in report.base_problems]
        lines += ["", "</details>"]
    if not report.changes and not report.problems:
        lines += ["", "No product, port or contract changed."]
    return "\n".join(lines) + "\n"


def _breaking_row(change: Change) -> str:
    consumers = "; ".join(
        f"`{consumer.product}`"
        + (f" ({', '.join(consumer.columns)})" if consumer.columns else " (whole port)")
        for consumer in change.consumers
    )
    bump = "yes" if change.major_bump else "**no**"
    return (
        f"| `{change.target}` | {_escape(change.summary)} | {_contract(change)} | {bump} | "
        f"{consumers or 'none known'} |"
    )


def _agreement_row(change: Change, hit: AgreementHit) -> str:
    terms = "; ".join(f"{term['text']} ({term['from']})" for term in hit.terms) or "none"
    if hit.broken:
        terms = f"**broken**: {hit.broken}. {terms}"
    return (
        f"| `{change.target}` | `{hit.name}` | {hit.consumer_kind} `{hit.consumer_id}` | "
        f"{hit.purpose} | {_escape(terms)} | {', '.join(hit.specs)} |"
    )


def _contract(change: Change) -> str:
    if not change.contract_id:
        return ""
    before, after = change.version_before or "-", change.version_after or "-"
    return f"`{change.contract_id}` {before} → {after}"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
