"""The governance service's errors; the API maps each kind to its HTTP status in one place."""

from __future__ import annotations

from meshlake.platform import MeshlakeError


class GovernanceError(MeshlakeError):
    """Root of the governance service's errors."""

    audited = False
    """True once the service recorded this refusal in the audit log with its own detail, so the
    app-wide refusal entry is not written a second time."""


class NotFoundError(GovernanceError):
    """The thing asked for does not exist (404)."""


class ConflictError(GovernanceError):
    """The request contradicts what is stored (409)."""


class InvalidRequestError(GovernanceError):
    """The request is well-formed JSON but makes no sense (422)."""


class UnauthenticatedError(GovernanceError):
    """No valid bearer token (401)."""


class ForbiddenError(GovernanceError):
    """The principal is known but may not do this (403)."""


class PayloadTooLargeError(GovernanceError):
    """The request body is over the endpoint's size limit (413)."""
