"""Per-zone service principals for the embedded default: one token per data landing zone.

A governed run publishes each product with the token of its landing zone's service principal
(role ``zone_service``), so it can write only the domains that zone hosts and record lineage only
of their jobs, instead of holding the admin bootstrap token.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from meshlake.governance.db._engine import make_engine, session_factory
from meshlake.governance.db._tables import utcnow
from meshlake.governance.services import _access, _audit

if TYPE_CHECKING:
    from meshlake.platform import Mesh

ZONE_SERVICE_PREFIX = "zone-service-"


ZONE_TOKEN_LIFETIME = timedelta(days=30)
"""How long a zone's token works: one is issued per embedded start, so they must not pile up
valid for ever; a month covers any run and a long-lived `meshlake ui`."""


def zone_service_tokens(
    database: str | sessionmaker[Session],
    mesh: Mesh,
    *,
    issuer: str = "embedded",
    lifetime: timedelta = ZONE_TOKEN_LIFETIME,
) -> dict[str, str]:
    """A new token for each data landing zone of ``mesh``: ``{zone name: token}``.

    ``database`` is the governance database's URL (``EmbeddedService.database_url``) or a session
    factory on it; it must be migrated (``start_embedded`` and ``upgrade`` do that). Each zone gets
    its service principal (``servicePrincipal``, by default ``zone-service-<zone>``; created once) with the grant
    ``zone_service:<zone>``; every call issues fresh tokens (only their hashes are stored) and
    audits them as ``issuer``; each expires after ``lifetime``. The zones need not be registered yet: a grant's domains are read
    from the catalog at each request, so call it before or after ``sync_catalog``.

    Example, in the embedded default::

        embedded = start_embedded(state_home)
        with GovernanceClient(embedded.url, embedded.token) as admin:
            sync_catalog(admin, mesh, state_home)
        tokens = zone_service_tokens(embedded.database_url, mesh)
        token_for_product = tokens[product.zone.name]
    """
    zones = sorted(zone.name for zone in mesh.zones.values() if zone.kind == "data")
    principals = {zone: mesh.zones[zone].principal for zone in zones}
    engine = None
    if isinstance(database, str):
        engine = make_engine(database)
        sessions = session_factory(engine)
    else:
        sessions = database
    tokens: dict[str, str] = {}
    try:
        with sessions() as session, session.begin():
            for zone in zones:
                name = principals[zone]
                principal = _access.ensure_principal(
                    session, name, "service", [("zone_service", zone)]
                )
                tokens[zone] = _access.issue_token(
                    session,
                    principal,
                    f"{issuer}: the service of landing zone {zone}",
                    expires_at=utcnow() + lifetime,
                )
                _audit.record(
                    session,
                    principal=issuer,
                    action="principal.token_issued",
                    target=name,
                    after={"kind": "service", "grants": [{"role": "zone_service", "zone": zone}]},
                )
    finally:
        if engine is not None:
            engine.dispose()
    return tokens
