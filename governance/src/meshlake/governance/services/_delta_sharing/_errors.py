"""The sharing server's own refusal: a request the protocol calls invalid (HTTP 400)."""

from __future__ import annotations

from meshlake.governance._errors import GovernanceError


class SharingRequestError(GovernanceError):
    """A parameter the protocol refuses (a version past the published one, a table without a
    change data feed, both version and timestamp): 400, the protocol's status for it."""
