"""Sessions that really end: a copy of the cookie taken before signing out opens nothing, "sign out
everywhere" and a password reset end every session of the account, and an owner's unused session ends
after two hours (a buyer's after fourteen days)."""

from datetime import timedelta

import pytest
from pyramid.interfaces import ISessionFactory
from pyramid.request import Request
from pyramid.response import Response
from sqlalchemy import select, update

from album_store.browser_sessions import SESSION_AUTH, SESSION_USER
from album_store.models import AccountSession
from album_store.models.meta import utcnow
from album_store.security import SESSION_IDLE
from tests.conftest import PASSWORD, StoreTestApp
from tests.factories import make_owner, make_user

pytestmark = pytest.mark.stripe
COOKIE = "album_store_session"


def signed_in(app, email):
    browser = StoreTestApp(app)
    browser.login(email)
    return browser


def copy_of(browser):
    """Another browser holding a copy of this one's session cookie (taken, say, from a shared computer)."""
    thief = StoreTestApp(browser.app)
    thief.set_cookie(COOKIE, browser.cookies[COOKIE])
    return thief


def test_a_copy_of_the_cookie_taken_before_signing_out_opens_nothing(app, dbsession):
    make_user(dbsession, "ana@example.com", PASSWORD)
    browser = signed_in(app, "ana@example.com")
    thief = copy_of(browser)
    assert thief.get("/library").status_int == 200, "the copy works while the session lasts"
    browser.logout()
    assert thief.get("/library", status=303).location.startswith("http://localhost/account/login")
    assert browser.get("/library", status=303)


def test_an_owners_copied_cookie_stops_opening_the_admin_once_they_sign_out(app, dbsession):
    owner = make_owner(dbsession)
    browser = signed_in(app, owner.email)
    thief = copy_of(browser)
    assert thief.get("/admin/purchases").status_int == 200
    browser.logout()
    assert thief.get("/admin/purchases", status=303).location.startswith("http://localhost/account/login")


def test_signing_out_everywhere_ends_the_other_browsers_sessions_too(app, dbsession):
    make_user(dbsession, "ana@example.com", PASSWORD)
    laptop, phone = signed_in(app, "ana@example.com"), signed_in(app, "ana@example.com")
    make_user(dbsession, "ben@example.com", PASSWORD)
    someone_else = signed_in(app, "ben@example.com")
    form = laptop.get("/account/logout").forms["logout-everywhere-form"]
    form.submit(status=303).follow()  # the shared home page: the message comes in its fragment
    assert laptop.get("/account/fragment").json["flash"] == ["You are signed out on every device."]
    phone.get("/library", status=303)
    laptop.get("/library", status=303)
    assert someone_else.get("/library").status_int == 200, "only that account's sessions end"


@pytest.mark.parametrize(
    "who, idle, still_in",
    [
        ("owner", SESSION_IDLE["owner"] - timedelta(minutes=1), True),
        ("owner", SESSION_IDLE["owner"] + timedelta(minutes=1), False),
        ("buyer", SESSION_IDLE["owner"] + timedelta(minutes=1), True),
        ("buyer", SESSION_IDLE["buyer"] + timedelta(minutes=1), False),
    ],
)
def test_an_unused_session_ends_after_its_idle_lifetime(app, dbsession, who, idle, still_in):
    user = make_owner(dbsession) if who == "owner" else make_user(dbsession, "ana@example.com", PASSWORD)
    browser = signed_in(app, user.email)
    dbsession.execute(update(AccountSession).values(last_seen_at=utcnow() - idle))
    dbsession.commit()
    answer = browser.get("/library", status="*")
    assert (answer.status_int == 200) is still_in
    if still_in:
        dbsession.expire_all()
        [row] = dbsession.scalars(select(AccountSession)).all()
        assert utcnow() - row.last_seen_at < timedelta(minutes=1), "using it keeps it going"


def test_the_database_keeps_no_usable_session_token(app, dbsession):
    make_user(dbsession, "ana@example.com", PASSWORD)
    browser = signed_in(app, "ana@example.com")
    [row] = dbsession.scalars(select(AccountSession)).all()
    assert browser.cookies[COOKIE] and row.token_hash not in browser.cookies[COOKIE]
    assert len(row.token_hash) == 64


def _cookie_holding(app, values):
    """A session cookie signed with the app's own secret (as only the store could make one) that
    holds ``values``: what a cookie naming one account with another account's token would be."""
    request = Request.blank("/")
    request.registry = app.registry
    session = app.registry.getUtility(ISessionFactory)(request)
    session.update(values)
    response = Response()
    request._process_response_callbacks(response)
    return response.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]


def test_a_session_cookie_naming_another_account_than_its_row_opens_nothing(app, dbsession):
    """The session's row says whose it is: a cookie whose user id is not that row's user is no
    session, even when it is validly signed and carries a live token (of Ana's, here naming Ben)."""
    ana = make_user(dbsession, "ana@example.com", PASSWORD)
    ben = make_user(dbsession, "ben@example.com", PASSWORD)
    dbsession.commit()
    ana_id, ben_id = ana.id, ben.id
    browser = signed_in(app, "ana@example.com")
    probe = Request.blank("/", cookies={COOKIE: browser.cookies[COOKIE]})
    probe.registry = app.registry
    token = app.registry.getUtility(ISessionFactory)(probe)[SESSION_AUTH]
    genuine = StoreTestApp(app)
    genuine.set_cookie(COOKIE, _cookie_holding(app, {SESSION_USER: ana_id, SESSION_AUTH: token}))
    assert genuine.get("/library").status_int == 200, "a cookie the store made the same way does sign in"
    forged = StoreTestApp(app)
    forged.set_cookie(COOKIE, _cookie_holding(app, {SESSION_USER: ben_id, SESSION_AUTH: token}))
    assert forged.get("/library", status=303).location.startswith("http://localhost/account/login")
