"""Alembic owns the schema: the migrations and the models must agree, both ways."""
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from album_store.cli import alembic_config
from album_store.models import Base


def test_models_and_migrations_agree(db_engine):
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], f"the models differ from the migrations; write a migration: {differences}"


def test_migrations_go_down_to_base_and_up_again(scratch_database_url):
    """On the suite's kind of database: SQLite, or PostgreSQL when TEST_DATABASE_URL points there."""
    config = alembic_config({"sqlalchemy.url": scratch_database_url})
    engine = create_engine(scratch_database_url, poolclass=NullPool)
    command.upgrade(config, "head")
    assert {"albums", "tracks", "users", "purchases"} <= set(inspect(engine).get_table_names())
    command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    command.upgrade(config, "head")
    assert {"albums", "tracks", "users", "purchases"} <= set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == [], "up again, the schema matches the models"
