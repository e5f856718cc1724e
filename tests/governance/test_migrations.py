"""Migrations upgrade and downgrade cleanly on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from meshlake.governance import downgrade, upgrade
from meshlake.governance.db._engine import make_engine
from meshlake.governance.db._migrate import current_tables

pytestmark = pytest.mark.integration

CORE_TABLES = {
    "zones",
    "domains",
    "products",
    "datasets",
    "columns",
    "dataset_versions",
    "principals",
    "api_tokens",
    "audit_log",
    "search_documents",
    "lineage_jobs",
    "lineage_column_edges",
}


def test_upgrade_downgrade_and_upgrade_again(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(database_url)
        assert current_tables(engine) >= CORE_TABLES
        downgrade(database_url, "base")
        assert current_tables(engine) - {"alembic_version"} == set()
        upgrade(database_url)
        assert current_tables(engine) >= CORE_TABLES
    finally:
        engine.dispose()
