"""Signed-in buyers get the same shared page as guests (home, catalog, album pages), and what is theirs
from the personal fragment (``GET /account/fragment``, views/personal.py) that static/personal.js
fills in: the nav, the owned box, the email for checkout, the flash messages."""

import itertools
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PASSWORD, StoreTestApp
from tests.factories import make_album, make_owner, make_purchase, make_user
from tests.functional.test_statement_counts import counted

FRAGMENT = "/account/fragment"
_numbers = itertools.count()


@pytest.fixture
def cached(make_app):
    return make_app(**{"store.page_cache_seconds": "60"})


def signed_in(app, dbsession, email=None, *, owner=False):
    """A browser signed in as a new buyer (or owner); returns (browser, user)."""
    email = email or f"buyer-{uuid.uuid4().hex[:10]}@example.com"
    user = make_owner(dbsession, email) if owner else make_user(dbsession, email, PASSWORD)
    browser = StoreTestApp(app)
    browser.login(email)
    return browser, user


def own(dbsession, user, album):
    purchase = make_purchase(dbsession, album, email=user.email, commit=False)
    purchase.user_id = user.id
    dbsession.commit()
    return purchase


def personal_bits(browser, user, purchases=()):
    """What must never be in a shared page: the buyer's email, their receipts and purchase ids, the
    Sign out form, the CSRF token of their session."""
    bits = [user.email, "Sign out", "In your library", "data-email"]
    bits += [f"/purchases/{purchase.id}" for purchase in purchases]
    if browser.cookies.get("csrf_token"):
        bits.append(browser.cookies["csrf_token"])
    return bits


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    buyers=st.lists(
        st.tuples(st.booleans(), st.sets(st.integers(0, 2), max_size=3)),  # (an owner?, which albums owned)
        min_size=1,
        max_size=3,
    ),
    name_your_price=st.booleans(),
)
def test_a_signed_in_buyers_public_page_is_byte_identical_to_a_guests(app, dbsession, buyers, name_your_price):
    n = next(_numbers)
    extra = {"minimum_cents": 0} if name_your_price else {}
    albums = [make_album(dbsession, slug=f"same-{n}-{i}", tracks=1, **extra) for i in range(3)]
    guest = StoreTestApp(app)
    paths = ["/", "/albums", *(f"/albums/{album.slug}" for album in albums)]
    guest_pages = {path: guest.get(path) for path in paths}
    for is_owner, owned in buyers:
        browser, user = signed_in(app, dbsession, owner=is_owner)
        purchases = [own(dbsession, user, albums[i]) for i in sorted(owned)]
        secrets = personal_bits(browser, user, purchases)
        for path in paths:
            page = browser.get(path)
            assert page.body == guest_pages[path].body, path
            assert page.headers["ETag"] == guest_pages[path].headers["ETag"], path
            assert "public" in page.headers["Cache-Control"] and "Set-Cookie" not in page.headers, path
            assert [secret for secret in secrets if secret in page.text] == [], path


def test_the_page_cache_gives_a_signed_in_buyer_the_shared_copy(cached, dbsession):
    make_album(dbsession, slug="mine")
    guest_page = cached.get("/albums/mine")  # in the cache now
    buyer, user = signed_in(cached.app, dbsession, "ana@example.com")
    page = buyer.get("/albums/mine")
    assert page.headers["X-Page-Cache"] == "hit" and page.body == guest_page.body
    assert set(page.headers["Cache-Control"].split(", ")) == {"public", "max-age=60"}
    buyer.get("/albums/mine", headers={"If-None-Match": page.headers["ETag"]}, status=304)
    # What the page leaves out, the fragment says: to her alone, and never kept.
    fragment = buyer.get(FRAGMENT, {"album": "mine"})
    assert fragment.json["email"] == "ana@example.com" and fragment.json["owned"] is None
    assert set(fragment.headers["Cache-Control"].split(", ")) == {"private", "no-store"}
    assert "X-Page-Cache" not in buyer.get(FRAGMENT, {"album": "mine"}).headers
    assert len(cached.app.registry.page_cache) == 1, "only the album page is kept"


