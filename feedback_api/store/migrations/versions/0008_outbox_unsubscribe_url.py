"""The outbox keeps each reader's unsubscribe link in a column of its own.

Before, the link was written into the body and read back out of it for the
`List-Unsubscribe` header; now the body is what we wrote, and the footer with the link is
added when the mail is sent. Rows still waiting to be sent are converted.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The footer as 0007 and earlier wrote it into the body.
FOOTER = "\n\nYou get this because you asked to be told about this page. To get no more "
LINK_AFTER = "mail from us: "


def upgrade() -> None:
    op.add_column("outbox", sa.Column("unsubscribe_url", sa.String(600), nullable=True))
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.Integer),
        sa.column("body", sa.Text),
        sa.column("unsubscribe_hash", sa.String),
        sa.column("unsubscribe_url", sa.String),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(outbox.c.id, outbox.c.body).where(outbox.c.unsubscribe_hash.is_not(None))
    ).all()
    for row_id, body in rows:
        head, found, footer = body.rpartition(FOOTER)
        if not found:
            continue
        link = footer.rpartition(LINK_AFTER)[2].strip()
        conn.execute(
            outbox.update().where(outbox.c.id == row_id).values(body=head, unsubscribe_url=link)
        )


def downgrade() -> None:
    outbox = sa.table(
        "outbox",
        sa.column("body", sa.Text),
        sa.column("unsubscribe_url", sa.String),
    )
    op.execute(
        outbox.update()
        .where(outbox.c.unsubscribe_url.is_not(None))
        .values(body=outbox.c.body + FOOTER + LINK_AFTER + outbox.c.unsubscribe_url + "\n")
    )
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("unsubscribe_url")
