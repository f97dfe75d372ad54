"""Readers' addresses: confirmed before the first mail, suppressed for good, capped per day.

`mail_addresses` holds, per address, its keyed hash (HMAC-SHA256 of the lower-cased address
under the app secret; the address itself is not kept), the confirmation link's token hash,
when it was confirmed, and when it was suppressed by unsubscribing.

`outbox.address_hash` ties each reader's mail to that hash, so the cap per address and
unsubscribing still work after the address is deleted; `outbox.held` keeps a mail back
until its address is confirmed. Mail queued before this revision has no hash: the code
computes it from the address where it needs one (the migration has no secret).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mail_addresses",
        sa.Column("address_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("confirm_hash", sa.String(64), nullable=True),
        sa.Column("confirm_sent_at", TZ, nullable=True),
        sa.Column("confirmed_at", TZ, nullable=True),
        sa.Column("suppressed_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("address_hash", name="pk_mail_addresses"),
        sa.UniqueConstraint("confirm_hash", name="uq_mail_addresses_confirm_hash"),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("address_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("held", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index("ix_outbox_address_hash_created_at", ["address_hash", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_address_hash_created_at")
        batch.drop_column("held")
        batch.drop_column("address_hash")
    op.drop_table("mail_addresses")
