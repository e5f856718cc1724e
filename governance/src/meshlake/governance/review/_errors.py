"""Review errors: a usage error (bad ref, not a git repository) exits 2."""

from __future__ import annotations

from meshlake.governance._errors import GovernanceError


class ReviewUsageError(GovernanceError):
    """The review cannot run as asked: not a git repository, an unknown ref, no project."""
