"""full-text index over search_documents (SQLite FTS5 / PostgreSQL tsvector + GIN)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:00:00.000000

SQLite: ``search_fts``, a contentless FTS5 table (``content=''``: the text lives only in
search_documents) over the document's name, description and body, plus ``facets``: one token per
filter value, so that the type/domain/classification/owner/tag filters are doclist intersections
inside FTS5 rather than row look-ups after it. Triggers on ``search_documents`` keep it in step
(the contentless 'delete' command takes the old values, which the triggers recompute).
Contentless rather than external-content because FTS5 reads its content table with virtual tables
disabled, and the tag tokens need ``json_each``. Token positions stay (``detail=full``): with
``detail=column`` bm25 scores every document 0.

Prefix indexes for 1 to 10 characters: for a prefix it has no index for, FTS5 merges the doclists
of every matching term up-front, whatever the LIMIT (``amount*`` over 100k datasets: ~4 ms, ``c*``
~40 ms); with one, a type-ahead query walks a single doclist lazily (~0.2 ms). The price is an
index about 75% larger and slower to build; longer partial words match few terms.

PostgreSQL: ``search_vector``, a stored generated ``tsvector`` (name A, description B, body C) with
a GIN index. It also holds the filter values as position-less lexemes (``k:<md5 of the kind>``,
``d:`` domain, ``c:`` classification, ``o:`` owner, ``t:`` each tag; built by the immutable
function ``search_facet_lexemes``): a filter is then one more term of the same GIN scan, not a
heap filter after it, and the colon keeps them apart from words (which are letters and digits).
They carry no weight, so ``ts_rank_cd`` ignores them.

Both databases split text on anything that is not a letter or a digit (``annual_salary`` is
``annual`` + ``salary``) and neither stems nor strips accents, so a query matches the same
documents on both.

Both: an index on ``(lower(name), ref)`` for exact-name and name-prefix look-ups (byte order, so a
prefix is a range).
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _facets(row: str) -> str:
    """SQL for the facet tokens of ``row`` (``new``/``old`` in a trigger, the table on upgrade).

    A token is a one-letter field prefix and the hex of the value's UTF-8 bytes, so every value is
    one unicode61 token whatever its characters; ``meshlake.governance.services._search`` builds
    the same tokens for the filters (keep the two in step).
    """
    return (
        f"'k' || hex({row}.kind)"
        f" || coalesce(' d' || hex({row}.domain), '')"
        f" || coalesce(' c' || hex({row}.classification), '')"
        f" || coalesce(' o' || hex({row}.owner), '')"
        f" || coalesce(' ' || (SELECT group_concat('t' || hex(value), ' ')"
        f" FROM json_each({row}.tags)), '')"
    )


_FTS_COLUMNS = "name, description, body, facets"


def _fts_values(row: str) -> str:
    return f"{row}.id, {row}.name, {row}.description, {row}.body, {_facets(row)}"


SQLITE_UPGRADE = [
    """CREATE VIRTUAL TABLE search_fts USING fts5(
        name, description, body, facets, content='',
        tokenize='unicode61 remove_diacritics 0', prefix='1 2 3 4 5 6 7 8 9 10'
    )""",
    f"""CREATE TRIGGER search_documents_fts_insert AFTER INSERT ON search_documents BEGIN
        INSERT INTO search_fts(rowid, {_FTS_COLUMNS}) VALUES ({_fts_values("new")});
    END""",
    f"""CREATE TRIGGER search_documents_fts_delete AFTER DELETE ON search_documents BEGIN
        INSERT INTO search_fts(search_fts, rowid, {_FTS_COLUMNS})
        VALUES ('delete', {_fts_values("old")});
    END""",
    f"""CREATE TRIGGER search_documents_fts_update AFTER UPDATE ON search_documents BEGIN
        INSERT INTO search_fts(search_fts, rowid, {_FTS_COLUMNS})
        VALUES ('delete', {_fts_values("old")});
        INSERT INTO search_fts(rowid, {_FTS_COLUMNS}) VALUES ({_fts_values("new")});
    END""",
    # Documents written before this revision.
    f"""INSERT INTO search_fts(rowid, {_FTS_COLUMNS})
        SELECT {_fts_values("search_documents")} FROM search_documents""",
    "CREATE INDEX ix_search_documents_name_key ON search_documents (lower(name), ref)",
]

SQLITE_DOWNGRADE = [
    "DROP INDEX IF EXISTS ix_search_documents_name_key",
    "DROP TRIGGER IF EXISTS search_documents_fts_update",
    "DROP TRIGGER IF EXISTS search_documents_fts_delete",
    "DROP TRIGGER IF EXISTS search_documents_fts_insert",
    "DROP TABLE IF EXISTS search_fts",
]


def _pg_words(column: str, weight: str) -> str:
    # Non-alphanumerics become spaces first: PostgreSQL's parser would otherwise keep
    # "hr.employees" whole (a host name) and split "sales-analytics" three ways.
    return (
        f"setweight(to_tsvector('simple'::regconfig,"
        f" regexp_replace({column}, '[^[:alnum:]]+', ' ', 'g')), '{weight}')"
    )


POSTGRESQL_UPGRADE = [
    # meshlake.governance.services._search builds the same lexemes for the filters.
    """CREATE FUNCTION search_facet_lexemes(
            kind text, domain text, classification text, owner text, tags json
        ) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT array_to_tsvector(array_remove(
            ARRAY['k:' || md5(kind), 'd:' || md5(domain), 'c:' || md5(classification),
                  'o:' || md5(owner)]
            || ARRAY(SELECT 't:' || md5(tag)
                     FROM json_array_elements_text(coalesce(tags, '[]'::json)) AS tag),
            NULL))
    $$""",
    f"""ALTER TABLE search_documents ADD COLUMN search_vector tsvector
        GENERATED ALWAYS AS (
            {_pg_words("name", "A")} || {_pg_words("description", "B")}
            || {_pg_words("body", "C")}
            || search_facet_lexemes(kind, domain, classification, owner, tags)
        ) STORED""",
    "CREATE INDEX ix_search_documents_search_vector ON search_documents USING gin (search_vector)",
    # COLLATE "C": byte order whatever the database's collation, so a prefix is a plain range.
    """CREATE INDEX ix_search_documents_name_key
        ON search_documents ((lower(name) COLLATE "C"), (ref COLLATE "C"))""",
]

POSTGRESQL_DOWNGRADE = [
    "DROP INDEX IF EXISTS ix_search_documents_name_key",
    "DROP INDEX IF EXISTS ix_search_documents_search_vector",
    "ALTER TABLE search_documents DROP COLUMN IF EXISTS search_vector",
    "DROP FUNCTION IF EXISTS search_facet_lexemes(text, text, text, text, json)",
]


def _statements(upgrade: bool) -> list[str]:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        return SQLITE_UPGRADE if upgrade else SQLITE_DOWNGRADE
    if dialect == "postgresql":
        return POSTGRESQL_UPGRADE if upgrade else POSTGRESQL_DOWNGRADE
    raise NotImplementedError(f"no full-text search index for the {dialect} dialect")


def _run(statements: list[str]) -> None:
    # exec_driver_sql: the statements hold colons (FTS5 column filters, POSIX classes) that
    # text() would read as bind parameters.
    connection = op.get_bind()
    for statement in statements:
        connection.exec_driver_sql(statement)


def upgrade() -> None:
    _run(_statements(upgrade=True))


def downgrade() -> None:
    _run(_statements(upgrade=False))
