"""The rule of the store's transactions (album_store/models/__init__.py): a returned response commits,
also a 4xx one; a doom (``must_not_commit``) or an exception rolls back; and the savepoint idiom
(``flush_or_raise``) turns a database refusal into the service's own error with the session still
usable, so a race ends in the form's 409, never a 500."""

import pytest
import webtest
from pyramid.config import Configurator
from pyramid.response import Response
from sqlalchemy import func, select

from album_store.models import LoginAttempt, User
from album_store.models.meta import utcnow
from album_store.models.transactions import after_commit, flush_or_raise, must_not_commit
from album_store.services.accounts import AccountService
from tests.conftest import StoreTestApp


class Refused(Exception):
    pass


@pytest.fixture
def rule_app(app_settings, db_engine, dbsession):
    """The store's own transaction set-up (``album_store.models``: pyramid_tm, the request's session)
    with views that each write one row, then answer differently."""
    committed_hooks = []

    def write(request, email):
        request.dbsession.add(LoginAttempt(email=email, client_addr="test", attempted_at=utcnow()))
        request.dbsession.flush()
        after_commit(request, committed_hooks.append, email)

    def returned_4xx(request):
        write(request, "returned-402@example.com")
        return Response("declined", status=402)  # as a declined card: its failed purchase must stand

    def doomed_4xx(request):
        write(request, "doomed-409@example.com")
        must_not_commit(request)
        return Response("refused", status=409)  # as an admin form's refusal

    def doomed_after_a_savepoint(request):
        # The request's first write inside a savepoint: on SQLite, RELEASE must not commit it.
        with flush_or_raise(request.dbsession, Refused):
            request.dbsession.add(
                LoginAttempt(email="savepoint@example.com", client_addr="test", attempted_at=utcnow())
            )
        must_not_commit(request)
        return Response("refused", status=409)

    def raised(request):
        write(request, "raised@example.com")
        raise Refused()

    def refused_page(context, request):
        return Response("refused by an exception view", status=409)

    with Configurator(settings={"sqlalchemy.url": app_settings["sqlalchemy.url"]}) as config:
        config.include("album_store.models")
        for name, view in [
            ("returned", returned_4xx),
            ("doomed", doomed_4xx),
            ("savepoint", doomed_after_a_savepoint),
            ("raised", raised),
        ]:
            config.add_route(name, f"/{name}")
            config.add_view(view, route_name=name)
        config.add_view(refused_page, context=Refused)
    application = config.make_wsgi_app()
    yield webtest.TestApp(application), committed_hooks
    application.registry["db_engine"].dispose()


def attempts(dbsession):
    dbsession.expire_all()
    return set(dbsession.scalars(select(LoginAttempt.email)))


def test_a_returned_4xx_commits(rule_app, dbsession):
    testapp, hooks = rule_app
    testapp.get("/returned", status=402)
    assert attempts(dbsession) == {"returned-402@example.com"}, "no commit veto: a returned response commits"
    assert hooks == ["returned-402@example.com"]


def test_a_doomed_4xx_commits_nothing_and_runs_no_after_commit_hook(rule_app, dbsession):
    testapp, hooks = rule_app
    assert testapp.get("/doomed", status=409).text == "refused"
    assert attempts(dbsession) == set()
    assert hooks == []


def test_a_doom_also_undoes_what_a_savepoint_released(rule_app, dbsession):
    testapp, hooks = rule_app
    testapp.get("/savepoint", status=409)
    assert attempts(dbsession) == set()


def test_an_exception_rolls_back_also_when_an_exception_view_answers(rule_app, dbsession):
    testapp, hooks = rule_app
    assert testapp.get("/raised", status=409).text == "refused by an exception view"
    assert attempts(dbsession) == set()
    assert hooks == []


def test_an_address_registered_a_moment_ago_by_another_request_is_a_409_not_a_500(testapp, app, dbsession, monkeypatch):
    """The race the live test (test_accounts.py, two processes) hits now and then, made certain: the
    check for the address finds nothing, then the unique index refuses the insert."""
    testapp.register("ana@example.com")
    monkeypatch.setattr(AccountService, "find_by_email", lambda self, email: None)
    other = StoreTestApp(app)
    page = other.register("ANA@example.com", status=409)
    assert "already uses this address" in page.text
    dbsession.expire_all()
    assert dbsession.scalar(select(func.count()).select_from(User)) == 1


def test_what_a_transaction_aborted_is_never_committed_by_the_next_one_on_the_same_session(db_engine, dbsession):
    """The request's session outlives its transactions (``keep_session``: the buy route commits
    mid-request): an abort must end the database transaction too, or the next commit commits it."""
    import transaction

    from album_store.models import get_session_factory, get_tm_session

    tm = transaction.TransactionManager(explicit=True)
    session = get_tm_session(get_session_factory(db_engine), tm)
    try:
        tm.begin()
        session.add(LoginAttempt(email="aborted@example.com", client_addr="test", attempted_at=utcnow()))
        session.flush()
        tm.abort()
        tm.begin()
        session.add(LoginAttempt(email="committed@example.com", client_addr="test", attempted_at=utcnow()))
        tm.commit()
    finally:
        session.close()
    assert attempts(dbsession) == {"committed@example.com"}


class _Resource:
    """A transaction participant whose commit succeeds, or is refused at the vote (as a database's)."""

    def __init__(self, tm, refuse):
        self.transaction_manager, self.refuse = tm, refuse

    def abort(self, txn):
        pass

    def tpc_begin(self, txn):
        pass

    def commit(self, txn):
        pass

    def tpc_vote(self, txn):
        if self.refuse:
            raise RuntimeError("the database refused the commit")

    def tpc_finish(self, txn):
        pass

    def tpc_abort(self, txn):
        pass

    def sortKey(self):
        return "test-resource"


@pytest.mark.parametrize("refused", [False, True])
def test_after_commit_runs_only_after_a_commit_that_succeeded(refused):
    """A job or a mail queued for after the commit is never queued for a commit that failed."""
    import transaction

    from album_store.models.transactions import after_end

    tm = transaction.TransactionManager(explicit=True)
    calls = []
    tm.begin()
    tm.get().join(_Resource(tm, refused))
    after_commit(tm, calls.append, "queued")
    after_end(tm, committed=lambda: calls.append("kept"), aborted=lambda: calls.append("undone"))
    if refused:
        with pytest.raises(RuntimeError):
            tm.commit()
        tm.abort()
    else:
        tm.commit()
    assert calls == (["undone"] if refused else ["queued", "kept"])
