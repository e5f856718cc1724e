"""Webhooks: register receivers of notifications, and watch (or retry) their deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from meshlake.governance.api._webhook_models import (
    SUBSCRIBER_SCHEMA,
    DeliveryOut,
    WebhookCreatedOut,
    WebhookIn,
    WebhookOut,
)
from meshlake.governance.api.deps import CallerDep, SessionDep
from meshlake.governance.services import _webhooks

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

# Ids are database integers: anything larger is simply not there (and must not reach PostgreSQL).
WebhookId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post("", status_code=201, summary="Register a webhook; its signing secret is shown once")
def register_webhook(body: WebhookIn, session: SessionDep, caller: CallerDep) -> WebhookCreatedOut:
    row, secret = _webhooks.register(
        session,
        caller,
        subscriber=body.subscriber,
        url=body.url,
        events=body.events,
        description=body.description,
    )
    return WebhookCreatedOut(**WebhookOut.model_validate(row).model_dump(), secret=secret)


@router.get("", summary="The webhooks the caller manages (all of them for an admin)")
def list_webhooks(
    session: SessionDep,
    caller: CallerDep,
    subscriber: Annotated[
        str | None,
        Query(
            description="Only this subscriber's, e.g. domain:hr.",
            json_schema_extra=SUBSCRIBER_SCHEMA,
        ),
    ] = None,
) -> list[WebhookOut]:
    return [
        WebhookOut.model_validate(row) for row in _webhooks.visible(session, caller, subscriber)
    ]


@router.delete(
    "/{webhook_id}", status_code=204, summary="Delete a webhook; pending deliveries are cancelled"
)
def delete_webhook(webhook_id: WebhookId, session: SessionDep, caller: CallerDep) -> Response:
    _webhooks.delete(session, caller, webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", summary="A webhook's deliveries, newest first")
def list_deliveries(
    webhook_id: WebhookId,
    session: SessionDep,
    caller: CallerDep,
    status: Annotated[
        str | None, Query(description="pending, delivered, dead or cancelled.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    rows = _webhooks.deliveries(session, caller, webhook_id, status=status, limit=limit)
    return [DeliveryOut.model_validate(row) for row in rows]


@router.post(
    "/deliveries/{delivery_id}/retry",
    summary="Try a dead delivery again, with a new round of attempts (admin)",
)
def retry_delivery(delivery_id: WebhookId, session: SessionDep, caller: CallerDep) -> DeliveryOut:
    return DeliveryOut.model_validate(_webhooks.retry(session, caller, delivery_id))
