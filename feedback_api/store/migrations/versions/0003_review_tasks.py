"""Review work: users, API tokens, tasks, their audit trail, the mail outbox; feedback.task_id.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("role", sa.String(16), nullable=False, server_default="reviewer"),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("tier", sa.SmallInteger(), nullable=False, server_default="1"),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("name", name="uq_users_name"),
        sa.CheckConstraint("role IN ('reviewer', 'admin')", name="ck_users_role"),
        sa.CheckConstraint("tier BETWEEN 1 AND 3", name="ck_users_tier"),
    )
    op.create_index("ix_users_team", "users", ["team"])

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False, server_default=""),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("last_used_at", TZ, nullable=True),
        sa.Column("revoked_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_api_tokens_user_id_users"),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])

    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("page", sa.String(512), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("open_key", sa.String(600), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("priority_rule", sa.Text(), nullable=False, server_default=""),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("tier", sa.SmallInteger(), nullable=False, server_default="1"),
        sa.Column("feedback_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("reader_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("first_response_due", TZ, nullable=False),
        sa.Column("first_response_warn_at", TZ, nullable=False),
        sa.Column("resolution_due", TZ, nullable=False),
        sa.Column("resolution_warn_at", TZ, nullable=False),
        sa.Column("first_responded_at", TZ, nullable=True),
        sa.Column("resolved_at", TZ, nullable=True),
        sa.Column("closed_at", TZ, nullable=True),
        sa.Column("fixed_in_version", sa.String(64), nullable=True),
        sa.Column("fix_url", sa.String(2000), nullable=True),
        sa.Column("reopened_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("previous_task_id", sa.Integer(), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("response_warned_at", TZ, nullable=True),
        sa.Column("resolution_warned_at", TZ, nullable=True),
        sa.Column("response_breached_at", TZ, nullable=True),
        sa.Column("resolution_breached_at", TZ, nullable=True),
        sa.Column("breached", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("due_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tasks"),
        sa.UniqueConstraint("open_key", name="uq_tasks_open_key"),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name="fk_tasks_owner_id_users"),
        sa.ForeignKeyConstraint(
            ["previous_task_id"], ["tasks.id"], name="fk_tasks_previous_task_id_tasks"
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["tasks.id"], name="fk_tasks_merged_into_id_tasks"
        ),
        sa.CheckConstraint(
            "state IN ('new', 'triaged', 'in_progress', 'resolved', 'wont_fix', 'duplicate', "
            "'closed')",
            name="ck_tasks_state",
        ),
        sa.CheckConstraint("tier BETWEEN 1 AND 3", name="ck_tasks_tier"),
    )
    for column in ("state", "priority", "team", "owner_id", "first_response_due",
                   "resolution_due", "due_at"):  # fmt: skip
        op.create_index(f"ix_tasks_{column}", "tasks", [column])
    op.create_index("ix_tasks_page_version", "tasks", ["page", "version"])

    op.create_table(
        "task_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("from_value", sa.Text(), nullable=True),
        sa.Column("to_value", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_task_events"),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name="fk_task_events_task_id_tasks"),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name="fk_task_events_actor_id_users"),
    )
    op.create_index("ix_task_events_task_id", "task_events", ["task_id"])

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("feedback_id", sa.Integer(), nullable=True),
        sa.Column("to_address", sa.String(320), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("claimed_until", TZ, nullable=True),
        sa.Column("sent_at", TZ, nullable=True),
        sa.Column("dropped_at", TZ, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("unsubscribe_hash", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("unsubscribe_hash", name="uq_outbox_unsubscribe_hash"),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name="fk_outbox_task_id_tasks"),
        sa.ForeignKeyConstraint(
            ["feedback_id"], ["feedback.id"], name="fk_outbox_feedback_id_feedback"
        ),
    )
    op.create_index("ix_outbox_task_id", "outbox", ["task_id"])
    op.create_index("ix_outbox_next_attempt_at", "outbox", ["next_attempt_at"])

    with op.batch_alter_table("feedback") as batch:
        batch.add_column(sa.Column("task_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_feedback_task_id_tasks", "tasks", ["task_id"], ["id"])
        batch.create_index("ix_feedback_task_id", ["task_id"])
        # Reports group a page's ratings of one version by time.
        batch.create_index("ix_feedback_page_version_created", ["page", "version", "created_at"])
        batch.create_index("ix_feedback_created_at", ["created_at"])


def downgrade() -> None:
    with op.batch_alter_table("feedback") as batch:
        batch.drop_index("ix_feedback_created_at")
        batch.drop_index("ix_feedback_page_version_created")
        batch.drop_index("ix_feedback_task_id")
        batch.drop_constraint("fk_feedback_task_id_tasks", type_="foreignkey")
        batch.drop_column("task_id")
    op.drop_table("outbox")
    op.drop_table("task_events")
    op.drop_table("tasks")
    op.drop_table("api_tokens")
    op.drop_table("users")
