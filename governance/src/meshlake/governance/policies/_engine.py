"""Evaluate decisions: validate the input against its JSON Schema, query the decision's bundle."""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from jsonschema import Draft202012Validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from meshlake.governance.policies._bundle import DECISIONS, PolicyBundle, load_bundle
from meshlake.governance.policies._errors import PolicyInputError


def _shipped_policies() -> Path:
    """The wheel's copy of the policies (``_shipped`` beside this module), or in the workspace's
    editable install, ``governance/policies/`` beside ``src/``."""
    packaged = Path(__file__).resolve().parent / "_shipped"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[4] / "policies"


SHIPPED_POLICIES = _shipped_policies()


class PolicySettings(BaseSettings):
    """``MESHLAKE_POLICIES_DIR``: the policy folder to load instead of the shipped one.

    ``MESHLAKE_POLICY_GATE``: ``enforce`` (default) refuses a publication a deny rule matches;
    ``warn`` publishes it and records the denials with the version, for rolling a new policy out.
    """

    model_config = SettingsConfigDict(env_prefix="MESHLAKE_", extra="ignore")

    policies_dir: Path | None = None
    policy_gate: Literal["enforce", "warn"] = "enforce"

    def resolved_dir(self) -> Path:
        return self.policies_dir or SHIPPED_POLICIES


@dataclass(frozen=True)
class Reason:
    """One matched rule: which policy, whether it denies or warns, and its message."""

    policy: str
    severity: Literal["deny", "warn"]
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"policy": self.policy, "severity": self.severity, "message": self.message}


@dataclass(frozen=True)
class Decision:
    """The outcome of one decision: allowed unless a deny rule matched; warnings never deny.

    ``policies`` are the policies that judged (``decision.policy``: those the subject's zone
    declares), ``bundle`` the version of the policy bundle they came from, so a logged decision
    says by which rules it was taken."""

    decision: str
    reasons: list[Reason] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)
    bundle: str | None = None

    @property
    def allowed(self) -> bool:
        return not self.denials

    @property
    def denials(self) -> list[Reason]:
        return [reason for reason in self.reasons if reason.severity == "deny"]

    @property
    def warnings(self) -> list[Reason]:
        return [reason for reason in self.reasons if reason.severity == "warn"]


class PolicyEngine:
    """One bundle (one reused interpreter) per decision, loaded from a policy folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bundles: dict[str, PolicyBundle] = {
            decision: load_bundle(root, decision) for decision in DECISIONS
        }
        self._validators = {
            decision: Draft202012Validator(bundle.schema)
            for decision, bundle in self.bundles.items()
        }

    @property
    def known_policies(self) -> list[str]:
        """Every policy of the folder as ``decision.policy``."""
        return sorted(
            f"{name}.{policy}"
            for name, bundle in self.bundles.items()
            for policy in bundle.policies
        )

    def evaluate(
        self,
        decision: str,
        document: dict[str, Any],
        *,
        policies: Collection[str] | None = None,
    ) -> Decision:
        """The decision for ``document`` by ``policies`` (``decision.policy`` names, e.g. a zone's
        :func:`select_policies`; None: all of the decision's); PolicyInputError names the first
        field that is wrong.

        Every module of the bundle is evaluated (one compiled query) and the reasons of the
        policies outside ``policies`` are left out: a policy judges a subject or it does not."""
        bundle = self.bundles.get(decision)
        if bundle is None:
            raise PolicyInputError(f"decision: {decision!r} is not one of {', '.join(DECISIONS)}")
        self.validate(decision, document)
        judging = [
            policy
            for policy in bundle.policies
            if policies is None or f"{decision}.{policy}" in policies
        ]
        result = (bundle.decide(document) or {}) if judging else {}
        reasons = [
            Reason(policy, severity, message)
            for policy in sorted(result)
            if policy in judging and isinstance(result[policy], dict)
            for severity in ("deny", "warn")
            for message in sorted(result[policy].get(severity, []))
        ]
        return Decision(
            decision,
            reasons,
            policies=[f"{decision}.{policy}" for policy in judging],
            bundle=bundle.version,
        )

    def validate(self, decision: str, document: dict[str, Any]) -> None:
        errors = sorted(self._validators[decision].iter_errors(document), key=lambda e: e.path)
        if errors:
            first = errors[0]
            where = "".join(
                f"[{part}]" if isinstance(part, int) else f".{part}" for part in first.path
            )
            raise PolicyInputError(f"input{where}: {first.message} ({decision} input schema)")


@functools.cache
def _engine_for(root: Path) -> PolicyEngine:
    return PolicyEngine(root)


def default_engine() -> PolicyEngine:
    """The process's engine over MESHLAKE_POLICIES_DIR (or the shipped policies), loaded once."""
    return _engine_for(PolicySettings().resolved_dir().resolve())
