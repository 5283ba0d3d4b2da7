"""full-text search: FTS5 tables on SQLite, tsvector tables on PostgreSQL, kept in sync by triggers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Outside the models on purpose: showbiz.search.is_search_object names these tables for schema
comparisons. A later SQLite batch migration that recreates `episode` or `article` drops their
triggers and must create them again (copy _sqlite_triggers); renaming a searched column means
new triggers on both databases.
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# table -> searched column: weight (A is the most important; bm25 weights follow this order)
SEARCHED = {"episode": {"title": "A", "summary": "B", "notes_md": "C"},
            "article": {"title": "A", "site_name": "B", "author_name": "B"}}
CONFIG = "showbiz_search"  # PostgreSQL: the `simple` configuration, accents removed


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_upgrade()
        return
    for name, columns in SEARCHED.items():
        op.execute(f"CREATE VIRTUAL TABLE {name}_fts USING fts5({', '.join(columns)}, "
                   f"content='{name}', content_rowid='id', "
                   "tokenize='unicode61 remove_diacritics 2')")
        for statement in _sqlite_triggers(name, tuple(columns)):
            op.execute(statement)
        op.execute(f"INSERT INTO {name}_fts({name}_fts) VALUES ('rebuild')")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in SEARCHED:
            op.execute(f"DROP TRIGGER {name}_search_sync ON {name}")
            op.execute(f"DROP FUNCTION {name}_search_sync()")
            op.execute(f"DROP TABLE {name}_search")
        op.execute(f"DROP TEXT SEARCH CONFIGURATION {CONFIG}")
        # The unaccent extension stays: it may have been there before, and it is harmless.
        return
    for name in SEARCHED:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER {name}_fts_{event}")
        op.execute(f"DROP TABLE {name}_fts")


def _postgresql_upgrade():
    # Accents are ignored as on SQLite: unaccent is a trusted extension (PostgreSQL 13+), so
    # the database's owner may create it; Debian's postgresql package ships it.
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute(f"CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = pg_catalog.simple)")
    op.execute(f"ALTER TEXT SEARCH CONFIGURATION {CONFIG} ALTER MAPPING FOR "
               "word, numword, hword, hword_part, hword_numpart WITH unaccent, simple")
    for name, columns in SEARCHED.items():
        # Stored vectors, not expression indexes: ranking reads them instead of parsing every
        # matching row's text again (10x slower on common words). MAIN storage keeps them in
        # the row, not in TOAST, so reading thousands of them stays cheap.
        # No parallel scans: starting workers costs more than a search of these tables takes.
        op.execute(f"CREATE TABLE {name}_search (id integer PRIMARY KEY "
                   f"REFERENCES {name} (id) ON DELETE CASCADE, document tsvector NOT NULL) "
                   "WITH (parallel_workers = 0)")
        op.execute(f"ALTER TABLE {name}_search ALTER COLUMN document SET STORAGE MAIN")
        op.execute(f"CREATE INDEX ix_{name}_search ON {name}_search USING gin (document)")
        op.execute(f"""CREATE FUNCTION {name}_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO {name}_search (id, document) VALUES (NEW.id, {_document(name, "NEW.")})
                ON CONFLICT (id) DO UPDATE SET document = excluded.document;
                RETURN NULL;
            END $$""")
        op.execute(f"CREATE TRIGGER {name}_search_sync AFTER INSERT OR UPDATE OF "
                   f"{', '.join(columns)} ON {name} "
                   f"FOR EACH ROW EXECUTE FUNCTION {name}_search_sync()")
        op.execute(f"INSERT INTO {name}_search (id, document) "
                   f"SELECT id, {_document(name)} FROM {name}")


def _document(name: str, row: str = "") -> str:
    return " || ".join(f"setweight(to_tsvector('{CONFIG}', {row}{column}), '{weight}')"
                       for column, weight in SEARCHED[name].items())


def _sqlite_triggers(name: str, columns: tuple[str, ...]) -> list[str]:
    """The external-content triggers of the SQLite FTS5 documentation (section 4.4.3)."""
    cols = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    insert = f"INSERT INTO {name}_fts(rowid, {cols}) VALUES (new.id, {new});"
    delete = (f"INSERT INTO {name}_fts({name}_fts, rowid, {cols}) "
              f"VALUES ('delete', old.id, {old});")
    # UPDATE OF: publishing, feed rendering or the version counter leave the index alone.
    return [f"CREATE TRIGGER {name}_fts_insert AFTER INSERT ON {name} BEGIN {insert} END",
            f"CREATE TRIGGER {name}_fts_delete AFTER DELETE ON {name} BEGIN {delete} END",
            f"CREATE TRIGGER {name}_fts_update AFTER UPDATE OF {cols} ON {name} "
            f"BEGIN {delete} {insert} END"]
