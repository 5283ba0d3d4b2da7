"""show notes indexed in their order: an episode's notes come out of the index already sorted

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

The feed reads 10,000 notes for 1,000 episodes by episode and position; with the episode
alone indexed, SQLite sorted each episode's notes in a temporary B-tree (2 ms of a 1,000-item
feed's read). The composite index also serves every lookup the single-column one did.
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_show_note_episode_position", "show_note", ["episode_id", "position"])
    op.drop_index("ix_show_note_episode_id", table_name="show_note")


def downgrade():
    op.create_index("ix_show_note_episode_id", "show_note", ["episode_id"])
    op.drop_index("ix_show_note_episode_position", table_name="show_note")
