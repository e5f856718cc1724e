"""The deliverer's life inside the app: started when the server starts, stopped when it stops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from meshlake.governance._settings import GovernanceSettings
from meshlake.governance.services._webhooks._deliverer import Deliverer, DeliverySettings


def lifespan(settings: GovernanceSettings) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """A FastAPI lifespan running a :class:`Deliverer` over ``app.state.sessions``, exposed as
    ``app.state.webhook_deliverer``."""
    delivery = DeliverySettings.from_settings(settings)

    @asynccontextmanager
    async def run(app: Any) -> AsyncIterator[None]:
        deliverer = Deliverer(app.state.sessions, delivery)
        app.state.webhook_deliverer = deliverer
        deliverer.start()
        try:
            yield
        finally:
            # Blocking (in-flight sends finish); off the event loop so shutdown stays responsive.
            await asyncio.to_thread(deliverer.stop)

    return run
