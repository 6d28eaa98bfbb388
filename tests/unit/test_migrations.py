"""Alembic owns the schema: the migrations and the models must agree, both ways."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from album_store.cli import alembic_config
from album_store.models import Base
from alembic import command


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


def test_open_purchases_get_their_buyer_album_key_and_old_second_copies_are_not_taken_for_duplicates(
    scratch_database_url,
):
    """0006 on a database with purchases: each open purchase holds its buyer-and-album key, the oldest
    first; a second copy bought under the old rules keeps a key of its own, so it is not mistaken for
    a duplicate (which reconcile would refund); failed and refunded ones hold none."""
    from sqlalchemy import text

    config = alembic_config({"sqlalchemy.url": scratch_database_url})
    engine = create_engine(scratch_database_url, poolclass=NullPool)
    command.upgrade(config, "0005")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO albums (id, slug, title, artist, price_cents, currency, is_published, "
                "description, year, created_at, updated_at) VALUES (1, 'a', 'Old Songs', 'The Band', 900, 'usd', "
                "true, '', 2020, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        for purchase_id, email, status in [
            (1, "Ana@Example.com", "paid"),
            (2, "ana@example.com", "paid"),
            (3, "ana@example.com", "failed"),
            (4, "bo@example.com", "pending"),
        ]:
            connection.execute(
                text(
                    "INSERT INTO purchases (id, reference, album_id, email, amount_cents, currency, "
                    "status, created_at) "
                    "VALUES (:id, :ref, 1, :email, 900, 'usd', :status, CURRENT_TIMESTAMP)"
                ),
                {"id": purchase_id, "ref": f"ref{purchase_id}", "email": email, "status": status},
            )
    command.upgrade(config, "head")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, buyer_album_key, description FROM purchases ORDER BY id")).all()
    assert [(r.id, r.buyer_album_key) for r in rows] == [
        (1, "1:ana@example.com"),
        (2, "legacy:2"),
        (3, None),
        (4, "1:bo@example.com"),
    ]
    assert {r.description for r in rows} == {"Old Songs by The Band"}
