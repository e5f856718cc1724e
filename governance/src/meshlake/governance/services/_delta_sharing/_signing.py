"""Signed file URLs: the only credential a shared file's URL carries.

Recipients' clients fetch file URLs without their bearer token (the protocol hands out
pre-signed URLs), so each URL carries its expiry and an HMAC-SHA256 over the file's path and that
expiry. The signature travels as ``X-Amz-Signature`` because the official client looks for such a
key to recognise a pre-signed URL.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from meshlake.governance._errors import ForbiddenError

SIGNATURE = "X-Amz-Signature"
EXPIRES = "Expires"


@dataclass(frozen=True)
class UrlSigner:
    """Signs and checks ``(path, expiry)`` pairs with one secret key."""

    ttl_seconds: int = 900
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def signature(self, path: str, expires: int) -> str:
        message = f"{path}\n{expires}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def sign(self, base: str, path: str, now: datetime) -> tuple[str, int]:
        """The URL of ``path`` under ``base`` valid until ``now`` + ttl, and that expiry in ms."""
        expires = int(now.timestamp()) + self.ttl_seconds
        query = f"{EXPIRES}={expires}&{SIGNATURE}={self.signature(path, expires)}"
        return f"{base}/{quote(path)}?{query}", expires * 1000

    def check(self, path: str, expires: int, signature: str, now: datetime) -> None:
        """ForbiddenError unless ``signature`` is this key's for ``path`` and ``expires`` is ahead."""
        if not hmac.compare_digest(self.signature(path, expires).encode(), signature.encode()):
            raise ForbiddenError(
                "file URL: the signature does not match; ask the sharing server for the table's "
                "files again (POST .../query) instead of editing a URL"
            )
        if expires <= now.timestamp():
            raise ForbiddenError("file URL: it expired; query the table again for fresh file URLs")
