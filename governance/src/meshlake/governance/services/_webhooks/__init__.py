"""Webhooks: subscriptions, a transactional outbox, and a deliverer that signs and retries.

Notifiers call :func:`notify` inside their own transaction; a :class:`Deliverer` (started with the
app) sends the rows once they are committed. Receivers check :func:`verify_signature`.
"""

from meshlake.governance.services._webhooks._backoff import Backoff as Backoff
from meshlake.governance.services._webhooks._deliverer import Deliverer as Deliverer
from meshlake.governance.services._webhooks._deliverer import (
    DeliverySettings as DeliverySettings,
)
from meshlake.governance.services._webhooks._lifespan import lifespan as lifespan
from meshlake.governance.services._webhooks._outbox import STATUSES as STATUSES
from meshlake.governance.services._webhooks._outbox import deliveries as deliveries
from meshlake.governance.services._webhooks._outbox import notify as notify
from meshlake.governance.services._webhooks._outbox import retry as retry
from meshlake.governance.services._webhooks._signing import sign as sign
from meshlake.governance.services._webhooks._signing import verify_signature as verify_signature
from meshlake.governance.services._webhooks._subscriptions import Subscriber as Subscriber
from meshlake.governance.services._webhooks._subscriptions import delete as delete
from meshlake.governance.services._webhooks._subscriptions import register as register
from meshlake.governance.services._webhooks._subscriptions import visible as visible
