"""Why a governed query was refused; the HTTP layer maps each kind through its governance base."""

from __future__ import annotations

from meshlake.governance._errors import ForbiddenError, GovernanceError, InvalidRequestError


class QueryRefused(GovernanceError):
    """Root of every refusal of a governed query; catch this to refuse whatever the reason."""


class StatementRefused(QueryRefused, InvalidRequestError):
    """The SQL is malformed or uses a statement, clause or function outside the allowlist (422)."""


class TableRefused(QueryRefused, ForbiddenError):
    """The SQL reaches a table (or column) the grants do not cover (403)."""


class LimitExceeded(QueryRefused, InvalidRequestError):
    """The query ran past its time or memory limit and was stopped (422)."""
