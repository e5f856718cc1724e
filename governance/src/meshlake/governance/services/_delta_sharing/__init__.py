"""The Delta Sharing server: active agreements served to their recipients over the open protocol.

A share is an agreement, its schema the providing domain, a table an output port. Every file a
share hands out comes from a per-agreement snapshot written with the agreement's columns, masks and
row scope applied (``_snapshots``), behind a signed, expiring URL served by the same service
(``_signing``); the snapshots are deleted when the agreement closes.
"""

from pathlib import Path

from meshlake.governance._errors import ConflictError
from meshlake.governance._settings import GovernanceSettings
from meshlake.governance.services._agreements import CLOSED_HOOKS
from meshlake.governance.services._delta_sharing._errors import (
    SharingRequestError as SharingRequestError,
)
from meshlake.governance.services._delta_sharing._names import PAGE_TOKEN as PAGE_TOKEN
from meshlake.governance.services._delta_sharing._names import RECIPIENT_KINDS as RECIPIENT_KINDS
from meshlake.governance.services._delta_sharing._names import page as page
from meshlake.governance.services._delta_sharing._names import table_name as table_name
from meshlake.governance.services._delta_sharing._recipients import (
    recipient_token as recipient_token,
)
from meshlake.governance.services._delta_sharing._server import FILES_PATH as FILES_PATH
from meshlake.governance.services._delta_sharing._server import SharingServer as SharingServer
from meshlake.governance.services._delta_sharing._shares import SharedTable as SharedTable
from meshlake.governance.services._delta_sharing._shares import schema_of as schema_of
from meshlake.governance.services._delta_sharing._shares import share as share
from meshlake.governance.services._delta_sharing._shares import shares as shares
from meshlake.governance.services._delta_sharing._shares import table as table
from meshlake.governance.services._delta_sharing._shares import tables as tables
from meshlake.governance.services._delta_sharing._signing import UrlSigner as UrlSigner
from meshlake.governance.services._delta_sharing._snapshots import Snapshots as Snapshots
from meshlake.governance.services._delta_sharing._snapshots import (
    drop_everywhere as drop_everywhere,
)
from meshlake.governance.services._delta_sharing._verdicts import forget_everywhere
from meshlake.platform import MeshlakeError


def sharing_server(settings: GovernanceSettings) -> SharingServer:
    """The server for ``settings``: its snapshot folder and URL key. Registers the hook that
    deletes an agreement's snapshots, and forgets that it was active, when it closes."""
    for hook in (forget_everywhere, drop_everywhere):
        if hook not in CLOSED_HOOKS:
            CLOSED_HOOKS.append(hook)
    secret = settings.sharing_url_secret
    signer = (
        UrlSigner(settings.sharing_url_ttl_seconds, secret.get_secret_value().encode())
        if secret is not None
        else UrlSigner(settings.sharing_url_ttl_seconds)
    )
    return SharingServer(Snapshots(lambda: _snapshot_dir(settings)), signer)


def _snapshot_dir(settings: GovernanceSettings) -> Path:
    try:
        return settings.resolved_snapshot_dir()
    except MeshlakeError as exc:
        raise ConflictError(
            f"the Delta Sharing server has no snapshot folder ({exc}); set "
            "MESHLAKE_SHARING_SNAPSHOT_DIR"
        ) from None
