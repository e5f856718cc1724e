"""meshlake-governance: the central governance service (catalog, search, lineage, access, audit).

A FastAPI service over SQLite (embedded default) or PostgreSQL; it reads Delta with delta-rs and
DuckDB and never imports pyspark. The platform reaches it only over HTTP.
"""

from meshlake.governance._catalog_sync import sync_catalog as sync_catalog
from meshlake.governance._embedded import EmbeddedService as EmbeddedService
from meshlake.governance._embedded import RunningServer as RunningServer
from meshlake.governance._embedded import serve_in_thread as serve_in_thread
from meshlake.governance._embedded import start_embedded as start_embedded
from meshlake.governance._errors import GovernanceError as GovernanceError
from meshlake.governance._settings import GovernanceSettings as GovernanceSettings
from meshlake.governance._zone_services import zone_service_tokens as zone_service_tokens
from meshlake.governance.api._app import create_app as create_app
from meshlake.governance.db._migrate import downgrade as downgrade
from meshlake.governance.db._migrate import upgrade as upgrade
from meshlake.governance.services._webhooks import verify_signature as verify_signature
