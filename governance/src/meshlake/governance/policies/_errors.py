"""Policy errors: a broken bundle names file and line; bad input names the field; a denial names the policy."""

from __future__ import annotations

from pathlib import Path

from meshlake.governance._errors import ForbiddenError, GovernanceError, InvalidRequestError


class PolicyError(GovernanceError):
    """Root of the policy errors."""


class PolicyLoadError(PolicyError):
    """A policy module (or the bundle's data or schemas) cannot be loaded."""

    def __init__(self, file: Path | str, line: int, column: int, message: str) -> None:
        self.file, self.line, self.column = str(file), line, column
        super().__init__(f"{file}:{line}:{column}: {message}")


class PolicyEvaluationError(PolicyError):
    """The interpreter failed while evaluating a decision (a bug in a policy, not in the input)."""


class PolicyInputError(InvalidRequestError):
    """The input does not match the decision's JSON Schema (422)."""


class PolicyDeniedError(ForbiddenError):
    """A deny rule matched (403); the message names the policy and what it said."""
