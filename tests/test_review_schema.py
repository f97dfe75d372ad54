"""Migration 0003 on both stores: the review tables exist, match the models, and go back down."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect, text

from feedback_api.review import notify
from feedback_api.store import alembic_config, make_engine
from feedback_api.store.models import Base

REVIEW_TABLES = ("users", "api_tokens", "tasks", "task_events", "outbox", "mail_addresses")


def test_migration_creates_the_review_tables_as_the_models_declare(store_url):
    engine = create_engine(store_url)
    try:
        inspector = inspect(engine)
        for table in REVIEW_TABLES:
            columns = {c["name"] for c in inspector.get_columns(table)}
            assert columns == set(Base.metadata.tables[table].columns.keys()), table
        feedback_columns = {c["name"] for c in inspector.get_columns("feedback")}
        assert "task_id" in feedback_columns
        indexes = {i["name"] for i in inspector.get_indexes("feedback")}
        assert {"ix_feedback_page_version_created", "ix_feedback_created_rating"} <= indexes
    finally:
        engine.dispose()


def test_migration_goes_down_and_up_again(store_url):
    engine = make_engine(store_url)
    try:
        for revision, action in (("0002", command.downgrade), ("head", command.upgrade)):
            with engine.begin() as connection:
                cfg = alembic_config(store_url)
                cfg.attributes["connection"] = connection
                action(cfg, revision)
            present = set(inspect(engine).get_table_names())
            assert (set(REVIEW_TABLES) <= present) == (revision == "head")
    finally:
        engine.dispose()


def _migrate(url: str, action, revision: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = connection
            action(cfg, revision)
    finally:
        engine.dispose()


def test_migration_0008_moves_the_unsubscribe_link_out_of_waiting_mail(store_url):
    # A mail queued by 0007's code carries its link in the body; after 0008 the body is what
    # was written and the link is in its column, so the sender's footer and header agree.
    link = "http://docs.example/api/v1/unsubscribe/tok123"
    old_body = (
        "Thank you.\n\nYou get this because you asked to be told about this page. To get no "
        f"more mail from us: {link}\n"
    )
    _migrate(store_url, command.downgrade, "0007")
    engine = create_engine(store_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO outbox (kind, subject, body, created_at, attempts, "
                    "next_attempt_at, unsubscribe_hash, to_address) VALUES ('ack', 's', :body, "
                    "CURRENT_TIMESTAMP, 0, CURRENT_TIMESTAMP, 'h', 'r@example.com')"
                ),
                {"body": old_body},
            )
        _migrate(store_url, command.upgrade, "head")
        with engine.begin() as conn:
            body, url = conn.execute(text("SELECT body, unsubscribe_url FROM outbox")).one()
        assert (body, url) == ("Thank you.", link)
        assert notify.mail_text(body, url) == old_body
        _migrate(store_url, command.downgrade, "0007")
        with engine.begin() as conn:
            assert conn.execute(text("SELECT body FROM outbox")).scalar_one() == old_body
    finally:
        engine.dispose()
        _migrate(store_url, command.upgrade, "head")
