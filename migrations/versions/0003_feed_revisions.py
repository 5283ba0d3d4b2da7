"""feed revisions: stored feeds index their items, so episodes no longer keep rendered XML

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

show.feed_rev moves on with every change to a show's feed, so an older rebuild never
overwrites a newer one. episode.feed_item is gone: a rebuild reuses unchanged items from the
last stored feed (showbiz.feedstore). Both are plain ALTER TABLE statements (SQLite 3.35+), so
episode is not recreated and the search triggers of 0002 stay in place.
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("show", sa.Column("feed_rev", sa.Integer(), nullable=False,
                                    server_default="0"))
    op.drop_column("episode", "feed_item")


def downgrade():
    op.add_column("episode", sa.Column("feed_item", sa.Text(), nullable=True))
    op.drop_column("show", "feed_rev")
