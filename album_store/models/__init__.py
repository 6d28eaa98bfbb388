"""Database models and the per-request session (one transaction per request through pyramid_tm).

The rule of the store's transactions: **a returned response commits; raise or doom to roll back.**

- A view that returns (a page, a redirect, a 4xx form page alike) has its transaction committed by
  pyramid_tm. No ``tm.commit_veto`` is configured, on purpose: a declined card records its failed
  purchase and answers 402, a failed sign-in is counted and answers 401 or 429, and those writes must
  stand.
- An exception that escapes the view rolls everything back, also when an exception view turns it
  into a response (pyramid_tm aborts whenever ``request.exc_info`` is set).
- A view that answers a refusal with a page after a service already changed something calls
  ``transactions.must_not_commit(request)`` (a doom): the page is sent, nothing is committed.
- Work that must outlive a failure later in the request commits at once
  (``transactions.commit_now``: the pending purchase before Stripe is called; each settlement).
- A database refusal the service expects (a slug, an address, a sale that arrived meanwhile) is
  flushed in a savepoint by ``transactions.flush_or_raise`` and becomes the service's own exception.
- What must wait for the commit (jobs, mail, deleting replaced files) is hooked with
  ``transactions.after_commit`` / ``after_end``, or the job queue's ``after_commit``.

An abort also ends the session's database transaction at once (``get_tm_session``), so a session
that lives on (the request's, the CLI's) never carries aborted writes into its next commit.

The CLI and pshell run in the same app and the same idioms (``album_store/cli.py``).
"""

import zope.sqlalchemy
from sqlalchemy import engine_from_config, event
from sqlalchemy.orm import Session, configure_mappers, sessionmaker

from .account_session import AccountSession  # noqa: F401
from .album import AUDIO_FORMATS, LOSSLESS_FORMATS, Album, AlbumFormat, Track  # noqa: F401
from .audit import AuditEvent  # noqa: F401
from .catalog_version import CatalogVersion, bump_catalog_version, current_catalog_version  # noqa: F401
from .link_mail import LinkMail  # noqa: F401
from .login_attempt import LoginAttempt  # noqa: F401
from .meta import Base  # noqa: F401
from .purchase import Purchase, PurchaseStatus, buyer_album_key  # noqa: F401
from .sales_summary import SalesByAlbum, SalesByDay  # noqa: F401
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
    # Durable commits, said out loud rather than left to how SQLite was compiled. In WAL mode FULL
    # syncs the log at every commit, so a committed purchase (the pending one committed before the
    # charge, then its settlement) survives a power loss as well as a crash; NORMAL syncs only at
    # checkpoints and may lose the last commits on power loss: a charge taken with no purchase left to
    # show for it, which the store promises never happens. What NORMAL would save is one fsync per
    # commit, and shoppers' pages (reads) never commit anything that syncs.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


#: ``dbsession.info`` key: set while :func:`~.transactions.commit_now` keeps the session's objects.
KEEP_LOADED = "keep_loaded"


class StoreSession(Session):
    """The store's session: as SQLAlchemy's, except that a commit made with
    ``transactions.commit_now(…, keep=session)`` leaves its objects loaded. zope.sqlalchemy's
    ``keep_session`` expires every object after each commit (``expire_all``), whatever
    ``expire_on_commit`` says; this is where that is told apart."""

    def expire_all(self):
        if not self.info.get(KEEP_LOADED):
            super().expire_all()


def get_session_factory(engine):
    return sessionmaker(bind=engine, class_=StoreSession)


def get_tm_session(session_factory, transaction_manager, request=None):
    """A session joined to ``transaction_manager``: committed or aborted with it."""
    dbsession = session_factory(info={"request": request})
    # keep_session: a view may commit mid-request (the buy route does, before calling Stripe);
    # the objects it holds stay attached and reload in the next transaction.
    zope.sqlalchemy.register(dbsession, transaction_manager=transaction_manager, keep_session=True)
    # With keep_session, zope.sqlalchemy's abort (and the commit of a transaction that only read)
    # only expires the objects: the database transaction would stay open ("idle in transaction"),
    # and after an abort the next commit on this session would commit what was aborted. End it here.
    synch = _RollbackAfterAbort(dbsession)
    dbsession.info["rollback_after_abort"] = synch  # the manager holds its synchronizers weakly
    transaction_manager.registerSynch(synch)
    return dbsession


class _RollbackAfterAbort:
    """A transaction synchronizer: once a transaction of the manager has ended, a session still
    inside a database transaction holds only what was aborted or merely read: it is rolled back. (A
    commit that wrote has ended the database transaction already.)"""

    def __init__(self, dbsession):
        self.dbsession = dbsession

    def beforeCompletion(self, transaction):
        pass

    def afterCompletion(self, transaction):
        if self.dbsession.in_transaction():
            self.dbsession.rollback()

    def newTransaction(self, transaction):
        pass


def includeme(config):
    settings = config.get_settings()
    settings["tm.manager_hook"] = "pyramid_tm.explicit_manager"
    # Not the transaction's user note: it asked ``request.authenticated_userid`` on every request, a
    # session statement even on the shared pages (caching.py), which ask nobody who is signed in.
    settings.setdefault("tm.annotate_user", "false")
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
