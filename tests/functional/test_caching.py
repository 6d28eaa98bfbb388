"""Shoppers' pages are one shared page, cacheable by anyone, for guests and signed-in buyers alike
(their personal part is the fragment, tests/functional/test_personal_fragment.py); the in-process
page cache serves them without rendering again."""

import re

import pytest
from sqlalchemy import text, update

from album_store.caching import PageCache
from album_store.models import Album, current_catalog_version
from album_store.models.catalog_version import CatalogVersionReader
from tests.conftest import StoreTestApp
from tests.factories import make_album, make_user


@pytest.fixture
def cached(make_app):
    return make_app(**{"store.page_cache_seconds": "60"})


def test_an_anonymous_visitor_gets_a_public_page_with_an_etag_and_no_cookie(cached, dbsession):
    make_album(dbsession, slug="public")
    for path in ("/", "/albums", "/albums/public"):
        page = cached.get(path)
        assert set(page.headers["Cache-Control"].split(", ")) == {"public", "max-age=60"}, path
        assert page.headers["ETag"] and "Set-Cookie" not in page.headers, path
        cached.get(path, headers={"If-None-Match": page.headers["ETag"]}, status=304)


def test_two_visitors_get_the_same_album_page_and_their_own_csrf_token(cached, app, dbsession, new_card_token):
    make_album(dbsession, slug="shared")
    ana, ben = cached, StoreTestApp(cached.app, new_card_token)
    assert ana.get("/albums/shared").body == ben.get("/albums/shared").body
    assert ana.csrf_token() != ben.csrf_token()
    ana.buy("shared", status=303)  # ana's token, filled in as static/csrf.js would, is accepted
    ben.post(
        "/albums/shared/buy",
        {"csrf_token": ana.csrf_token(), "stripeToken": "tok_visa", "stripeEmail": "b@example.com"},
        status=403,
    )


def test_the_second_anonymous_request_is_served_from_the_page_cache(cached, dbsession):
    album = make_album(dbsession, slug="hot", title="Before")
    first = cached.get("/albums/hot")
    assert "X-Page-Cache" not in first.headers
    # Hand-written SQL does not bump the catalog's stamp: the cached copy is served, not rendered again.
    dbsession.execute(text("UPDATE albums SET title = 'Sneaked in' WHERE id = :id"), {"id": album.id})
    dbsession.commit()
    second = cached.get("/albums/hot")
    assert second.headers["X-Page-Cache"] == "hit" and "Before" in second.text, "rendered once for 60 s"
    assert second.headers["ETag"] == first.headers["ETag"]
    dbsession.refresh(album)
    album.title = "After"  # a change through the models bumps the stamp: every copy is out of date
    dbsession.commit()
    third = cached.get("/albums/hot")
    assert "X-Page-Cache" not in third.headers and "After" in third.text
    assert cached.get("/albums/hot").headers["X-Page-Cache"] == "hit"


def test_a_page_from_the_cache_is_the_rendered_page_headers_and_all(cached, dbsession):
    """A hit is answered before Pyramid's router (the front is an execution policy): it must still be
    the page as rendered, byte for byte, with every header (the security headers among them), its
    ETag revalidating to a 304, and a HEAD answered with the headers only."""
    make_album(dbsession, slug="kept", title="Kept Whole")
    for path in ("/", "/albums", "/albums/kept", "/albums?page=1"):
        rendered = cached.get(path)
        assert "X-Page-Cache" not in rendered.headers, path
        kept = cached.get(path)
        assert kept.headers["X-Page-Cache"] == "hit" and kept.body == rendered.body, path
        assert {k: v for k, v in kept.headerlist if k != "X-Page-Cache"} == dict(rendered.headerlist), path
        for name in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"):
            assert kept.headers[name], (path, name)
        cached.get(path, headers={"If-None-Match": rendered.headers["ETag"]}, status=304)
        head = cached.head(path)
        assert head.headers["X-Page-Cache"] == "hit" and head.body == b"", path
        assert head.headers["ETag"] == rendered.headers["ETag"], path


