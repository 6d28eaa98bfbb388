"""Database models and the per-request session (one transaction per request through pyramid_tm)."""
from sqlalchemy import engine_from_config, event
from sqlalchemy.orm import configure_mappers, sessionmaker
import zope.sqlalchemy

from .album import AUDIO_FORMATS, LOSSLESS_FORMATS, Album, AlbumFormat, Track  # noqa: F401
from .account_session import AccountSession  # noqa: F401
from .audit import AuditEvent  # noqa: F401
from .catalog_version import CatalogVersion, bump_catalog_version, current_catalog_version  # noqa: F401
from .link_mail import LinkMail  # noqa: F401
from .login_attempt import LoginAttempt  # noqa: F401
from .meta import Base  # noqa: F401
from .purchase import Purchase, PurchaseStatus, buyer_album_key  # noqa: F401
from .user import User, normalize_email  # noqa: F401
from .webhook_event import WebhookEvent  # noqa: F401

configure_mappers()


def one_at_a_time(dbsession, *names):
    """Take turns with every other transaction naming one of ``names``, until this one ends: on
    PostgreSQL, transaction-scoped advisory locks (taken in one order, so two never wait on each
    other); on SQLite nothing to do, the database's one write lock (taken by the caller's next
    write) serializes writers already."""
    if dbsession.get_bind().dialect.name != "postgresql":
        return
    import hashlib

    from sqlalchemy import text

    keys = sorted({int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True) for name in names})
    for key in keys:
        dbsession.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def get_engine(settings, prefix="sqlalchemy."):
    engine = engine_from_config(settings, prefix)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
    return engine


def _sqlite_on_connect(dbapi_connection, connection_record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # Readers never wait for the writer; several waitress threads share the file.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def get_session_factory(engine):
    return sessionmaker(bind=engine)


def get_tm_session(session_factory, transaction_manager, request=None):
    """A session joined to ``transaction_manager``: committed or aborted with it."""
    dbsession = session_factory(info={"request": request})
    # keep_session: a view may commit mid-request (the buy route does, before calling Stripe);
    # the objects it holds stay attached and reload in the next transaction.
    zope.sqlalchemy.register(dbsession, transaction_manager=transaction_manager, keep_session=True)
    return dbsession


def includeme(config):
    settings = config.get_settings()
    settings["tm.manager_hook"] = "pyramid_tm.explicit_manager"
    config.include("pyramid_tm")
    config.include("pyramid_retry")

    engine = get_engine(settings)
    session_factory = get_session_factory(engine)
    config.registry["dbsession_factory"] = session_factory
    config.registry["db_engine"] = engine

    def dbsession(request):
        # Tests may hand in their own session through the WSGI environ.
        session = request.environ.get("app.dbsession")
        if session is None:
            session = get_tm_session(session_factory, request.tm, request=request)
            # keep_session leaves the session open after the transaction: close it with the
            # request, so its connection always goes back to the pool.
            request.add_finished_callback(lambda request: session.close())
        return session

    config.add_request_method(dbsession, reify=True)
