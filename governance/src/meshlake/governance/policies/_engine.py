"""Evaluate decisions: validate the input against its JSON Schema, query the decision's bundle."""

from __future__ import annotations

import functools
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
    """The outcome of one decision: allowed unless a deny rule matched; warnings never deny."""

    decision: str
    reasons: list[Reason] = field(default_factory=list)

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

    def evaluate(self, decision: str, document: dict[str, Any]) -> Decision:
        """The decision for ``document``; PolicyInputError names the first field that is wrong."""
        bundle = self.bundles.get(decision)
        if bundle is None:
            raise PolicyInputError(f"decision: {decision!r} is not one of {', '.join(DECISIONS)}")
        self.validate(decision, document)
        result = bundle.decide(document) or {}
        reasons = [
            Reason(policy, severity, message)
            for policy in sorted(result)
            if isinstance(result[policy], dict)
            for severity in ("deny", "warn")
            for message in sorted(result[policy].get(severity, []))
        ]
        return Decision(decision, reasons)

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