def test_a_cookie_that_only_looks_like_the_session_is_rendered_and_still_public(make_app, dbsession):
    """Where visitors with a session get pages of their own (the payment_intents flow), the front
    decides from the raw Cookie header: a header that merely holds the session cookie's name in
    another cookie is rendered (never served a kept page as if it had no session), and the tween,
    which parses the cookies, still finds the visitor anonymous. In the other flows every visitor
    shares the kept page, session or not."""
    make_album(dbsession, slug="lookalike")
    lookalike = {"Cookie": "not_album_store_session_at_all=1"}
    intents = make_app(**{"store.page_cache_seconds": "60", "store.payment_flow": "payment_intents"})
    intents.get("/albums/lookalike")
    assert intents.get("/albums/lookalike").headers["X-Page-Cache"] == "hit"
    page = intents.get("/albums/lookalike", headers=lookalike)
    assert "X-Page-Cache" not in page.headers and "public" in page.headers["Cache-Control"]
    shared = make_app(**{"store.page_cache_seconds": "60"})
    shared.get("/albums/lookalike")
    assert shared.get("/albums/lookalike", headers=lookalike).headers["X-Page-Cache"] == "hit"


def test_every_change_to_the_catalog_through_the_models_bumps_its_stamp(dbsession):
    def stamp():
        dbsession.commit()
        return current_catalog_version(dbsession.get_bind())

    album = make_album(dbsession, slug="stamped", tracks=2)
    steps = [stamp()]
    album.price_cents = 1500
    steps.append(stamp())
    album.tracks[0].title = "Renamed"
    steps.append(stamp())
    album.tracks.pop()  # an orphan track, deleted with the flush
    steps.append(stamp())
    album.cover_key = "abc123"
    steps.append(stamp())
    album.is_published = False
    steps.append(stamp())
    dbsession.execute(update(Album).where(Album.id == album.id).values(title="Bulk"))  # an ORM bulk update
    steps.append(stamp())
    dbsession.delete(album)
    steps.append(stamp())
    assert steps == sorted(set(steps)) and len(steps) == 8, steps
    make_user(dbsession, "nobody@example.com", "velvet-harbour-42")  # not the catalog
    assert stamp() == steps[-1]


def test_the_per_thread_stamp_reader_sees_each_commit_and_recovers_from_a_lost_connection(db_engine, dbsession):
    """The page cache's reader keeps one connection per thread: each read must still see every commit
    made before it (by any connection), and a connection that broke gives None once (nothing served
    from the cache), then a new connection."""
    read = CatalogVersionReader(db_engine)
    album = make_album(dbsession, slug="read-twice")
    dbsession.commit()
    assert read() == current_catalog_version(db_engine)
    for title in ("One", "Two", "Three"):
        album.title = title
        dbsession.commit()
        assert read() == current_catalog_version(db_engine), "a committed bump is seen by the next read"
    read._local.connection.close()  # the database went away under this thread's connection
    assert read() is None
    assert read() == current_catalog_version(db_engine)


def test_a_signed_in_buyer_gets_the_shared_page_and_their_email_from_the_fragment(cached, dbsession):
    from tests.functional.test_accounts import PASSWORD, make_user

    make_album(dbsession, slug="mine")
    guest_copy = cached.get("/albums/mine")  # in the cache now
    make_user(dbsession, "ana@example.com", PASSWORD)
    cached.login("ana@example.com", PASSWORD)
    page = cached.get("/albums/mine")
    assert page.headers["X-Page-Cache"] == "hit" and page.body == guest_copy.body
    assert set(page.headers["Cache-Control"].split(", ")) == {"public", "max-age=60"}
    assert not page.html.find("script", class_="stripe-button").has_attr("data-email")
    fragment = cached.get("/account/fragment", {"album": "mine"})
    assert fragment.json["email"] == "ana@example.com"  # static/personal.js sets data-email from it
    assert set(fragment.headers["Cache-Control"].split(", ")) == {"private", "no-store"}


