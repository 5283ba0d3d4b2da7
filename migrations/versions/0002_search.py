"""full-text search: FTS5 tables and triggers on SQLite, GIN expression indexes on PostgreSQL

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

The PostgreSQL expressions must stay identical to showbiz/search.py's, or the planner will not
use the indexes. On SQLite, a batch migration that recreates `episode` or `article` drops their
triggers: such a migration must create them again (copy _sqlite_triggers).
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# table -> the columns searched, in index order (search.py's bm25 weights follow this order)
SEARCHED = {"episode": ("title", "summary", "notes_md"),
            "article": ("title", "site_name", "author_name")}
WEIGHTS = {"episode": ("A", "B", "C"), "article": ("A", "B", "B")}


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name, columns in SEARCHED.items():
            op.execute(f"CREATE INDEX ix_{name}_search ON {name} USING gin (({_tsvector(name)}))")
        return
    for name, columns in SEARCHED.items():
        op.execute(f"CREATE VIRTUAL TABLE {name}_fts USING fts5({', '.join(columns)}, "
                   f"content='{name}', content_rowid='id', "
                   "tokenize='unicode61 remove_diacritics 2')")
        for statement in _sqlite_triggers(name, columns):
            op.execute(statement)
        op.execute(f"INSERT INTO {name}_fts({name}_fts) VALUES ('rebuild')")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in SEARCHED:
            op.execute(f"DROP INDEX ix_{name}_search")
        return
    for name in SEARCHED:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER {name}_fts_{event}")
        op.execute(f"DROP TABLE {name}_fts")


def _tsvector(name: str) -> str:
    return " || ".join(f"setweight(to_tsvector('simple'::regconfig, {c}), '{w}')"
                       for c, w in zip(SEARCHED[name], WEIGHTS[name]))


def _sqlite_triggers(name: str, columns: tuple[str, ...]) -> list[str]:
    """The external-content triggers of the FTS5 documentation (section 4.4.3)."""
    cols = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    insert = f"INSERT INTO {name}_fts(rowid, {cols}) VALUES (new.id, {new});"
    delete = (f"INSERT INTO {name}_fts({name}_fts, rowid, {cols}) "
              f"VALUES ('delete', old.id, {old});")
    # UPDATE OF: publishing or bumping the version counter does not touch the index.
    return [f"CREATE TRIGGER {name}_fts_insert AFTER INSERT ON {name} BEGIN {insert} END",
            f"CREATE TRIGGER {name}_fts_delete AFTER DELETE ON {name} BEGIN {delete} END",
            f"CREATE TRIGGER {name}_fts_update AFTER UPDATE OF {cols} ON {name} "
            f"BEGIN {delete} {insert} END"]
