"""A submission is acknowledged before it is routed to a review task: `routed` says whether
it has been.

The writer process commits a batch of submissions, answers them, and routes them in its next
transaction (`review/routing.py`), so the acknowledgement no longer waits for the routing's
statements. A submission stored with `routed` false and not yet routed when the writer
stopped (killed, power lost) is routed when a writer starts again; the partial index finds
those few rows without reading the table. Rows stored before this revision were routed when
they came: the column's default is true.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN on both stores: no copy of the table, however large.
    op.add_column(
        "feedback", sa.Column("routed", sa.Boolean(), server_default=sa.true(), nullable=False)
    )
    op.create_index(
        "ix_feedback_unrouted",
        "feedback",
        ["id"],
        sqlite_where=sa.text("NOT routed"),
        postgresql_where=sa.text("NOT routed"),
    )


def downgrade() -> None:
    op.drop_index("ix_feedback_unrouted", table_name="feedback")
    with op.batch_alter_table("feedback") as batch:
        batch.drop_column("routed")
