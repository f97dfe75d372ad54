"""The dashboard queue's facet index: counts per filter value read from one covering index.

The queue shows, for every filter, how many open tasks each value has. Without this index
each of those counts visits every open task's row; with it they read the index alone
(about 5x faster at 10,000 open tasks, bench/bench_dashboard.py).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = ["state", "priority", "category", "team", "version", "owner_id", "breached"]


def upgrade() -> None:
    op.create_index("ix_tasks_queue_facets", "tasks", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_tasks_queue_facets", table_name="tasks")
