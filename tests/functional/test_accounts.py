"""Buyer accounts: register, sign in and out, the slowdown after failures, confirming the address,
and a new password from an emailed link."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, update

from album_store.models import LoginAttempt, User
from album_store.models.meta import utcnow
from album_store.passwords import password_fingerprint, verify_password
from tests.conftest import PASSWORD, StoreTestApp
from tests.factories import issued_token, links_in, make_user


def users(dbsession):
    dbsession.expire_all()
    return dbsession.scalars(select(User).order_by(User.id)).all()


def path_of(url):
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_registering_signs_in_at_once_and_emails_a_confirmation_link(testapp, dbsession, outbox):
    response = testapp.register("Ana@Example.COM")
    assert response.location == "http://localhost/library"
    library = response.follow()
    assert "Your library" in library.text and "Sign out" in library.text
    assert "confirm the address" in library.text  # the flash, and the notice until confirmed

    [user] = users(dbsession)
    assert user.email == "ana@example.com"
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert verify_password(user.password_hash, PASSWORD)
    assert user.email_confirmed_at is None and not user.is_admin

    [message] = outbox
    assert message.recipients == ["ana@example.com"]
    [link] = [url for url in links_in(message) if "/account/confirm/" in url]
    page = testapp.get(path_of(link), status=303).follow()
    assert "ana@example.com is confirmed" in page.text
    assert users(dbsession)[0].email_confirmed_at is not None


def test_emails_are_unique_whatever_their_case(testapp, app, dbsession):
    testapp.register("ana@example.com")
    other = StoreTestApp(app)
    page = other.register("  ANA@example.com ", status=409)
    assert "already uses this address" in page.text
    assert [u.email for u in users(dbsession)] == ["ana@example.com"]
    other.login("ANA@EXAMPLE.COM")  # and signing in ignores the case too


@pytest.mark.parametrize(
    "password, message",
    [
        ("short1!", "at least 10 characters"),
        ("password1234", "common password"),
        ("qwertyuiop12", "similar to a commonly used password"),
        ("Password123!", "similar to a commonly used password"),
        ("iloveyou2024", "similar to a commonly used password"),
    ],
)
def test_a_new_password_must_be_long_and_not_a_common_one(testapp, dbsession, password, message):
    page = testapp.register("ana@example.com", password, status=400)
    assert message in page.html.find(class_="field__error").text
    assert users(dbsession) == []


def test_a_password_made_of_the_buyers_own_email_is_refused(testapp, dbsession):
    page = testapp.register("marguerite.duras@example.com", "marguerite.duras1", status=400)
    assert page.html.find(class_="field__error")
    assert users(dbsession) == []


def test_the_two_passwords_must_match(testapp, dbsession):
    page = testapp.register("ana@example.com", PASSWORD, confirm=PASSWORD + "x", status=400)
    assert "The two passwords differ." in page.text
    assert users(dbsession) == []


def test_signing_in_and_out_start_a_new_session_with_a_new_csrf_token(testapp, dbsession):
    make_user(dbsession, "ana@example.com", PASSWORD)
    before_token = testapp.form_csrf_token("/account/login")
    assert testapp.cookies["csrf_token"] == before_token, "the token is the double-submit cookie's"
    before_cookie = testapp.cookies.get("album_store_session")  # a visitor has no session until needed

    landing = testapp.login("ana@example.com").follow()
    signed_in_token = landing.html.find("input", attrs={"name": "csrf_token"})["value"]
    assert signed_in_token != before_token and testapp.cookies["csrf_token"] == signed_in_token
    assert testapp.cookies["album_store_session"] != before_cookie

    signed_in_cookie = testapp.cookies["album_store_session"]
    home = testapp.logout().follow()
    # The home page is the shared one: its message comes in the fragment, filled in by personal.js.
    assert "Sign in" in home.text and "Sign out" not in home.text
    assert testapp.get("/account/fragment").json == {"signed_in": False, "flash": ["You are signed out."]}
    assert testapp.cookies["album_store_session"] != signed_in_cookie
    assert testapp.form_csrf_token("/account/login") not in (signed_in_token, before_token)
    assert testapp.get("/library", status=303).location.startswith("http://localhost/account/login")


def test_signing_out_needs_a_post_with_the_csrf_token(testapp, dbsession):
    make_user(dbsession, "ana@example.com", PASSWORD)
    testapp.login("ana@example.com")
    assert testapp.get("/account/logout").html.find("form", attrs={"action": "/account/logout"})
    testapp.post("/account/logout", {}, status=403)
    testapp.get("/library", status=200)  # still signed in


def test_a_wrong_password_and_an_unknown_address_get_the_same_answer(testapp, dbsession):
    make_user(dbsession, "ana@example.com", PASSWORD)
    wrong = testapp.login("ana@example.com", "not-the-password-1", status=401)
    unknown = testapp.login("nobody@example.com", "not-the-password-1", status=401)
    for page in (wrong, unknown):
        assert "That email and password do not match an account." in page.text
    testapp.get("/library", status=303)


def test_repeated_failed_sign_ins_slow_down_even_with_the_right_password(testapp, dbsession):
    make_user(dbsession, "ana@example.com", PASSWORD)
    for _ in range(5):
        testapp.login("Ana@example.com", "not-the-password-1", status=401)
    assert dbsession.scalar(select(func.count()).select_from(LoginAttempt)) == 5

    page = testapp.login("ana@example.com", PASSWORD, status=429)
    assert "Too many failed sign-ins" in page.text
    assert 0 < int(page.headers["Retry-After"]) <= 30
    testapp.get("/library", status=303)  # not signed in

    # Half a minute later (the database's clock is what every waitress process shares):
    dbsession.execute(update(LoginAttempt).values(attempted_at=utcnow() - timedelta(seconds=31)))
    dbsession.commit()
    testapp.login("ana@example.com", PASSWORD)
    assert dbsession.scalar(select(func.count()).select_from(LoginAttempt)) == 0, "success forgets the failures"


def test_each_further_failure_doubles_the_wait(testapp, dbsession):
    make_user(dbsession, "ana@example.com", PASSWORD)
    long_ago = utcnow() - timedelta(seconds=45)
    dbsession.add_all(
        [LoginAttempt(email="ana@example.com", client_addr="10.1.1.1", attempted_at=long_ago) for _ in range(6)]
    )
    dbsession.commit()
    page = testapp.login("ana@example.com", PASSWORD, status=429)  # 6 failures: 60 s after the last
    assert 10 <= int(page.headers["Retry-After"]) <= 15


def test_many_failures_from_one_client_address_slow_down_every_account_there(app, dbsession):
    make_user(dbsession, "ana@example.com", PASSWORD)
    now = utcnow()
    dbsession.add_all(
        [LoginAttempt(email=f"guess{i}@example.com", client_addr="192.0.2.7", attempted_at=now) for i in range(20)]
    )
    dbsession.commit()
    same_place = StoreTestApp(app, extra_environ={"HTTP_HOST": "localhost", "REMOTE_ADDR": "192.0.2.7"})
    same_place.login("ana@example.com", PASSWORD, status=429)
    elsewhere = StoreTestApp(app, extra_environ={"HTTP_HOST": "localhost", "REMOTE_ADDR": "198.51.100.9"})
    elsewhere.login("ana@example.com", PASSWORD)


def test_after_signing_in_the_buyer_goes_where_they_were_going_but_never_off_site(testapp, dbsession):
    make_user(dbsession, "ana@example.com", PASSWORD)
    login_url = testapp.get("/library", status=303).location
    assert path_of(login_url) == "/account/login?next=%2Flibrary"
    form = testapp.get(path_of(login_url)).html.find("input", attrs={"name": "next"})
    assert form["value"] == "/library"
    assert testapp.login("ana@example.com", next="/albums?page=2").location == "http://localhost/albums?page=2"
    testapp.logout()
    for evil in (
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "/\r\nSet-Cookie: a=b",
        "/caf\u00e9",
        "/\x00",
    ):
        assert testapp.login("ana@example.com", next=evil).location == "http://localhost/library"
        testapp.logout()


def test_a_password_reset_link_works_once_and_signs_out_other_sessions(testapp, app, dbsession, outbox):
    testapp.register("ana@example.com")
    outbox.clear()
    other_browser = StoreTestApp(app)
    other_browser.login("ana@example.com")

    requester = StoreTestApp(app)
    csrf = requester.form_csrf_token("/account/reset")
    done = requester.post("/account/reset", {"csrf_token": csrf, "email": "ANA@example.com"}, status=303).follow()
    assert "If an account uses ana@example.com" in done.text
    [message] = outbox
    assert message.recipients == ["ana@example.com"]
    [link] = [url for url in links_in(message) if "/account/reset/" in url]

    form_page = requester.get(path_of(link))
    assert form_page.headers["Referrer-Policy"] == "no-referrer"
    new_password = "granite-lantern-orchard"
    csrf = form_page.html.find("input", attrs={"name": "csrf_token"})["value"]
    fields = {"csrf_token": csrf, "password": new_password, "confirm": new_password}
    library = requester.post(path_of(link), fields, status=303).follow()
    assert "Your new password is set" in library.text

    requester.get(path_of(link), status=410)  # used
    other_browser.get("/library", status=303)  # its session ended with the old password
    StoreTestApp(app).login("ana@example.com", PASSWORD, status=401)
    StoreTestApp(app).login("ana@example.com", new_password)
    assert users(dbsession)[0].email_confirmed_at is not None, "the link proved the address"


def test_asking_for_a_reset_does_not_tell_whether_an_account_exists(testapp, dbsession, outbox):
    make_user(dbsession, "ana@example.com", PASSWORD)
    answers = []
    for email in ("ana@example.com", "nobody@example.com"):
        csrf = testapp.form_csrf_token("/account/reset")
        response = testapp.post("/account/reset", {"csrf_token": csrf, "email": email}, status=303)
        page = response.follow()
        answers.append((response.location, page.html.find(class_="alert").text.replace(email, "EMAIL")))
    assert answers[0] == answers[1]
    assert [m.recipients for m in outbox] == [["ana@example.com"]]


def test_a_reset_request_never_waits_for_the_mail_server(make_app, dbsession, caplog):
    """Whether the address has an account or not, the answer takes the same path: the mail is queued
    after the commit and sent by the worker, so no answer waits for SMTP (whose delay told the two apart)."""
    import logging

    make_user(dbsession, "ana@example.com", PASSWORD)
    # A mail server where nothing listens: sending from the request would log a failure at once.
    browser = make_app(**{"mail.backend": "smtp", "mail.host": "127.0.0.1", "mail.port": "9"})
    browser.worker_running = False
    with caplog.at_level(logging.WARNING, logger="album_store"):
        for email in ("ana@example.com", "nobody@example.com"):
            csrf = browser.form_csrf_token("/account/reset")
            browser.post("/account/reset", {"csrf_token": csrf, "email": email}, status=303)
    assert "not sent" not in caplog.text, "nothing was sent (or tried) by the requests"
    assert browser.run_jobs() == 1, "one mail queued, for the address with an account"
    assert "mail 'Choose a new password' to ['ana@example.com'] not sent yet" in caplog.text


def test_a_reset_link_expires_after_an_hour(testapp, dbsession, app_settings):
    user = make_user(dbsession, "ana@example.com", PASSWORD)
    payload = {"user": user.id, "pw": password_fingerprint(app_settings["store.secret"], user.password_hash)}
    fresh = issued_token(app_settings, "password-reset", payload, seconds_ago=60)
    stale = issued_token(app_settings, "password-reset", payload, seconds_ago=3700)
    testapp.get(f"/account/reset/{fresh}", status=200)
    page = testapp.get(f"/account/reset/{stale}", status=410)
    assert "expired" in page.text
    testapp.get(f"/account/reset/{fresh}x", status=410)


def test_a_confirmation_link_is_bound_to_the_address_and_expires(testapp, dbsession, app_settings):
    user = make_user(dbsession, "ana@example.com", PASSWORD)
    stale = issued_token(app_settings, "confirm-email", {"user": user.id, "email": user.email}, seconds_ago=4 * 86400)
    testapp.get(f"/account/confirm/{stale}", status=410)
    other = issued_token(app_settings, "confirm-email", {"user": user.id, "email": "eve@example.com"}, seconds_ago=0)
    testapp.get(f"/account/confirm/{other}", status=400)
    testapp.get("/account/confirm/not-a-token", status=400)
    assert users(dbsession)[0].email_confirmed_at is None


def test_a_new_confirmation_link_can_be_asked_for(testapp, dbsession, outbox):
    testapp.register("ana@example.com")
    outbox.clear()
    csrf = testapp.form_csrf_token("/library")
    page = testapp.post("/account/confirm", {"csrf_token": csrf}, status=303).follow()
    assert "We sent a new confirmation link" in page.text
    [message] = outbox
    assert any("/account/confirm/" in url for url in links_in(message))


def test_one_address_registered_at_the_same_moment_on_two_processes_makes_one_account(live_stores, dbsession):
    """Eight browsers register the same address together on two processes: one account, one 303, and
    every other browser is told the address is taken (409), never a 500 (the losers' unique-index
    failure must not spoil the rest of their request)."""
    from sqlalchemy import func, select

    from album_store.models import User
    from tests.live import post_at_once

    answers = post_at_once(
        [live_stores(), live_stores()],
        "/account/register",
        {"email": "twin@example.com", "password": PASSWORD, "confirm": PASSWORD},
        count=8,
    )
    assert 500 not in answers, answers
    assert sorted(answers) == [303] + [409] * 7, answers
    dbsession.expire_all()
    assert dbsession.scalar(select(func.count()).select_from(User).where(User.email == "twin@example.com")) == 1
