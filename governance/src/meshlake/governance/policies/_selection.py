"""Which policies judge a subject: the ones its landing zone declares (``policies:`` in the zone file).

A zone file names decisions (``publication``: every publication policy) or single policies
(``sharing.residency``); a zone that names none is judged by every policy of the folder. The
service checks the names when a zone is registered, ``meshlake zones plan/apply`` with the zone
file's line, and a decision fails closed on a name the loaded folder does not have (the folder
changed since the zone was registered): it denies rather than judge with fewer rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from meshlake.governance.policies._engine import Decision, Reason
from meshlake.governance.policies._errors import PolicyInputError


class UnknownPolicyError(PolicyInputError):
    """A zone names a policy (or decision) the policy folder does not have (422)."""

    def __init__(self, index: int, name: str, known: Sequence[str]) -> None:
        self.index, self.name = index, name
        decisions = sorted({policy.split(".")[0] for policy in known})
        super().__init__(
            f"policies[{index}]: no policy {name!r} in the policy folder; name a decision "
            f"({', '.join(decisions)}) or one of its policies ({', '.join(known)}), or leave "
            "policies out for all"
        )


def select_policies(declared: Sequence[str] | None, known: Iterable[str]) -> list[str]:
    """The policies (``decision.policy``) that ``declared`` names among ``known``: each name is a
    decision (all of its policies) or one policy; None names them all. Raises
    UnknownPolicyError for the first name that matches nothing."""
    every = sorted(set(known))
    if declared is None:
        return every
    chosen: set[str] = set()
    for index, wanted in enumerate(declared):
        matched = [policy for policy in every if wanted in (policy, policy.split(".")[0])]
        if not matched:
            raise UnknownPolicyError(index, wanted, every)
        chosen.update(matched)
    return sorted(chosen)


def merge_decisions(name: str, parts: Sequence[Decision]) -> Decision:
    """One decision of several taken on parts of a subject (each part by its zone's policies):
    every reason once, in order, and the union of the policies that judged."""
    reasons: list[Reason] = []
    for part in parts:
        reasons += [reason for reason in part.reasons if reason not in reasons]
    policies = sorted({policy for part in parts for policy in part.policies})
    bundle = next((part.bundle for part in parts if part.bundle), None)
    return Decision(name, reasons, policies=policies, bundle=bundle)
