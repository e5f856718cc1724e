"""API models of webhooks (``/api/v1/webhooks``): subscriptions and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class WebhookIn(BaseModel):
    """A receiver to notify: for whom, where, and for which events."""

    subscriber: str = Field(
        min_length=1,
        max_length=300,
        description="'domain:<domain>' (registered by that domain's owner or an admin) or "
        "'principal:<name>' (by that principal itself or an admin).",
        examples=["domain:hr"],
    )
    url: str = Field(
        min_length=1,
        max_length=2000,
        description="The receiver: an http(s) URL; deliveries are POSTed to it as JSON.",
    )
    events: list[str] | None = Field(
        default=None,
        max_length=100,
        description="Glob patterns of the events to send (e.g. 'agreement.*'); all when left out.",
    )
    description: str | None = Field(default=None, max_length=1000)


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
