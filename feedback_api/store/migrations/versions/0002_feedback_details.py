"""Feedback details: reasons, selection, consented e-mail, locale, client hash, amend token.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feedback") as batch:
        batch.add_column(sa.Column("reasons", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("selection", sa.Text(), nullable=True))
        batch.add_column(sa.Column("anchor", sa.String(200), nullable=True))
        batch.add_column(sa.Column("email", sa.String(320), nullable=True))
        batch.add_column(
            sa.Column("notify", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("locale", sa.String(35), nullable=True))
        batch.add_column(sa.Column("client_hash", sa.String(32), nullable=True))
        batch.add_column(sa.Column("amend_token_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("amended_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_feedback_client_hash", ["client_hash"])


def downgrade() -> None:
    with op.batch_alter_table("feedback") as batch:
        batch.drop_index("ix_feedback_client_hash")
        for name in (
            "amended_at", "amend_token_hash", "client_hash", "locale", "notify", "email",
            "anchor", "selection", "reasons",
        ):  # fmt: skip
            batch.drop_column(name)
