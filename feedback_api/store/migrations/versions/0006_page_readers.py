"""Intake counts readers from one row per reader, and a task's readers from one index.

The priority rules ask how many distinct readers reported a page in the last 24 hours. A
count(distinct client_hash) over the page's submissions grew with them (about 0.8 ms per
batch on a busy page, under the writers' lock); `page_readers` keeps each reader's latest
submission that asked for work, so the count reads at most as many rows as the rules'
threshold. It is filled here from the submissions already stored, so counts carry over.

A batch that joins a task asks which of its readers the task already has: the index on
`(task_id, client_hash)` answers from the index alone. It replaces the plain `task_id`
index, which is its prefix.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)

# Feedback that asks for work, as the count before this revision read it.
BACKFILL = """
INSERT INTO page_readers (page, version, client_hash, last_at)
SELECT page, version, client_hash, max(created_at) FROM feedback
WHERE client_hash IS NOT NULL
  AND (rating = 0 OR comment IS NOT NULL OR selection IS NOT NULL)
GROUP BY page, version, client_hash
"""


def upgrade() -> None:
    op.create_table(
        "page_readers",
        sa.Column("page", sa.String(512), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("client_hash", sa.String(32), nullable=False),
        sa.Column("last_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("page", "version", "client_hash", name="pk_page_readers"),
    )
    op.create_index(
        "ix_page_readers_page_version_last_at", "page_readers", ["page", "version", "last_at"]
    )
    op.execute(BACKFILL)
    with op.batch_alter_table("feedback") as batch:
        batch.drop_index("ix_feedback_task_id")
        batch.create_index("ix_feedback_task_client", ["task_id", "client_hash"])


def downgrade() -> None:
    with op.batch_alter_table("feedback") as batch:
        batch.drop_index("ix_feedback_task_client")
        batch.create_index("ix_feedback_task_id", ["task_id"])
    op.drop_index("ix_page_readers_page_version_last_at", table_name="page_readers")
    op.drop_table("page_readers")
