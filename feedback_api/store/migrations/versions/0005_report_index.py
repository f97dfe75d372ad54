"""Reports read ratings by time from one covering index.

The helpfulness report scans the ratings of a period (and the one before) grouped by page,
version or day. With only `created_at` indexed, each of those rows is a lookup in the table
(about 0.8 s for 160,000 rows of a million in bench/bench_review.py); with the columns it
reads in the index, it reads the index alone. It replaces the plain `created_at` index,
which is its prefix.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feedback") as batch:
        batch.drop_index("ix_feedback_created_at")
        batch.create_index(
            "ix_feedback_created_rating", ["created_at", "page", "version", "rating"]
        )


def downgrade() -> None:
    with op.batch_alter_table("feedback") as batch:
        batch.drop_index("ix_feedback_created_rating")
        batch.create_index("ix_feedback_created_at", ["created_at"])
