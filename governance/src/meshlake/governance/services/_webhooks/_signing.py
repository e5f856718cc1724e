"""Signing of deliveries: HMAC-SHA256 over ``timestamp + "." + body``, checked with a time window.

The timestamp is inside the signed text so that a captured request cannot be replayed later with a
fresh timestamp; receivers refuse timestamps outside their tolerance.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_PREFIX = "sha256="
DEFAULT_TOLERANCE = 300.0


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Meshlake-Signature`` header value of ``body`` sent at ``timestamp`` (Unix seconds)."""
    message = timestamp.encode() + b"." + body
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes | str,
    header: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """Whether ``header`` (X-Meshlake-Signature) signs ``body`` at ``timestamp`` (X-Meshlake-Timestamp)
    with ``secret``, and the timestamp is within ``tolerance`` seconds of ``now`` (default: the clock).

    Pass the raw request body, byte for byte: a re-serialized JSON document does not verify.
    """
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance:
        return False
    raw = body.encode() if isinstance(body, str) else body
    return hmac.compare_digest(sign(secret, str(sent_at), raw), header.strip())
