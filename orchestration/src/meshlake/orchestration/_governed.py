"""A governance service for a run: the configured one, or the embedded one on 127.0.0.1.

`meshlake materialize` and `meshlake run` publish only through governance. Without
MESHLAKE_GOVERNANCE_URL they start the embedded service for the length of the run, register the
mesh in its catalog (as `meshlake governance sync`) and hand the run settings that point at it.
Nothing goes through the process environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import SecretStr

from meshlake.platform import GovernanceClient, Platform, Settings


@contextmanager
def governed(settings: Settings) -> Iterator[Settings]:
    """Settings that point at a governance service whose catalog holds the mesh.

    The embedded service's admin token registers the catalog; the products then publish (and write
    their lineage) as their landing zone's service principal, each scoped to its zone's domains.
    """
    from meshlake.governance import sync_catalog

    embedded = None
    mesh = Platform(settings).mesh
    if settings.governance_url is None:
        from meshlake.governance import start_embedded, zone_service_tokens

        embedded = start_embedded(settings.state_home())
        tokens = zone_service_tokens(embedded.database_url, mesh)
        settings = settings.model_copy(
            update={
                "governance_url": embedded.url,
                "governance_token": SecretStr(embedded.token),
                "governance_tokens": {zone: SecretStr(token) for zone, token in tokens.items()},
            }
        )
    try:
        token = settings.governance_token.get_secret_value() if settings.governance_token else ""
        with GovernanceClient(str(settings.governance_url), token) as client:
            sync_catalog(client, mesh, settings.state_home())
        yield settings
    finally:
        if embedded is not None:
            embedded.stop()
