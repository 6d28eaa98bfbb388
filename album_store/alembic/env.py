"""Alembic environment: the store's models are the target; the URL comes from the store's settings.

``album-store initdb CONFIG`` hands in the URL (or an engine) through ``config.attributes``; plain
``alembic -c development.ini upgrade head`` works too and reads the same settings.
"""

from sqlalchemy import engine_from_config, pool

from album_store.models import Base
from alembic import context

config = context.config
target_metadata = Base.metadata


def _url():
    url = config.attributes.get("sqlalchemy.url")
    if url:
        return url
    from pyramid.paster import get_appsettings

    from album_store.settings import load_settings

    return load_settings(get_appsettings(config.config_file_name))["sqlalchemy.url"]


def run_migrations_offline():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    engine = config.attributes.get("engine")
    if engine is None:
        engine = engine_from_config({"sqlalchemy.url": _url()}, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
