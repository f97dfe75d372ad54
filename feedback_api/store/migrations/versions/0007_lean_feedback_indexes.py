"""Every submission writes fewer indexes: three that no query reads are dropped.

An insert writes one page of each index on `feedback` into the commit, and an fsynced commit
pays for every page (about 15 WAL frames for a one-row batch, where the table itself is
one). No query reads `page` or `version` alone (a page's ratings read
`ix_feedback_page_version_created`, whose prefix is `page`; reports read
`ix_feedback_created_rating`), nor `client_hash` alone (readers are counted from
`page_readers` and `ix_feedback_task_client`).

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

DROPPED = {"ix_feedback_page": "page", "ix_feedback_version": "version",
           "ix_feedback_client_hash": "client_hash"}  # fmt: skip


def upgrade() -> None:
    for name in DROPPED:
        op.drop_index(name, table_name="feedback")


def downgrade() -> None:
    for name, column in DROPPED.items():
        op.create_index(name, "feedback", [column])
