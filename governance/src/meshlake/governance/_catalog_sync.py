"""What `meshlake governance sync` and a governed `meshlake run` register before anything runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from meshlake.governance._agreement_sync import SyncedAgreement, sync_agreements
from meshlake.governance._glossary_file import sync_glossary

if TYPE_CHECKING:
    from meshlake.platform import GovernanceClient, Mesh


class CatalogSync(NamedTuple):
    products: list[str]
    terms: list[str]
    agreements: list[SyncedAgreement]


def sync_catalog(client: GovernanceClient, mesh: Mesh, state_home: Path) -> CatalogSync:
    """Register the mesh's zones, domains and products, then its glossary, then its sharing
    agreements. Products go first: glossary terms link their columns, agreements their ports."""
    products = client.sync(mesh, state_home)
    terms = sync_glossary(client, mesh.root)
    return CatalogSync(products, terms, sync_agreements(client, mesh))