def test_the_fragment_tells_each_session_only_its_own(testapp, app, dbsession):
    album = make_album(dbsession, slug="ours")
    ana, ana_user = signed_in(app, dbsession, "ana@example.com")
    ben, ben_user = signed_in(app, dbsession, "ben@example.com")
    boss, _ = signed_in(app, dbsession, "boss@example.com", owner=True)
    bought = own(dbsession, ana_user, album)

    mine = ana.get(FRAGMENT, {"album": "ours"}).json
    assert mine["signed_in"] and mine["email"] == "ana@example.com"
    assert mine["owned"]["receipt"] == f"/purchases/{bought.id}" and mine["owned"]["paid_on"]
    assert mine["links"]["library"] == "/library" and "admin" not in mine["links"]
    assert mine["csrf_token"] == ana.cookies["csrf_token"]

    his = ben.get(FRAGMENT, {"album": "ours"})
    assert his.json["email"] == "ben@example.com" and his.json["owned"] is None
    assert "ana@example.com" not in his.text and f"/purchases/{bought.id}" not in his.text
    assert boss.get(FRAGMENT).json["links"]["admin"] == "/admin"

    guest = testapp.get(FRAGMENT, {"album": "ours"})
    assert guest.json == {"signed_in": False} and "Set-Cookie" not in guest.headers
    assert set(guest.headers["Cache-Control"].split(", ")) == {"private", "no-store"}

    ana.logout()
    assert ana.get(FRAGMENT, {"album": "ours"}).json == {"signed_in": False, "flash": ["You are signed out."]}
    assert ana.get(FRAGMENT, {"album": "ours"}).json == {"signed_in": False}
    # A session that ended elsewhere (its row deleted: sign out everywhere, a password reset).
    from album_store.browser_sessions import end_all_sessions

    end_all_sessions(dbsession, ben_user)
    dbsession.commit()
    assert ben.get(FRAGMENT, {"album": "ours"}).json == {"signed_in": False}


def test_a_flash_set_before_a_redirect_to_a_public_page_is_shown_exactly_once(cached, dbsession):
    make_album(dbsession, slug="flashy")
    buyer, _ = signed_in(cached.app, dbsession, "ana@example.com")
    buyer.get(FRAGMENT)  # sign-in's own message ("Welcome back" or none) is gone
    home = buyer.logout().follow()  # "You are signed out." then the home page
    assert "You are signed out." not in home.text, "the shared page holds no message"
    assert "Set-Cookie" not in home.headers and "public" in home.headers["Cache-Control"]
    assert buyer.get(FRAGMENT).json["flash"] == ["You are signed out."]
    assert "flash" not in buyer.get(FRAGMENT).json, "shown once"
    # A page that is not shared still shows a waiting message itself, once.
    buyer, _ = signed_in(cached.app, dbsession)
    buyer.get(FRAGMENT)
    buyer.post("/account/logout", {"csrf_token": buyer.cookies["csrf_token"]}, status=303)
    assert "You are signed out." in buyer.get("/account/login").text
    assert "flash" not in buyer.get(FRAGMENT).json


def test_the_fragment_runs_one_statement_for_the_user_and_one_for_the_owned_album(app, dbsession):
    album = make_album(dbsession, slug="counted")
    buyer, user = signed_in(app, dbsession)
    own(dbsession, user, album)
    buyer.get(FRAGMENT, {"album": "counted"})  # warm; the session's last use written
    with counted(app) as statements:
        assert buyer.get(FRAGMENT, {"album": "counted"}).json["owned"]
    assert len(statements) == 2, statements
    with counted(app) as statements:
        StoreTestApp(app).get(FRAGMENT, {"album": "counted"})
    assert statements == [], "a guest with no session costs no SQL"


@pytest.mark.parametrize(
    "query, status",
    [
        ("album=nobody-has-this", 200),
        ("album=a&album=b", 400),
        ("album=" + "x" * 201, 400),
        ("album=", 400),
        ("album=%E2%80%A8", 400),
        ("other=1", 200),
    ],
)
def test_odd_queries_are_a_clear_4xx_or_not_owned(app, dbsession, query, status):
    # (A query that is not UTF-8, or holds a NUL, is every route's 400: test_odd_input.py.)
    buyer, _ = signed_in(app, dbsession)
    answer = buyer.get(f"{FRAGMENT}?{query}", status=status)
    assert answer.content_type == "application/json"
    if status == 200:
        assert answer.json["signed_in"] and answer.json.get("owned") is None
    else:
        assert "album" in answer.json["error"]
