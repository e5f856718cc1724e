"""``meshlake review``: compare the specs at a git ref with the working tree and judge the changes."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshlake.governance.policies import (
    Decision,
    PolicyEngine,
    PolicyError,
    PolicyInputError,
    UnknownPolicyError,
    merge_decisions,
    publication_input,
    select_policies,
)
from meshlake.governance.review._agreements import AgreementReaders, attach_agreements
from meshlake.governance.review._changes import Change, compare
from meshlake.governance.review._consumers import (
    GovernanceConsumers,
    SpecConsumers,
    attach_consumers,
)
from meshlake.governance.review._errors import ReviewUsageError
from meshlake.governance.review._git import export_specs, resolve_ref
from meshlake.governance.review._personal import PersonalSuspect, looks_personal
from meshlake.governance.review._policies import (
    APPROVAL,
    NOT_BLOCKING,
    PolicyBasis,
    PolicyFileChange,
    review_policies,
)
from meshlake.platform.specs import Mesh, Problem, validate_mesh

ZONES = Path("infra") / "landing-zones"


@dataclass
class ReviewReport:
    """Everything the review found; ``violations`` decide the exit code."""

    base_ref: str
    base_commit: str
    changes: list[Change] = field(default_factory=list)
    suspects: list[PersonalSuspect] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the working tree's spec problems
    base_problems: list[str] = field(default_factory=list)
    publication: dict[str, Decision] = field(default_factory=dict)
    review: Decision | None = None
    consumers_from: str = "specs"
    policy_basis: PolicyBasis | None = None  # which policies judged: the base's, as a rule
    policy_changes: list[PolicyFileChange] = field(default_factory=list)  # effective after merge
    policy_problems: list[str] = field(default_factory=list)  # a policy folder that cannot judge

    @property
    def breaking(self) -> list[Change]:
        return [change for change in self.changes if change.breaking]

    @property
    def compatible(self) -> list[Change]:
        return [change for change in self.changes if not change.breaking]

    @property
    def violations(self) -> list[str]:
        found = [f"spec: {problem}" for problem in self.problems]
        found += [f"policies: {problem}" for problem in self.policy_problems]
        if self.review is not None:
            found += [f"{reason.policy}: {reason.message}" for reason in self.review.denials]
        for decision in self.publication.values():
            found += [f"{reason.policy}: {reason.message}" for reason in decision.denials]
        return found

    @property
    def warnings(self) -> list[str]:
        found = []
        if self.review is not None:
            found += [f"{reason.policy}: {reason.message}" for reason in self.review.warnings]
        for decision in self.publication.values():
            found += [f"{reason.policy}: {reason.message}" for reason in decision.warnings]
        return found

    @property
    def exit_code(self) -> int:
        return 1 if self.violations else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "base": {"ref": self.base_ref, "commit": self.base_commit},
            "clean": not self.violations,
            "violations": self.violations,
            "warnings": self.warnings,
            "changes": {
                "breaking": [change.as_dict() for change in self.breaking],
                "compatible": [change.as_dict() for change in self.compatible],
            },
            "consumers_from": self.consumers_from,
            "suspected_personal": [suspect.as_dict() for suspect in self.suspects],
            "policies": {
                ref: [reason.as_dict() for reason in decision.reasons]
                for ref, decision in sorted(self.publication.items())
            },
            # Which policies judged each product (its zone's) and the review, and their bundles.
            "judged_by": {
                ref: {"policies": decision.policies, "bundle": decision.bundle}
                for ref, decision in sorted(self.publication.items())
            }
            | (
                {"review": {"policies": self.review.policies, "bundle": self.review.bundle}}
                if self.review is not None
                else {}
            ),
            "policy_basis": self.policy_basis.as_dict() if self.policy_basis else None,
            # None when no policy file changed; a change alone never adds a violation.
            "policy_changes": (
                {
                    "note": policy_changes_note(self),
                    "takes_effect": "after merge",
                    "approval": "governance team",
                    "blocks_merge": False,
                    "files": [change.as_dict() for change in self.policy_changes],
                }
                if self.policy_changes
                else None
            ),
            "spec_problems": self.problems,
            "base_spec_problems": self.base_problems,
        }


def policy_changes_note(report: ReviewReport) -> str:
    """What the report says above the list of changed policy files."""
    basis = report.policy_basis
    folder = f"`{basis.folder}/`" if basis is not None else "the policy folder"
    judged = basis.judged_by if basis is not None else "the base's policies"
    return (
        f"This pull request changes the policies in {folder}. It was judged by {judged}, not by "
        f"the changed ones: the changes take effect only after merge, and {APPROVAL}. "
        f"{NOT_BLOCKING}"
    )


def review(
    root: Path,
    base: str,
    *,
    engine: PolicyEngine | None = None,
    policies_dir: Path | None = None,
    governance_url: str | None = None,
    governance_token: str | None = None,
) -> ReviewReport:
    """Review the working tree under ``root`` against git ref ``base``.

    The changes are judged with the base's policies: ``policies_dir`` (default MESHLAKE_POLICIES_DIR
    or the shipped policies) as it is at ``base`` when it lies in the repository; ``engine`` judges
    instead when given. Raises ReviewUsageError when ``root`` is not a meshlake project in a git
    work tree, or ``base`` names no commit.
    """
    root = root.resolve()
    if not (root / ZONES).is_dir():
        raise ReviewUsageError(f"{root} is not a meshlake project (no {ZONES}/)")
    commit = resolve_ref(root, base)
    report = ReviewReport(base, commit)
    head_report = validate_mesh(root)
    # A bad agreement, or a cross-domain input no agreement covers, fails the review as a spec problem.
    found = [*head_report.problems, *head_report.agreement_problems]
    report.problems = [_problem(problem, root) for problem in found]
    with tempfile.TemporaryDirectory(prefix="meshlake-review-") as folder:
        policies = review_policies(
            root, base, commit, Path(folder), folder=policies_dir, engine=engine
        )
        report.policy_basis = policies.basis
        report.policy_changes = policies.changes
        report.policy_problems = policies.problems
        base_root = export_specs(root, commit, Path(folder) / "specs")
        base_mesh = _base_mesh(base_root, report)
        head = head_report.mesh if not head_report.problems else None
        if head is None:
            return report
        report.changes = compare(base_mesh, head)
        governance = _governance(governance_url, governance_token)
        report.consumers_from = "governance" if governance is not None else "specs"
        try:
            attach_consumers(report.changes, SpecConsumers(base_mesh), governance)
        finally:
            if governance is not None:
                governance.close()
        attach_agreements(report.changes, AgreementReaders(base_mesh, head))
    judge = policies.engine
    if judge is None:
        return report  # the policies could not be loaded: a violation already, nothing to judge by
    touched = sorted({change.product for change in report.changes})
    personal = set(judge.bundles["publication"].data.get("personal_classifications", []))
    zones = _ZonePolicies(judge, base_mesh, head, report)
    try:
        for ref in touched:
            if any(str(key) == ref for key in head.products):
                product = head.product(ref)
                report.suspects += _suspects(head, ref, personal)
                report.publication[ref] = judge.evaluate(
                    "publication",
                    publication_input(head, product),
                    policies=zones.of(product.zone.name),
                )
        report.review = _review_decision(judge, zones, report)
    except (PolicyError, PolicyInputError) as exc:
        # Fail closed: the base's policies cannot judge what this meshlake hands them.
        report.policy_problems.append(
            f"{policies.basis.judged_by} could not judge this change: {exc}"
        )
    return report


class _ZonePolicies:
    """The policies each zone's products are judged by: those its zone file declares at the base
    (a pull request must not loosen the rules it is judged by), or in the work tree for a zone the
    base does not have; a name the policies lack is a policy problem, and then all judge."""

    def __init__(
        self, judge: PolicyEngine, base: Mesh | None, head: Mesh, report: ReviewReport
    ) -> None:
        self.judge, self.base, self.head, self.report = judge, base, head, report
        self._chosen: dict[str | None, list[str]] = {}

    def of(self, zone: str | None) -> list[str]:
        if zone not in self._chosen:
            self._chosen[zone] = self._select(zone)
        return self._chosen[zone]

    def zone_of(self, ref: str) -> str | None:
        for mesh in (self.head, self.base):
            if mesh is not None:
                for key, product in mesh.products.items():
                    if str(key) == ref:
                        return product.zone.name
        return None

    def _select(self, zone: str | None) -> list[str]:
        known = self.judge.known_policies
        if self.base is not None and zone in self.base.zones:
            mesh = self.base
        elif zone in self.head.zones:
            mesh = self.head
        else:
            return known
        try:
            return select_policies(mesh.zones[zone].policies, known)
        except UnknownPolicyError as exc:
            where = "the base's" if mesh is self.base else "this pull request's"
            self.report.policy_problems.append(
                f"{where} zone file {ZONES / (str(zone) + '.yaml')}: {exc}; its products were "
                "judged by every policy"
            )
            return known


def _review_decision(judge: PolicyEngine, zones: _ZonePolicies, report: ReviewReport) -> Decision:
    """The review decision, the changes of each zone's products judged by that zone's policies."""
    groups: dict[str | None, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    for change in report.changes:
        groups.setdefault(zones.zone_of(change.product), ([], []))[0].append(change.as_dict())
    for suspect in report.suspects:
        ref = ".".join(suspect.column.split(".")[:2])
        groups.setdefault(zones.zone_of(ref), ([], []))[1].append(suspect.as_dict())
    if not groups:
        return judge.evaluate("review", {"changes": [], "suspected_personal": []})
    parts = [
        judge.evaluate(
            "review",
            {"changes": changes, "suspected_personal": suspects},
            policies=zones.of(zone),
        )
        for zone, (changes, suspects) in sorted(groups.items(), key=lambda item: str(item[0]))
    ]
    return merge_decisions("review", parts)


def _base_mesh(base_root: Path, report: ReviewReport) -> Mesh | None:
    if not (base_root / ZONES).is_dir():
        return None  # the base has no mesh yet: everything is added
    base_report = validate_mesh(base_root)
    report.base_problems = [_problem(problem, base_root) for problem in base_report.problems]
    return base_report.mesh if not base_report.problems else None


def _suspects(mesh: Mesh, ref: str, personal: set[str]) -> list[PersonalSuspect]:
    found = []
    for name, port in mesh.product(ref).ports.items():
        for prop in port.contract.columns:
            classification = (prop.classification or "").lower()
            if classification in personal:
                continue
            hit = looks_personal(prop)
            if hit is not None:
                found.append(
                    PersonalSuspect(f"{ref}.{name}.{prop.name}", hit[0], hit[1], classification)
                )
    return found


def _governance(url: str | None, token: str | None) -> GovernanceConsumers | None:
    if not url:
        return None
    client = GovernanceConsumers(url, token)
    if client.reachable():
        return client
    client.close()
    return None


def _problem(problem: Problem, root: Path) -> str:
    text = str(problem)
    return text.replace(str(root) + "/", "")
