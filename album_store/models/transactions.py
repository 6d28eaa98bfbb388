"""The store's transaction idioms, each written once (the rule they serve is in ``models/__init__.py``).

- :func:`commit_now` — make what this transaction wrote durable now, and go on in a new one (the
  buy route records its pending purchase before it calls Stripe; settlement commits each change).
- :func:`start_over` — drop a failed transaction and begin a clean one.
- :func:`must_not_commit` — let the request answer with the page it is building, but commit nothing
  (pyramid_tm aborts a doomed transaction after the view returns).
- :func:`flush_or_raise` — the changes made in its block, flushed inside a savepoint: a clash with a
  unique or foreign key becomes the service's own error and the session stays usable for the page.
- :func:`after_commit` / :func:`after_end` — work that must wait for the commit (queueing a job or a
  mail, deleting a replaced file), or be undone when there is none.
- :func:`commits_as_returned` — an exception view whose answer commits as a returned response would
  (pyramid_tm aborts whenever an exception view answered).

Each takes a transaction manager or anything that has one as ``.tm`` (a request).
"""

import functools
import logging
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError
from zope.sqlalchemy.datamanager import join_transaction

log = logging.getLogger(__name__)


def _manager(tm_or_request):
    return getattr(tm_or_request, "tm", tm_or_request)


def commit_now(tm_or_request, *, keep=None):
    """End the current transaction so what it wrote is durable now, and begin the next one.

    Objects loaded before stay attached and reload in the next transaction (``keep_session`` in
    ``get_tm_session``). With ``keep`` (a session from ``get_session_factory``), its objects are
    not expired: they keep what was read and written, with no reload after the commit. For a caller
    that knows what it just wrote, and never decides on what another process may have changed
    meanwhile without asking the database again (settlement's conditional updates)."""
    tm = _manager(tm_or_request)
    if keep is None:
        tm.commit()
    else:
        from . import KEEP_LOADED

        expire_on_commit = keep.expire_on_commit
        keep.expire_on_commit = False
        keep.info[KEEP_LOADED] = True
        try:
            tm.commit()
        finally:
            keep.expire_on_commit = expire_on_commit
            keep.info.pop(KEEP_LOADED, None)
    tm.begin()
    if keep is not None:
        # A session joins a transaction when it next begins one (zope.sqlalchemy's after_begin): here
        # that would be the reload that no longer happens, so a change made to a kept object before
        # any statement would not be committed by the next commit. Join now, as that reload would.
        join_transaction(keep, transaction_manager=tm, keep_session=True)


def start_over(tm_or_request, dbsession):
    """After a failed flush or commit: drop the failed transaction and begin a clean one."""
    tm = _manager(tm_or_request)
    tm.abort()
    dbsession.rollback()
    tm.begin()


def must_not_commit(tm_or_request):
    """Nothing this transaction wrote may be committed, whatever the view then returns.

    For a view that answers a refusal with a page (a 4xx form) after a service already changed
    something: a returned response commits otherwise (no ``tm.commit_veto`` is configured)."""
    _manager(tm_or_request).doom()


@contextmanager
def flush_or_raise(dbsession, error, *, when=None):
    """Make the block's changes in a savepoint and flush them there; a database refusal
    (``IntegrityError``: another request took the slug, registered the address, bought the album a
    moment ago) rolls back to the savepoint and raises ``error()`` instead, from the original.

    ``error`` is the domain exception's class or any callable returning the exception; it is called
    after the rollback, so it may query. Changes must be made *inside* the block: opening a
    savepoint flushes what is pending first, outside it, where a clash would spoil the whole
    transaction (the session could then not even render the error page)::

        with flush_or_raise(self.db, lambda: SlugTaken(slug)):
            album.slug = slug

    ``when(clash)``, if given, says whether a clash is the one ``error`` stands for; any other is
    re-raised as it is (after the rollback to the savepoint).
    """
    _begin_before_savepoint(dbsession)
    savepoint = dbsession.begin_nested()
    try:
        yield
        dbsession.flush()
    except IntegrityError as clash:
        savepoint.rollback()
        if when is not None and not when(clash):
            raise
        raise error() from clash
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    savepoint.commit()


def _begin_before_savepoint(dbsession):
    """On SQLite, begin the database's transaction before the savepoint.

    Python's sqlite3 begins SQLite's transaction only before the first INSERT, UPDATE or DELETE: a
    SAVEPOINT before any of them would begin a transaction of its own, which its RELEASE commits at
    once — outside the request's transaction, so a later doom or error could no longer undo it."""
    connection = dbsession.connection()
    if connection.dialect.name != "sqlite":
        return
    driver_connection = connection.connection.driver_connection
    if not getattr(driver_connection, "in_transaction", True):
        connection.exec_driver_sql("BEGIN")


def after_commit(tm_or_request, hook, *args):
    """Call ``hook(*args)`` once the current transaction has committed; never if it aborts or its
    commit fails. An error in the hook is logged: the commit it follows stands."""

    def run(committed):
        if not committed:
            return
        try:
            hook(*args)
        except Exception:
            log.exception("after the commit: %r failed", hook)

    _manager(tm_or_request).get().addAfterCommitHook(run)


def after_end(tm_or_request, *, committed=None, aborted=None):
    """Once the current transaction ends: ``committed()`` after a commit, ``aborted()`` after an
    abort or a failed commit (e.g. keep the new file and delete the old one, or the other way round)."""
    transaction = _manager(tm_or_request).get()
    ended = []  # a failed commit calls the commit hook, then the abort that follows the abort hook

    def run(action):
        if ended or action is None:
            return
        ended.append(action)
        try:
            action()
        except Exception:
            log.exception("after the transaction: %r failed", action)

    transaction.addAfterCommitHook(lambda ok: run(committed if ok else aborted))
    transaction.addAfterAbortHook(lambda: run(aborted))


def commits_as_returned(view):
    """For an exception view whose answer the raising view used to *return*: commit what the request's
    transaction holds first, as pyramid_tm commits after a returned response (it aborts whenever an
    exception view answered), then render in a fresh transaction, which pyramid_tm aborts. A commit
    that fails is answered as pyramid_tm answered it: by the failure's own exception view (the 500
    page), nothing kept."""

    @functools.wraps(view)
    def answer(exc, request):
        failed = commit_or_answer(request)
        return failed if failed is not None else view(exc, request)

    return answer


def commit_or_answer(request):
    """Commit the request's transaction and begin the next; None, or the answer to a failed commit."""
    try:
        commit_now(request)
    except Exception:
        request.tm.abort()
        request.tm.begin()
        return request.invoke_exception_view()
    return None
