"""The catalog's version stamp: one row, bumped in the same transaction as any change to an album or
its tracks, so every process (on every host) can tell at once that what it cached is out of date.

Nothing has to remember to bump it: a ``before_flush`` listener on every SQLAlchemy session does, when
the flush adds, changes or deletes an :class:`Album` or a :class:`Track` (an album's cover, download
file and publish state are its columns), and a ``do_orm_execute`` listener does for ORM bulk
``update()`` / ``delete()`` of them. Raw SQL written by hand bypasses both: bump it there yourself.
The page cache (``album_store/caching.py``) reads it once per cacheable request.
"""

import threading

from sqlalchemy import CheckConstraint, Integer, event, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column

from .album import Album, Track
from .meta import Base

#: The mapped classes that public pages show: a change to any of them changes the catalog.
CATALOG_CLASSES = (Album, Track)


class CatalogVersion(Base):
    """The single row (``id = 1``) of ``catalog_version``."""

    __tablename__ = "catalog_version"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(Integer, default=0)


_table = CatalogVersion.__table__
_READ = select(_table.c.version).where(_table.c.id == 1)


def current_catalog_version(engine):
    """The stamp as committed now, or None when it cannot be read (no row, no database): then nothing
    may be served from a cache that relies on it."""
    try:
        with engine.connect() as connection:
            return connection.scalar(_READ)
    except SQLAlchemyError:
        return None


class CatalogVersionReader:
    """:func:`current_catalog_version` at the cost of one query, for a check made on every request.

    ``engine.connect()`` pays for the pool's check-out, a transaction begun and the rollback on
    check-in, several times the read itself. Each thread here keeps one connection of its own (taken
    out of the pool for good, in autocommit: every read is its own transaction, so it sees every
    commit made before it, by any process) and runs the one compiled ``SELECT`` on it. A connection
    that fails is dropped (the next read makes a new one) and the read gives None, as above."""

    def __init__(self, engine):
        self.engine = engine
        self._sql = str(_READ.compile(engine, compile_kwargs={"literal_binds": True}))
        self._local = threading.local()

    def _connection(self):
        connection = getattr(self._local, "connection", None)
        if connection is None:
            pooled = self.engine.raw_connection()
            pooled.detach()  # this thread's own from now on: never handed to a request's session
            connection = pooled.dbapi_connection
            if self.engine.dialect.name == "sqlite":
                connection.isolation_level = None
            else:
                connection.autocommit = True
            self._local.connection = connection
        return connection

    def __call__(self):
        try:
            cursor = self._connection().cursor()
            try:
                cursor.execute(self._sql)
                row = cursor.fetchone()
            finally:
                cursor.close()
        except (SQLAlchemyError, self.engine.dialect.loaded_dbapi.Error):
            self._drop()
            return None
        return None if row is None else row[0]

    def _drop(self):
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            try:
                connection.close()
            except self.engine.dialect.loaded_dbapi.Error:
                pass


def bump_catalog_version(connection):
    """Add one to the stamp, in the caller's transaction (the row is made if it is missing)."""
    bumped = connection.execute(update(_table).where(_table.c.id == 1).values(version=_table.c.version + 1))
    if bumped.rowcount == 0:
        connection.execute(insert(_table).values(id=1, version=1))


def _is_catalog(obj):
    return isinstance(obj, CATALOG_CLASSES)


@event.listens_for(Session, "before_flush")
def _bump_when_the_catalog_changes(session, flush_context, instances):
    changed = (
        any(_is_catalog(obj) for obj in session.new)
        or any(_is_catalog(obj) for obj in session.deleted)
        or any(_is_catalog(obj) and session.is_modified(obj) for obj in session.dirty)
    )
    if changed:
        bump_catalog_version(session.connection())


@event.listens_for(Session, "do_orm_execute")
def _bump_on_bulk_catalog_statements(orm_execute_state):
    if not (orm_execute_state.is_update or orm_execute_state.is_delete):
        return
    if any(issubclass(mapper.class_, CATALOG_CLASSES) for mapper in orm_execute_state.all_mappers):
        bump_catalog_version(orm_execute_state.session.connection())