def test_a_signed_in_visitors_page_is_never_served_to_a_guest_who_comes_after(cached, dbsession):
    from tests.functional.test_accounts import PASSWORD, make_user

    make_album(dbsession, slug="owned", title="Owned Album")
    make_album(dbsession, slug="other", title="Other Album")
    make_user(dbsession, "ana@example.com", PASSWORD)
    ana = StoreTestApp(cached.app, cached.new_card_token)
    ana.login("ana@example.com", PASSWORD)
    ana.buy("owned", status=303)
    # Ana loads the pages first: the shared copies, rendered for her and kept; hers is the fragment.
    pages = ("/", "/albums", "/albums/owned", "/albums/other")
    for path in pages:
        page = ana.get(path)
        assert set(page.headers["Cache-Control"].split(", ")) == {"public", "max-age=60"}, path
    assert ana.get("/account/fragment", {"album": "owned"}).json["owned"]["receipt"].startswith("/purchases/")
    secrets = ("ana@example.com", "In your library", "Sign out", "/purchases/", ana.cookies["csrf_token"])
    guest = StoreTestApp(cached.app, cached.new_card_token)
    for path in pages:
        for _ in range(2):  # the page cache's copy (made for Ana's request), then again
            page = guest.get(path)
            assert page.headers["X-Page-Cache"] == "hit", path
            assert set(page.headers["Cache-Control"].split(", ")) == {"public", "max-age=60"}, path
            assert [secret for secret in secrets if secret in page.text] == [], path
    assert guest.get("/albums/owned").html.find("form", class_="buy-form"), "the guest is offered the album"
    assert guest.get("/account/fragment", {"album": "owned"}).json == {"signed_in": False}


def test_the_payment_intents_flow_still_renders_a_signed_in_buyers_page_for_them(make_app, dbsession):
    """Its card form carries the buyer's email, read-only (caching.gets_shared_copy): not shared."""
    from tests.functional.test_accounts import PASSWORD, make_user

    store = make_app(**{"store.page_cache_seconds": "60", "store.payment_flow": "payment_intents"})
    make_album(dbsession, slug="intents")
    store.get("/albums/intents")
    make_user(dbsession, "ana@example.com", PASSWORD)
    store.login("ana@example.com", PASSWORD)
    page = store.get("/albums/intents")
    assert "X-Page-Cache" not in page.headers and "Sign out" in page.text
    assert set(page.headers["Cache-Control"].split(", ")) == {"private", "no-cache"}
    assert page.html.find("input", id="card-email")["value"] == "ana@example.com"


def not_cacheable(response):
    """Answered by the store itself, and for no cache to keep: not the page cache's copy, not public."""
    cache_control = response.headers.get("Cache-Control", "")
    return "X-Page-Cache" not in response.headers and "public" not in cache_control and "max-age" not in cache_control


def test_errors_and_posts_are_never_cached(cached, dbsession, new_card_token):
    from tests.factories import make_owner
    from tests.paying import shown_price

    album = make_album(dbsession, slug="real", title="Before the edit", price_cents=999)
    for _ in range(2):
        missing = cached.get("/albums/missing", status=404)
        assert "X-Page-Cache" not in missing.headers and "public" not in missing.headers.get("Cache-Control", "")
    assert set(cached.get("/csrf-token").headers["Cache-Control"].split(", ")) == {"private", "no-store"}

    shopper = StoreTestApp(cached.app, new_card_token)
    shopper.get("/albums/real")
    assert shopper.get("/albums/real").headers["X-Page-Cache"] == "hit", "the album page is in the page cache"
    # A buy POST, twice with the same checkout (a double click): each answered by the store, neither kept.
    token = new_card_token()
    receipts = [shopper.buy("real", token=token, status=303) for _ in range(2)]
    assert all(not_cacheable(answer) for answer in receipts)
    assert receipts[0].location == receipts[1].location
    assert not_cacheable(receipts[0].follow()), "a receipt is the buyer's alone"
    assert cached.get("/albums/real/buy", status=303).location == "http://localhost/albums/real", (
        "no POST's answer served to a GET"
    )

    # The owner's POST changes the album: the next visitor gets the new page, not the copy kept before it.
    owner = make_owner(dbsession)
    owner_browser = StoreTestApp(cached.app, new_card_token)
    owner_browser.login(owner.email)
    fields = {
        "title": "After the edit",
        "artist": album.artist,
        "price": "9.99",
        "currency": "usd",
        "year": "2020",
        "description": "",
        "slug": "real",
        "csrf_token": owner_browser.form_csrf_token(f"/admin/albums/{album.id}/edit"),
    }
    saved = owner_browser.post(f"/admin/albums/{album.id}/edit", fields, status=303)
    assert not_cacheable(saved)
    guest = StoreTestApp(cached.app, new_card_token)
    page = guest.get("/albums/real")
    assert "X-Page-Cache" not in page.headers and "After the edit" in page.text and "Before the edit" not in page.text
    assert shown_price(page) == {"shown_amount": "999", "shown_currency": "usd"}


