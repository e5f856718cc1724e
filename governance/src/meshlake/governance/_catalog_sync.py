"""What `meshlake governance sync` and a governed `meshlake run` register before anything runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from meshlake.governance._glossary_file import sync_glossary

if TYPE_CHECKING:
    from meshlake.platform import Mesh
    from meshlake.platform._governance import GovernanceClient


def sync_catalog(
    client: GovernanceClient, mesh: Mesh, state_home: Path
) -> tuple[list[str], list[str]]:
    """Register the mesh's zones, domains and products, then its glossary; the product refs and
    the term names. Products go first: glossary terms link their columns."""
    products = client.sync(mesh, state_home)
    return products, sync_glossary(client, mesh.root)
