"""Sessions and API tokens can be ended: a per-user session epoch, and token expiry.

`users.session_epoch` is written into every dashboard session at sign-in; signing out, a
new password, deactivation or `users end-sessions` raise it, and a session of an older epoch
is refused, although its signed cookie is still intact.

`api_tokens.expires_at`: a token is refused after it. Tokens made before this revision had no
end; they get one 90 days after the upgrade (the default lifetime of a new token), so that
none lasts for ever and none stops working without warning.

Revision ID: 0009
Revises: 0008
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
LEGACY_TOKEN_DAYS = 90


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", TZ, nullable=True))
    tokens = sa.table("api_tokens", sa.column("expires_at", TZ))
    op.execute(
        tokens.update()
        .where(tokens.c.expires_at.is_(None))
        .values(expires_at=datetime.now(UTC) + timedelta(days=LEGACY_TOKEN_DAYS))
    )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_epoch")
