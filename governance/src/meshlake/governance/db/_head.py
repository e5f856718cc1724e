"""The schema against the migrations' head: migrate once however many processes start, and tell
readiness whether the database is behind the code.

Several servers on one PostgreSQL database (workers of one ``serve``, replicas of a deployment) may
all start at once; Alembic alone would let each run the same migration, and all but one fail. A
session-level advisory lock makes them take turns: the first migrates, the others find the head
already reached. SQLite has a single writer and one process serving it, so it needs no lock.
"""

from __future__ import annotations

from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from meshlake.governance.db._engine import make_engine
from meshlake.governance.db._migrate import alembic_config, upgrade

# pg_advisory_lock's key for "migrating the governance schema" (any constant unique to this use).
MIGRATION_LOCK_KEY = 0x6D65_7368_6C61_6B01  # "meshlak" + 1


def upgrade_once(url: str) -> None:
    """Bring the database at ``url`` to head; on PostgreSQL one process at a time."""
    if not url.startswith("postgresql"):
        upgrade(url)
        return
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            try:
                upgrade(url)
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
                connection.commit()
    finally:
        engine.dispose()


@cache
def _heads() -> frozenset[str]:
    # The script folder is read once per process: it does not change while the process runs.
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def schema_behind(connection: Connection) -> str | None:
    """What is wrong with the schema of ``connection``'s database, or None when it is at head."""
    current = frozenset(MigrationContext.configure(connection).get_current_heads())
    heads = _heads()
    if current == heads:
        return None
    if not current:
        return "the database has no governance schema"
    return (
        f"the database schema is at {', '.join(sorted(current))}, not at the migrations' head "
        f"{', '.join(sorted(heads))}"
    )
