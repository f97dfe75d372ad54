"""Migration 0003 on both stores: the review tables exist, match the models, and go back down."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect

from feedback_api.store import alembic_config, make_engine
from feedback_api.store.models import Base

REVIEW_TABLES = ("users", "api_tokens", "tasks", "task_events", "outbox")


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