def test_static_files_have_versioned_urls_and_a_long_lifetime(testapp, dbsession):
    home = testapp.get("/")
    href = home.html.find("link", rel="stylesheet")["href"]
    assert re.fullmatch(r"/static/style\.css\?x=[0-9a-f]{12}", href)
    css = testapp.get(href)
    assert "max-age=31536000" in css.headers["Cache-Control"]


def test_the_page_cache_forgets_after_its_lifetime_and_keeps_the_newest(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("album_store.caching.time.monotonic", lambda: clock[0])
    cache = PageCache(seconds=10, size=2)
    cache.put("a", (), b"A")
    cache.put("b", (), b"B")
    assert cache.get("a") == ((), b"A")
    cache.put("c", (), b"C")  # "b" was used least recently
    assert cache.get("b") is None and cache.get("a") is not None
    clock[0] += 11
    assert cache.get("a") is None and len(cache) == 1


def test_a_one_second_cache_still_serves_the_second_visitor_from_memory(make_app, dbsession, monkeypatch):
    """The shortest cache the owner can set is still a cache: a busy page is rendered once per second."""
    monkeypatch.setattr("album_store.caching.time.monotonic", lambda: 1000.0)  # both visits within the second
    shop = make_app(**{"store.page_cache_seconds": "1"})
    make_album(dbsession, slug="brief")
    first = shop.get("/albums/brief")
    assert "X-Page-Cache" not in first.headers and "max-age=1" in first.headers["Cache-Control"]
    assert shop.get("/albums/brief").headers["X-Page-Cache"] == "hit"


def test_a_zero_second_cache_keeps_no_page_in_memory(make_app, dbsession, monkeypatch):
    """``store.page_cache_seconds = 0`` turns the process's page cache off: every visit is rendered."""
    monkeypatch.setattr("album_store.caching.time.monotonic", lambda: 1000.0)
    shop = make_app(**{"store.page_cache_seconds": "0"})
    make_album(dbsession, slug="uncached")
    for _ in range(2):
        assert "X-Page-Cache" not in shop.get("/albums/uncached").headers
    assert len(shop.app.registry.page_cache) == 0


def test_personal_pages_and_answers_are_kept_by_nobody(testapp, dbsession, app):
    """The receipt (with its download link), the library, the owner's pages, form answers and errors
    send ``Cache-Control: private, no-store``; pages made to be kept keep their own policy."""
    from tests.factories import make_owner

    make_album(dbsession, slug="kept-by-nobody")
    receipt = testapp.buy("kept-by-nobody", email="ana@example.com", status=303)
    assert receipt.headers["Cache-Control"] == "private, no-store", "the 303 answer to the form"
    assert testapp.get(receipt.location).headers["Cache-Control"] == "private, no-store"
    assert testapp.get("/albums/nowhere", status=404).headers["Cache-Control"] == "private, no-store"
    owner = make_owner(dbsession)
    browser = StoreTestApp(app)
    browser.login(owner.email)
    for path in ("/library", "/admin", "/admin/albums", "/admin/purchases", "/account/logout"):
        assert browser.get(path).headers["Cache-Control"] == "private, no-store", path
    assert browser.get("/favicon.ico").headers["Cache-Control"] == "max-age=604800", "kept by its own policy"
    assert StoreTestApp(app).get("/albums/kept-by-nobody").headers["Cache-Control"] == "max-age=0, public", (
        "a guest's shop page"
    )
