"""API models of webhooks (``/api/v1/webhooks``): subscriptions and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from meshlake.governance.services._webhooks._subscriptions import (
    EVENT_PATTERN,
    SUBSCRIBER_PATTERN,
    TEXT_PATTERN,
    URL_PATTERN,
)

# The patterns are stated, not enforced by pydantic: its regex engine reads them differently
# (``$``, ``\s``) from Python's, which the service checks them with.
SUBSCRIBER_SCHEMA: dict[str, Any] = {"pattern": SUBSCRIBER_PATTERN}


class WebhookIn(BaseModel):
    """A receiver to notify: for whom, where, and for which events."""

    subscriber: str = Field(
        min_length=1,
        max_length=300,
        description="'domain:<domain>' (registered by that domain's owner or an admin) or "
        "'principal:<name>' (by that principal itself or an admin).",
        examples=["domain:hr"],
        json_schema_extra=SUBSCRIBER_SCHEMA,
    )
    url: str = Field(
        min_length=1,
        max_length=2000,
        description="The receiver: an http(s) URL (a host name or IPv4 address, no "
        "credentials); deliveries are POSTed to it as JSON.",
        json_schema_extra={"pattern": URL_PATTERN},
    )
    events: list[str] | None = Field(
        default=None,
        max_length=100,
        description="Glob patterns of the events to send (e.g. 'agreement.*'); all when left out.",
        # At least one (an empty list would send nothing); the service names a bad one.
        json_schema_extra={"minItems": 1, "items": {"type": "string", "pattern": EVENT_PATTERN}},
    )
    description: str | None = Field(
        default=None, max_length=1000, json_schema_extra={"pattern": TEXT_PATTERN}
    )


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    subscriber: str
    url: str
    events: list[str]
    description: str | None
    created_by: str
    created_at: datetime


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(
        description="Shown once: the key of the X-Meshlake-Signature HMAC; keep it with the "
        "receiver. It cannot be read again (delete and register to get a new one)."
    )


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    webhook_id: int = Field(validation_alias="subscription_id")
    event_id: str = Field(description="The envelope id, sent as X-Meshlake-Delivery.")
    event: str
    status: str = Field(description="pending, delivered, dead (gave up) or cancelled.")
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="When it is tried next (pending only).")
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    history: list[dict[str, Any]] = Field(
        description="One entry per attempt: at, status_code, error, duration_ms, outcome, and "
        "retry_in (seconds) after a failure."
    )
