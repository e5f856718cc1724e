"""API models of the policy endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class EvaluationIn(BaseModel):
    decision: Literal["publication", "review", "access"]
    input: dict[str, Any] = Field(
        description="The decision's input; its JSON Schema is GET /api/v1/policies/{decision}/schema."
    )
    subject: str | None = Field(
        default=None, max_length=500, description="What is decided on, for the log (e.g. a ref)."
    )
    zone: str | None = Field(
        default=None,
        max_length=100,
        description="Judge by the policies this landing zone declares (default: every policy).",
    )


class ReasonOut(BaseModel):
    policy: str
    severity: Literal["deny", "warn"]
    message: str


class EvaluationOut(BaseModel):
    id: int = Field(description="The decision's id in the decision log.")
    decision: str
    allowed: bool
    reasons: list[ReasonOut]
    policies: list[str] = Field(default=[], description="The policies that judged it.")
    bundle: str | None = Field(default=None, description="The version of their policy bundle.")


class DecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    decision: str
    subject: str | None
    principal: str | None
    allowed: bool
    reasons: list[ReasonOut]
    input: dict[str, Any]
    run_id: str | None = Field(default=None, description="A publication decision's run.")
    gate: str | None = Field(default=None, description="enforce or warn, when it was taken.")
    commit_allowed: bool | None = Field(
        default=None, description="Whether the platform was let commit the staged version."
    )
    staged: dict[str, Any] | None = Field(
        default=None, description="The staged facts it was taken on (ports, schema, inputs)."
    )
    policies: list[str] | None = Field(
        default=None,
        description="The policies that judged it (decision.policy: those of the subject's zone).",
    )
    bundle: str | None = Field(default=None, description="The version of their policy bundle.")


class PolicySetOut(BaseModel):
    decision: str
    policies: list[str]
